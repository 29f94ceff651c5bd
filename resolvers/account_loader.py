"""The per-request side of GraphQL over accounts: the loaders behind `Customer.accounts` and
`Account.customers`.

Each link field is batched: every `Customer.accounts` with the same arguments in one level of a query is
one DataLoader batch, one statement (app.links), so a page of N customers with their accounts costs the
same number of statements whatever N is. The unfiltered `accounts` of a `customers` page are fetched
with the page instead (`prefetch_accounts`): one statement too, and the fields then resolve without
waiting, which saves a coroutine, a future and a loop turn per customer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from graphql import GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.types.nodes import SelectedField

from app.domain.errors import DomainError, Invalid
from app.domain.tmf666 import ACCOUNT_KINDS
from app.links import AccountLinks
from app.resources import ResourceService
from app.security.principal import ACCOUNT
from app.store.base import Store
from schema.accounts import ACCOUNT_FILTER_TYPE, account_of
from schema.payloads import graphql_path

KIND_NAMES = tuple(ACCOUNT_KINDS.values())


def query_error(error: DomainError) -> GraphQLError:
    """A refused argument of a link field, as the root fields answer it (resolvers.query)."""
    extensions: dict[str, object] = {"code": error.code}
    if isinstance(error, Invalid) and error.field is not None:
        extensions["field"] = graphql_path(error.field)
    return GraphQLError(error.message, extensions=extensions)


class AccountDoor:
    """What the GraphQL door needs of the accounts, for the app's lifetime."""

    def __init__(self, store: Store, services: dict[str, ResourceService]) -> None:
        self.store = store
        self.services = services
        self.links = AccountLinks(store, ACCOUNT_FILTER_TYPE)


class AccountGraph:
    """One request's view of the accounts: its href base and its DataLoaders (one per argument set)."""

    def __init__(self, door: AccountDoor, href_base: str, customer_href_base: str) -> None:
        self.door = door
        self.href_base = href_base
        self.customer_href_base = customer_href_base
        self._loaders: dict[Any, DataLoader[str, list[Any]]] = {}
        # The accounts of the customers of a page, fetched with the page: by the `first` of the selection.
        self._prefetched: dict[int | None, dict[str, list[Any]]] = {}

    def _loader(self, key: Any, fetch: Any) -> DataLoader[str, list[Any]]:
        loader = self._loaders.get(key)
        if loader is None:

            async def load(ids: list[str]) -> list[list[Any]]:
                found = await fetch(ids)
                return [found.get(i, []) for i in ids]

            loader = self._loaders[key] = DataLoader(load_fn=load)
        return loader

    async def prefetch_accounts(self, customer_ids: Sequence[str], firsts: Iterable[int | None]) -> None:
        """Fetch now the accounts of these customers, for each `first` of the unfiltered `accounts`
        selections a page's query makes (`accounts_selected`): one statement each, and then those fields
        resolve at once (`answer_prefetched_accounts`)."""
        for first in set(firsts):
            if first is not None and first < 0:
                continue  # refused when the field resolves
            found = await self.door.links.accounts_of(customer_ids, KIND_NAMES, None, first)
            self._prefetched[first] = {
                customer_id: [account_of(record, self.href_base) for record in records]
                for customer_id, records in found.items()
            }

    def prefetched(self, customer_id: str, first: int | None) -> list[Any] | None:
        """The accounts of a customer fetched with its page for this `first`, or None."""
        found = self._prefetched.get(first)
        return None if found is None else found.get(customer_id)

    async def accounts_of(self, customer_id: str, where: Any, first: int | None) -> list[Any]:
        """The accounts of a customer (GraphQL objects), batched with its siblings'."""
        try:
            kinds = where.kinds() if where is not None else KIND_NAMES
            filter = where.to_filter() if where is not None else None
        except DomainError as error:
            raise query_error(error) from error
        _check_first(first)
        loader = self._loader(
            ("accounts", kinds, filter, first),
            lambda ids: self.door.links.accounts_of(ids, kinds, filter, first),
        )
        return [account_of(record, self.href_base) for record in await loader.load(customer_id)]

    async def customers_of(self, account_id: str, where: Any, first: int | None) -> list[Any]:
        """The customer records of an account, batched with its siblings'."""
        try:
            filter = where.to_filter() if where is not None else None
        except DomainError as error:
            raise query_error(error) from error
        _check_first(first)
        loader = self._loader(
            ("customers", filter, first), lambda ids: self.door.links.customers_of(ids, filter, first)
        )
        return await loader.load(account_id)


def accounts_selected(field: SelectedField) -> list[int | None]:
    """The `first` argument of each `accounts` selection without `where` on the customers of a page
    (`nodes { accounts }` or `edges { node { accounts } }`, fragments included)."""
    found: list[int | None] = []
    for member in _fields(field.selections):
        if member.name == "nodes":
            nodes = [member]
        elif member.name == "edges":
            nodes = [edge for edge in _fields(member.selections) if edge.name == "node"]
        else:
            continue
        for node in nodes:
            for selection in _fields(node.selections):
                first = selection.arguments.get("first")
                if (
                    selection.name == "accounts"
                    and selection.arguments.get("where") is None
                    and (first is None or isinstance(first, int))
                ):
                    found.append(first)
    return found


def _fields(selections: Iterable[Any]) -> Iterator[SelectedField]:
    """The fields of a selection set, those of its fragments included."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _fields(selection.selections)


def answer_prefetched_accounts(schema: Any) -> None:
    """`Customer.accounts` answers the accounts prefetched with its page (AccountGraph.prefetch_accounts)
    from GraphQL's own resolve function, and from resolvers.execution's short path (`fast`): no argument
    conversion, no coroutine, no loader round per customer. Otherwise (a `where`, another `first`, a
    customer not of a page, a credential without the scope) Strawberry's resolver runs."""
    field = schema._schema.type_map["Customer"].fields["accounts"]
    resolve = field.resolve

    def fast(source: Any, context: Any, arguments: dict[str, Any]) -> list[Any] | None:
        if arguments.get("where") is not None or context.accounts is None:
            return None
        if not context.principal.allows(ACCOUNT.read):
            return None
        found: list[Any] | None = context.accounts.prefetched(source.id, arguments.get("first"))
        return found

    def answer(source: Any, info: Any, **arguments: Any) -> Any:
        found = fast(source, info.context, arguments)
        return resolve(source, info, **arguments) if found is None else found

    answer.fast = fast  # type: ignore[attr-defined]
    field.resolve = answer


def _check_first(first: int | None) -> None:
    if first is not None and first < 0:
        raise query_error(Invalid("'first' must be at least 0", field="first"))
