"""GraphQL execution with a short path for members: a scalar field read straight from its object.

Most fields of a page are plain members (`name`, `status`, `amount.value`), whose resolve function
(schema.derive.resolve_members_directly) reads one attribute or key. For each of them graphql-core
still makes a response path, a resolve-info object, looks for arguments, tests for awaitables twice and
dispatches on the type. Here the members of an object are read and coerced at once, and only the other
fields go the standard way. So does any member whose value is not plainly right (a null where the field
is non-null, a value its type refuses): the standard way answers it with the standard error.
"""

from __future__ import annotations

from typing import Any

from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_STANDARD = object()  # "not a plain member value: execute the field the standard way"


class MemberExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Extensions that wrap every resolver (none here) must see every field: then no short path.
        manager = self.middleware_manager
        self._short = manager is None or not manager.middlewares

    def execute_fields(
        self,
        parent_type: Any,
        source_value: Any,
        path: Any,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if not self._short:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        read: dict[str, Any] = {}
        standard: dict[str, Any] | None = None
        get_field = self.schema.get_field
        for response_name, field_details_list in grouped_field_set.items():
            value = _STANDARD
            field_def = get_field(parent_type, field_details_list[0].node.name.value)
            leaf = getattr(field_def.resolve, "leaf", None) if field_def is not None else None
            if leaf is not None:
                value = _member(field_def.resolve, leaf, source_value)  # type: ignore[union-attr]
            if value is _STANDARD:
                if standard is None:
                    standard = {}
                standard[response_name] = field_details_list
            else:
                read[response_name] = value
        if standard is None:
            return read
        executed = super().execute_fields(parent_type, source_value, path, standard, position_context)
        if self.is_awaitable(executed):

            async def merged() -> dict[str, Any]:
                return _in_order(grouped_field_set, read, await executed)

            return merged()
        return _in_order(grouped_field_set, read, executed)


def _member(resolve: Any, leaf: tuple[Any, bool], source: Any) -> Any:
    coerce, non_null = leaf
    try:
        value = resolve(source, None)
        if value is None:
            return _STANDARD if non_null else None
        coerced = coerce(value)
    except Exception:
        return _STANDARD
    return _STANDARD if coerced is None or coerced is Undefined else coerced


def _in_order(grouped_field_set: Any, read: dict[str, Any], executed: dict[str, Any]) -> dict[str, Any]:
    """Both parts of an object's answer, in the order of its selection (as GraphQL answers fields)."""
    if not read:
        return executed
    return {
        name: read[name] if name in read else executed[name]
        for name in grouped_field_set
        if name in read or name in executed
    }
