"""SQLModel tables.

A customer is one row: the often-filtered attributes live in indexed columns and the whole
resource, as the client sent it (less the server-owned `id`/`href`), in one JSON document
(JSON on SQLite, JSONB on PostgreSQL). Reading one customer is one statement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

JsonDocument = JSON().with_variant(JSONB(), "postgresql")
SeqInteger = BigInteger().with_variant(Integer(), "sqlite")


class Customer(SQLModel, table=True):
    __tablename__ = "customer"

    seq: int | None = Field(default=None, sa_column=Column(SeqInteger, primary_key=True, autoincrement=True))
    id: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str | None = Field(default=None, sa_column=Column(Text, index=True))
    status: str | None = Field(default=None, sa_column=Column(Text, index=True))
    engaged_party_id: str = Field(sa_column=Column(Text, nullable=False))
    valid_for_start: str | None = Field(default=None, sa_column=Column(String(32), index=True))
    valid_for_end: str | None = Field(default=None, sa_column=Column(String(32), index=True))
    doc: dict[str, Any] = Field(sa_column=Column(JsonDocument, nullable=False))
    version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))

    # A party's customers in `seq` order, the default order of a page: its first 20 are read from the index,
    # however many customers the party has (migration 0009).
    __table_args__ = (Index("ix_customer_engaged_party_id", "engaged_party_id", "seq"),)


class Account(SQLModel, table=True):
    """A TMF666 resource (app.domain.tmf666): the seven resources share this table, told apart by `kind`
    (`billingAccount`, `billFormat`, ...); indexed columns and one JSON document, as for customers."""

    __tablename__ = "account"

    seq: int | None = Field(default=None, sa_column=Column(SeqInteger, primary_key=True, autoincrement=True))
    id: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(64), nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False, index=True))
    state: str | None = Field(default=None, sa_column=Column(Text, index=True))
    payment_status: str | None = Field(default=None, sa_column=Column(Text, index=True))
    account_type: str | None = Field(default=None, sa_column=Column(Text, index=True))
    last_modified: str | None = Field(default=None, sa_column=Column(String(32), index=True))
    doc: dict[str, Any] = Field(sa_column=Column(JsonDocument, nullable=False))
    version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))

    __table_args__ = (Index("ix_account_kind_seq", "kind", "seq"),)


class AccountParty(SQLModel, table=True):
    """A party an account is related to (its id and type): the account -> party link, both ways."""

    __tablename__ = "account_party"

    seq: int | None = Field(default=None, sa_column=Column(SeqInteger, primary_key=True, autoincrement=True))
    account_id: str = Field(
        sa_column=Column(String(64), ForeignKey("account.id", ondelete="CASCADE"), nullable=False)
    )
    party_id: str = Field(sa_column=Column(Text, nullable=False))
    party_type: str = Field(sa_column=Column(Text, nullable=False))

    __table_args__ = (
        Index("ix_account_party_party", "party_id", "party_type"),
        Index("ix_account_party_account", "account_id"),
    )


class CustomerAccount(SQLModel, table=True):
    """A customer's `account[].id`: the customer -> account link, both ways (maintained by the customer
    writes; the account need not exist)."""

    __tablename__ = "customer_account"

    seq: int | None = Field(default=None, sa_column=Column(SeqInteger, primary_key=True, autoincrement=True))
    customer_id: str = Field(
        sa_column=Column(String(64), ForeignKey("customer.id", ondelete="CASCADE"), nullable=False)
    )
    account_id: str = Field(sa_column=Column(Text, nullable=False))

    __table_args__ = (
        Index("ix_customer_account_customer", "customer_id"),
        Index("ix_customer_account_account", "account_id"),
    )


class EventOutbox(SQLModel, table=True):
    """An event, written in the same transaction as the change that caused it."""

    __tablename__ = "event_outbox"

    seq: int | None = Field(default=None, sa_column=Column(SeqInteger, primary_key=True, autoincrement=True))
    event_id: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    event_type: str = Field(sa_column=Column(String(64), nullable=False))
    customer_id: str = Field(sa_column=Column(String(64), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # Set once the dispatcher has created this event's deliveries (app.events.dispatch).
    fanned_out: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))

    __table_args__ = (
        Index(
            "ix_event_outbox_unfanned",
            "seq",
            sqlite_where=text("fanned_out = 0"),
            postgresql_where=text("NOT fanned_out"),
        ),
        # Event retention finds old rows through it (migration 0004_operations).
        Index("ix_event_outbox_created_at", "created_at"),
    )


class EventSubscription(SQLModel, table=True):
    """A hub registration: events matching `query` are POSTed to `callback`."""

    __tablename__ = "event_subscription"

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    callback: str = Field(sa_column=Column(Text, nullable=False))
    query: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The API whose hub took the registration (`customerManagement`, `accountManagement`): it receives
    # that API's events only.
    api: str = Field(
        default="customerManagement",
        sa_column=Column(String(64), nullable=False, server_default="customerManagement"),
    )
    # The last outbox seq when the subscription was made: only later events are delivered to it.
    after_seq: int = Field(sa_column=Column(SeqInteger, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class EventDelivery(SQLModel, table=True):
    """One event for one subscription: pending until delivered, or dead after too many attempts."""

    __tablename__ = "event_delivery"

    seq: int | None = Field(default=None, sa_column=Column(SeqInteger, primary_key=True, autoincrement=True))
    outbox_seq: int = Field(
        sa_column=Column(SeqInteger, ForeignKey("event_outbox.seq", ondelete="CASCADE"), nullable=False)
    )
    subscription_id: str = Field(
        sa_column=Column(String(64), ForeignKey("event_subscription.id", ondelete="CASCADE"), nullable=False)
    )
    state: str = Field(sa_column=Column(String(16), nullable=False))
    attempts: int = Field(sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    claimed_by: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))

    __table_args__ = (
        UniqueConstraint("outbox_seq", "subscription_id", name="uq_event_delivery_event_subscription"),
        # The head of each subscription's queue, and the due work, among pending deliveries only.
        Index(
            "ix_event_delivery_pending_order",
            "subscription_id",
            "outbox_seq",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        Index(
            "ix_event_delivery_pending_due",
            "next_attempt_at",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_event_delivery_subscription", "subscription_id"),
        # Event retention finds the delivered rows past the retention through it (0004_operations).
        Index(
            "ix_event_delivery_delivered",
            "delivered_at",
            sqlite_where=text("state = 'delivered'"),
            postgresql_where=text("state = 'delivered'"),
        ),
    )


class ApiKey(SQLModel, table=True):
    """A machine credential (app.security.apikeys): only the SHA-256 of the key is stored."""

    __tablename__ = "api_key"

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    key_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    # The key's first characters, so a person can tell keys apart in `tmf629 apikey list`.
    prefix: str = Field(sa_column=Column(String(16), nullable=False))
    scopes: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
