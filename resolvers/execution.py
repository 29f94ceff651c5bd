"""GraphQL execution with a short path for plain data.

Most of what a page answers is plain data: members read from an object (a name, a status, the
items of an array member and their own members), and the accounts fetched with a page of customers.
For each field graphql-core makes a response path and a resolve-info object, coerces the arguments,
tests for awaitables twice and dispatches on the type. Here a field whose value is plain data is
completed at once, nested objects and lists included: a member (schema.derive marks its resolve
function `member`) is read, a field with a `fast` function (resolvers.account_loader) asks it for its
value with the field's arguments (coerced once per query, not once per object), and the value is
completed by its type: leaves coerced, lists item by item, objects field by field, an interface through
its own `resolve_type` when that is marked `plain`.

Anything else, and any value that is not plainly right (a null where the field is non-null, a value a
leaf type refuses, a deferred fragment), goes the standard way for that whole field, which answers it
with the standard result or error. The short path only reads, so starting over costs nothing but time.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_STANDARD = object()  # "not plain data: execute the field the standard way"


class MemberExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Extensions that wrap every resolver (none here) must see every field: then no short path.
        manager = self.middleware_manager
        self._short = manager is None or not manager.middlewares
        self._arguments: dict[tuple[int, int], dict[str, Any]] = {}

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
        for response_name, field_details_list in grouped_field_set.items():
            value = self._plain_field(parent_type, source_value, field_details_list)
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

    def _plain_field(self, parent_type: Any, source: Any, field_details_list: Any) -> Any:
        details = field_details_list[0]
        name = details.node.name.value
        if name == "__typename":
            return parent_type.name
        field_def = self.schema.get_field(parent_type, name)
        if field_def is None:
            return _STANDARD
        resolve = field_def.resolve
        try:
            if getattr(resolve, "member", False):
                value = resolve(source, None)
            else:
                fast = getattr(resolve, "fast", None)
                if fast is None:
                    return _STANDARD
                value = fast(source, self.context_value, self._argument_values(field_def, details))
                if value is None:  # not at hand: the field's own resolver decides
                    return _STANDARD
        except Exception:
            return _STANDARD
        return self._plain_value(field_def.type, field_details_list, value)

    def _argument_values(self, field_def: Any, details: Any) -> dict[str, Any]:
        key = (id(details.node), id(details.fragment_variable_values))
        found = self._arguments.get(key)
        if found is None:
            found = self._arguments[key] = get_argument_values(
                field_def,
                details.node,
                self.variable_values,
                details.fragment_variable_values,
                self.hide_suggestions,
            )
        return found

    def _plain_value(self, type_: Any, field_details_list: Any, value: Any) -> Any:
        if isinstance(type_, GraphQLNonNull):
            if value is None:
                return _STANDARD
            type_ = type_.of_type
        elif value is None:
            return None
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list):
                return _STANDARD
            items = []
            for item in value:
                done = self._plain_value(type_.of_type, field_details_list, item)
                if done is _STANDARD:
                    return _STANDARD
                items.append(done)
            return items
        if is_leaf_type(type_):
            try:
                coerced = type_.coerce_output_value(value)
            except Exception:
                return _STANDARD
            return _STANDARD if coerced is None or coerced is Undefined else coerced
        if isinstance(type_, GraphQLInterfaceType | GraphQLUnionType):
            if not getattr(type_.resolve_type, "plain", False):
                return _STANDARD
            runtime = self.schema.get_type(type_.resolve_type(value, None, type_))
            if not isinstance(runtime, GraphQLObjectType) or not self.schema.is_sub_type(type_, runtime):
                return _STANDARD
            type_ = runtime
        if not isinstance(type_, GraphQLObjectType):
            return _STANDARD
        if type_.is_type_of is not None and not type_.is_type_of(value, None):
            return _STANDARD
        collected = self.collect_subfields(type_, field_details_list)
        if collected.new_defer_usages:
            return _STANDARD
        result: dict[str, Any] = {}
        for response_name, sub_details in collected.grouped_field_set.items():
            done = self._plain_field(type_, value, sub_details)
            if done is _STANDARD:
                return _STANDARD
            result[response_name] = done
        return result


def _in_order(grouped_field_set: Any, read: dict[str, Any], executed: dict[str, Any]) -> dict[str, Any]:
    """Both parts of an object's answer, in the order of its selection (as GraphQL answers fields)."""
    if not read:
        return executed
    return {
        name: read[name] if name in read else executed[name]
        for name in grouped_field_set
        if name in read or name in executed
    }
