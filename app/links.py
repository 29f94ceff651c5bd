"""Links between customers and accounts, resolved in batches (GraphQL's DataLoaders call these).

A customer and an account are linked when the customer's `account[]` lists the account's id (the
`customer_account` rows its writes keep), or the account's linked parties hold the customer's id with the
type `Customer` (the `account_party` rows). Both directions read the union of the two link tables joined
to the other side's rows: one statement for a whole batch of ids, whatever its size, and a link to an id
that is not stored joins nothing (it is not resolved, and is not an error).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Text, and_, cast, literal, select, type_coerce, union

from app.domain.tmf666 import ACCOUNT_KINDS
from app.query.model import Filter
from app.query.sql import where_clause
from app.resources import ACCOUNT, ACCOUNT_TABLE, ResourceRecord, doc_text
from app.services import CUSTOMER, CustomerRecord
from app.store.base import Store
from app.store.tables import AccountParty, CustomerAccount

CUSTOMER_TYPE_NAME = "Customer"  # the party type of a customer among an account's linked parties
PARTY = AccountParty.__table__.c  # type: ignore[attr-defined]
OWNED = CustomerAccount.__table__.c  # type: ignore[attr-defined]
PARTY_TABLE = AccountParty.__table__.name  # type: ignore[attr-defined]
OWNED_TABLE = CustomerAccount.__table__.name  # type: ignore[attr-defined]
ACCOUNT_KIND_NAMES = tuple(ACCOUNT_KINDS.values())
T = TypeVar("T")


def _id_list(dialect: str) -> str:
    """`IN (...)` of a list given as one parameter (a JSON array on SQLite, a text[] on PostgreSQL), so that
    one SQL text serves every batch size and stays prepared."""
    return "= ANY(?::text[])" if dialect == "postgresql" else "IN (SELECT value FROM json_each(?))"


def _list_param(dialect: str, values: Sequence[str]) -> Any:
    return list(values) if dialect == "postgresql" else orjson.dumps(list(values)).decode()


def _link_sql(by_customer: bool, dialect: str) -> str:
    """The fixed text of `_links`: (customer_id, account_id) of the links of a list of ids, two parameters."""
    ids = _id_list(dialect)
    owned, party = ("customer_id", "party_id") if by_customer else ("account_id", "account_id")
    return (
        f"SELECT customer_id, account_id FROM {OWNED_TABLE} WHERE {owned} {ids}"
        f" UNION SELECT party_id, account_id FROM {PARTY_TABLE} WHERE {party} {ids}"
        f" AND party_type = '{CUSTOMER_TYPE_NAME}'"
    )


def _links(by_customer: bool, ids: Sequence[str]) -> Any:
    """(customer_id, account_id) of every link with `ids` on the customer side (or the account side)."""
    owned = OWNED.customer_id if by_customer else OWNED.account_id
    party = PARTY.party_id if by_customer else PARTY.account_id
    return union(
        select(OWNED.customer_id.label("customer_id"), OWNED.account_id.label("account_id")).where(
            owned.in_(list(ids))
        ),
        select(PARTY.party_id, PARTY.account_id).where(
            party.in_(list(ids)), PARTY.party_type == literal(CUSTOMER_TYPE_NAME)
        ),
    ).subquery("link")


class AccountLinks:
    """Both directions of the customer <-> account links, for a batch of ids at a time."""

    def __init__(self, store: Store, account_filter_type: Any) -> None:
        self.store = store
        self.account_filter_type = account_filter_type  # the model account filters are compiled on
        dialect = store.dialect
        self._account_doc = doc_text(dialect)
        self._customer_doc = (
            cast(CUSTOMER.doc, Text) if dialect == "postgresql" else type_coerce(CUSTOMER.doc, Text)
        )
        # Without a filter, both directions are one fixed text run below the ORM (inline on SQLite).
        doc = "doc::text" if dialect == "postgresql" else "doc"
        accounts, customers = ACCOUNT_TABLE.name, CUSTOMER.id.table.name
        self._accounts_sql = (
            f"SELECT link.customer_id, a.kind, a.id, a.version, a.{doc}"
            f" FROM ({_link_sql(True, dialect)}) AS link JOIN {accounts} AS a ON a.id = link.account_id"
            f" WHERE a.kind {_id_list(dialect)} ORDER BY link.customer_id, a.seq"
        )
        self._customers_sql = (
            f"SELECT link.account_id, c.id, c.version, c.{doc}"
            f" FROM ({_link_sql(False, dialect)}) AS link JOIN {customers} AS c ON c.id = link.customer_id"
            " ORDER BY link.account_id, c.seq"
        )

    async def accounts_of(
        self,
        customer_ids: Sequence[str],
        kinds: Sequence[str] = ACCOUNT_KIND_NAMES,
        filter: Filter | None = None,
        first: int | None = None,
    ) -> dict[str, list[ResourceRecord]]:
        """The accounts of each customer (of these kinds, matching `filter`), in creation order."""
        if not customer_ids:
            return {}
        dialect = self.store.dialect
        if filter is None:
            ids = _list_param(dialect, customer_ids)
            rows = await self.store.fetch_all(self._accounts_sql, (ids, ids, _list_param(dialect, kinds)))
            return _grouped(customer_ids, rows, first, lambda row: ResourceRecord(*row[1:]))
        link = _links(True, customer_ids)
        condition = ACCOUNT.kind.in_(list(kinds))
        if filter is not None:
            condition = and_(
                condition,
                where_clause(filter, dialect, resource=self.account_filter_type, table=ACCOUNT_TABLE),
            )
        statement = (
            select(link.c.customer_id, ACCOUNT.kind, ACCOUNT.id, ACCOUNT.version, self._account_doc)
            .join(ACCOUNT_TABLE, ACCOUNT.id == link.c.account_id)
            .where(condition)
            .order_by(link.c.customer_id, ACCOUNT.seq)
        )

        def run(conn: Connection) -> dict[str, list[ResourceRecord]]:
            rows = conn.execute(statement)
            return _grouped(customer_ids, rows, first, lambda row: ResourceRecord(*row[1:]))

        return await self.store.read(run)

    async def customers_of(
        self, account_ids: Sequence[str], filter: Filter | None = None, first: int | None = None
    ) -> dict[str, list[CustomerRecord]]:
        """The customers of each account (matching `filter`), in creation order."""
        if not account_ids:
            return {}
        dialect = self.store.dialect
        if filter is None:
            ids = _list_param(dialect, account_ids)
            rows = await self.store.fetch_all(self._customers_sql, (ids, ids))
            return _grouped(account_ids, rows, first, lambda row: CustomerRecord(*row[1:]))
        link = _links(False, account_ids)
        statement = (
            select(link.c.account_id, CUSTOMER.id, CUSTOMER.version, self._customer_doc)
            .join(CUSTOMER.id.table, CUSTOMER.id == link.c.customer_id)
            .order_by(link.c.account_id, CUSTOMER.seq)
        )
        if filter is not None:
            statement = statement.where(where_clause(filter, dialect))

        def run(conn: Connection) -> dict[str, list[CustomerRecord]]:
            rows = conn.execute(statement)
            return _grouped(account_ids, rows, first, lambda row: CustomerRecord(*row[1:]))

        return await self.store.read(run)


def _grouped(
    ids: Sequence[str], rows: Any, first: int | None, record: Callable[[Any], T]
) -> dict[str, list[T]]:
    """Rows of (id, ...record columns) in order, as each id's first `first` records."""
    found: dict[str, list[T]] = {key: [] for key in ids}
    for row in rows:
        items = found.setdefault(row[0], [])
        if first is None or len(items) < first:
            items.append(record(row))
    return found
