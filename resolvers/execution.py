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

import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from graphql import (
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfoHelpers,
    GraphQLString,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values
from graphql.language import FragmentSpreadNode, Node, VariableNode
from graphql.pyutils import Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_STANDARD = object()  # "not plain data: execute the field the standard way"
MAX_PLANS = 512  # plans kept across requests; all are dropped when one more would not fit

Complete = Callable[[Any, Any], Any]  # (a value, the request's context) -> its answer, or _STANDARD
Fields = list[tuple[str, Complete]]


def _standard(_value: Any, _context: Any) -> Any:
    return _STANDARD


def _refused(null: Any) -> Complete:
    """A value the short path does not complete: a null is `null` (None, or _STANDARD where the type is
    non-null), anything else goes the standard way."""
    return lambda value, _context: null if value is None else _STANDARD


# Plans of selections, across requests: (schema, type, the selection's field nodes) -> (those objects
# themselves, kept so that their ids stay theirs; the selection's field functions, or None when the selection
# reads a variable). Parsed documents are cached by their text (resolvers.endpoint), so a query sent again
# reaches the same nodes.
_PLANS: dict[tuple[int, ...], tuple[tuple[Any, ...], Fields | None]] = {}


def _reads_variables(nodes: Sequence[Any], fragments: dict[str, Any]) -> bool:
    """Whether these field nodes read a variable anywhere below them, the fragments they spread included."""
    stack = list(nodes)
    seen: set[str] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, VariableNode):
            return True
        if isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            seen.add(node.name.value)
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                stack.append(fragment.definition)
        for name in node.keys:
            value = getattr(node, name, None)
            if isinstance(value, Node):
                stack.append(value)
            elif isinstance(value, tuple | list):
                stack.extend(item for item in value if isinstance(item, Node))
    return False


def _helpers(context: weakref.ref[MemberExecutionContext]) -> GraphQLResolveInfoHelpers:
    """The helpers a resolve info offers (`info.async_helpers`), without a reference cycle. graphql-core's
    are the context's own bound methods, stored on the context: each execution (the context, its fields,
    maps and the request's objects, about 70) was then freed only by the garbage collector, whose runs
    cost a `customer(id)` about a tenth of its time. These reach the context weakly; it is alive for as
    long as the execution runs, which is when resolvers call them."""

    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        return gather_with_cancel(*values)

    def track(values: Sequence[Any]) -> None:
        owner = context()
        if owner is not None:
            owner.track_async_work(values)

    return GraphQLResolveInfoHelpers(gather=gather, track=track)


class MemberExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Plans once, runs per object. The first object of a type under a selection builds, for each of its
    fields, a function that reads the field of an object and completes it (its argument values coerced,
    its type's checks resolved to the few a value needs); its sibling objects reuse them, and so does the
    same query sent again when the selection reads no variable. A plan holds nothing of a request: the
    context is passed to it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Extensions that wrap every resolver (none here) must see every field: then no short path.
        manager = self.middleware_manager
        self._short = manager is None or not manager.middlewares
        # This execution's selections (by id, the selection kept alive) -> their field functions.
        self._plans: dict[tuple[int, int], tuple[Any, Fields]] = {}
        self.async_helpers = _helpers(weakref.ref(self))

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
        context = self.context_value
        for response_name, field in self._fields(parent_type, grouped_field_set):
            value = field(source_value, context)
            if value is _STANDARD:
                if standard is None:
                    standard = {}
                standard[response_name] = grouped_field_set[response_name]
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

    def _fields(self, parent_type: Any, grouped_field_set: Any) -> Fields:
        """The function of each field of a selection on `parent_type`."""
        key = (id(parent_type), id(grouped_field_set))
        found = self._plans.get(key)
        if found is None or found[0] is not grouped_field_set:
            found = self._plans[key] = (
                grouped_field_set,
                self._shared_fields(parent_type, grouped_field_set),
            )
        return found[1]

    def _shared_fields(self, parent_type: Any, grouped_field_set: Any) -> Fields:
        """The plan of a selection made by an earlier request, or a new one. A selection that reads a
        variable (an argument, an @include) is planned for its request alone."""
        every = [details for details_list in grouped_field_set.values() for details in details_list]
        owners = (self.schema, parent_type, *(details.node for details in every))
        key = tuple(map(id, owners))
        found = _PLANS.get(key)
        if found is not None and all(a is b for a, b in zip(found[0], owners, strict=True)):
            if found[1] is not None:
                return found[1]
            return self._new_fields(parent_type, grouped_field_set)
        shared = all(d.fragment_variable_values is None for d in every) and not _reads_variables(
            owners[2:], self.fragments
        )
        fields = self._new_fields(parent_type, grouped_field_set)
        if len(_PLANS) >= MAX_PLANS:
            _PLANS.clear()
        _PLANS[key] = (owners, fields if shared else None)
        return fields

    def _new_fields(self, parent_type: Any, grouped_field_set: Any) -> Fields:
        return [(name, self._field(parent_type, each)) for name, each in grouped_field_set.items()]

    def _field(self, parent_type: Any, field_details_list: Any) -> Complete:
        details = field_details_list[0]
        name = details.node.name.value
        if name == "__typename":
            type_name = parent_type.name
            return lambda _source, _context: type_name
        field_def = self.schema.get_field(parent_type, name)
        if field_def is None:
            return _standard
        resolve = field_def.resolve
        if getattr(resolve, "member", False):
            complete = self._completer(field_def.type, field_details_list)

            def member(source: Any, context: Any) -> Any:
                try:
                    value = resolve(source, None)
                except Exception:
                    return _STANDARD
                return complete(value, context)

            return member
        fast = getattr(resolve, "fast", None)
        if fast is None:
            return _standard
        try:
            arguments = get_argument_values(
                field_def,
                details.node,
                self.variable_values,
                details.fragment_variable_values,
                self.hide_suggestions,
            )
        except Exception:
            return _standard  # the standard way answers the error
        complete = self._completer(field_def.type, field_details_list)

        def at_hand(source: Any, context: Any) -> Any:
            try:
                value = fast(source, context, arguments)
            except Exception:
                return _STANDARD
            if value is None:  # not at hand: the field's own resolver decides
                return _STANDARD
            return complete(value, context)

        return at_hand

    def _completer(self, type_: Any, field_details_list: Any) -> Complete:
        """The function completing a value of `type_` (null included) under this selection."""
        required = isinstance(type_, GraphQLNonNull)
        if required:
            type_ = type_.of_type
        null = _STANDARD if required else None
        if isinstance(type_, GraphQLList):
            item = self._completer(type_.of_type, field_details_list)

            def items(value: Any, context: Any) -> Any:
                if value is None:
                    return null
                if not isinstance(value, list):
                    return _STANDARD
                done = []
                for member in value:
                    answer = item(member, context)
                    if answer is _STANDARD:
                        return _STANDARD
                    done.append(answer)
                return done

            return items
        if is_leaf_type(type_):
            coerce = type_.coerce_output_value
            text = type_ is GraphQLString or type_ is GraphQLID  # a str is its own answer

            def leaf(value: Any, _context: Any) -> Any:
                if value is None:
                    return null
                if text and type(value) is str:
                    return value
                try:
                    coerced = coerce(value)
                except Exception:
                    return _STANDARD
                return _STANDARD if coerced is None or coerced is Undefined else coerced

            return leaf
        if isinstance(type_, GraphQLObjectType):
            return self._object(type_, field_details_list, null)
        return self._abstract(type_, field_details_list, null)  # the output types left: interfaces, unions

    def _object(self, type_: Any, field_details_list: Any, null: Any) -> Complete:
        collected = self.collect_subfields(type_, field_details_list)
        if collected.new_defer_usages:
            return _refused(null)
        fields = self._new_fields(type_, collected.grouped_field_set)
        is_type_of = type_.is_type_of

        def obj(value: Any, context: Any) -> Any:
            if value is None:
                return null
            if is_type_of is not None and not is_type_of(value, None):
                return _STANDARD
            result: dict[str, Any] = {}
            for response_name, field in fields:
                answer = field(value, context)
                if answer is _STANDARD:
                    return _STANDARD
                result[response_name] = answer
            return result

        return obj

    def _abstract(self, type_: Any, field_details_list: Any, null: Any) -> Complete:
        """An interface or union whose `resolve_type` is marked `plain` (it needs no resolve info): the
        object function of each of its types, chosen by each value's type."""
        resolve_type = type_.resolve_type
        if not getattr(resolve_type, "plain", False):
            return _refused(null)
        by_type = {
            runtime.name: self._object(runtime, field_details_list, null)
            for runtime in self.schema.get_possible_types(type_)
        }

        def abstract(value: Any, context: Any) -> Any:
            if value is None:
                return null
            complete = by_type.get(resolve_type(value, None, type_))
            return _STANDARD if complete is None else complete(value, context)

        return abstract


def _in_order(grouped_field_set: Any, read: dict[str, Any], executed: dict[str, Any]) -> dict[str, Any]:
    """Both parts of an object's answer, in the order of its selection (as GraphQL answers fields)."""
    if not read:
        return executed
    return {
        name: read[name] if name in read else executed[name]
        for name in grouped_field_set
        if name in read or name in executed
    }
