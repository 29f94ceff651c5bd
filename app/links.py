"""Links between customers and accounts, resolved in batches (GraphQL's DataLoaders call these).

A customer and an account are linked when the customer's `account[]` lists the account's id (the
`customer_account` rows its writes keep), or the account's linked parties hold the customer's id with the
type `Customer` (the `account_party` rows). Both directions read the union of the two link tables joined
to the other side's rows: one statement for a whole batch of ids, whatever its size, and a link to an id
that is not stored joins nothing (it is not resolved, and is not an error).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
ACCOUNT_KIND_NAMES = tuple(ACCOUNT_KINDS.values())


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

    async def accounts_of(
        self,
        customer_ids: Sequence[str],
        kinds: Sequence[str] = ACCOUNT_KIND_NAMES,
        filter: Filter | None = None,
        first: int | None = None,
    ) -> dict[str, list[ResourceRecord]]:
        """The accounts of each customer (of these kinds, matching `filter`), in creation order."""
        dialect = self.store.dialect
        link = _links(True, customer_ids)
        condition = ACCOUNT.kind.in_(list(kinds))
        if filter is not None:
            condition = and_(
                condition,
                where_clause(filter, dialect, resource=self.account_filter_type, table=ACCOUNT_TABLE),
            )
        statement = (
            select(
                link.c.customer_id, ACCOUNT.kind, ACCOUNT.id, ACCOUNT.version, self._account_doc, ACCOUNT.seq
            )
            .join(ACCOUNT_TABLE, ACCOUNT.id == link.c.account_id)
            .where(condition)
            .order_by(link.c.customer_id, ACCOUNT.seq)
        )

        def run(conn: Connection) -> dict[str, list[ResourceRecord]]:
            found: dict[str, list[ResourceRecord]] = {customer_id: [] for customer_id in customer_ids}
            for row in conn.execute(statement):
                items = found.setdefault(row[0], [])
                if first is None or len(items) < first:
                    items.append(ResourceRecord(row[1], row[2], row[3], row[4], row[5]))
            return found

        return await self.store.read(run) if customer_ids else {}

    async def customers_of(
        self, account_ids: Sequence[str], filter: Filter | None = None, first: int | None = None
    ) -> dict[str, list[CustomerRecord]]:
        """The customers of each account (matching `filter`), in creation order."""
        dialect = self.store.dialect
        link = _links(False, account_ids)
        statement = (
            select(link.c.account_id, CUSTOMER.id, CUSTOMER.version, self._customer_doc, CUSTOMER.seq)
            .join(CUSTOMER.id.table, CUSTOMER.id == link.c.customer_id)
            .order_by(link.c.account_id, CUSTOMER.seq)
        )
        if filter is not None:
            statement = statement.where(where_clause(filter, dialect))

        def run(conn: Connection) -> dict[str, list[CustomerRecord]]:
            found: dict[str, list[CustomerRecord]] = {account_id: [] for account_id in account_ids}
            for row in conn.execute(statement):
                items = found.setdefault(row[0], [])
                if first is None or len(items) < first:
                    items.append(CustomerRecord(row[1], row[2], row[3], row[4]))
            return found

        return await self.store.read(run) if account_ids else {}
