"""The per-request side of GraphQL over accounts: the loaders behind `Customer.accounts` and
`Account.customers`.

Each link field is batched: every `Customer.accounts` with the same arguments in one level of a query is
one DataLoader batch, one statement (app.links), so a page of N customers with their accounts costs the
same number of statements whatever N is.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.dataloader import DataLoader

from app.domain.errors import DomainError, Invalid
from app.domain.tmf666 import ACCOUNT_KINDS
from app.links import AccountLinks
from app.resources import ResourceService
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

    def _loader(self, key: Any, fetch: Any) -> DataLoader[str, list[Any]]:
        loader = self._loaders.get(key)
        if loader is None:

            async def load(ids: list[str]) -> list[list[Any]]:
                found = await fetch(ids)
                return [found.get(i, []) for i in ids]

            loader = self._loaders[key] = DataLoader(load_fn=load)
        return loader

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


def _check_first(first: int | None) -> None:
    if first is not None and first < 0:
        raise query_error(Invalid("'first' must be at least 0", field="first"))
