"""TMF666 accounts: the account table, its party links, the customers' account links, and hub
subscriptions per API

Revision ID: 0005_account
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_account"
down_revision = "0003"
branch_labels = None
depends_on = None

JsonDocument = sa.JSON().with_variant(JSONB(), "postgresql")
SeqInteger = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The customers' account[].id links already stored (later writes keep them, app.services).
_BACKFILL = {
    "sqlite": (
        "INSERT INTO customer_account (customer_id, account_id) "
        "SELECT c.id, json_extract(a.value, '$.id') FROM customer c, json_each(c.doc, '$.account') a "
        "WHERE json_type(c.doc, '$.account') = 'array' AND json_type(a.value, '$.id') = 'text' "
        "ORDER BY c.seq"
    ),
    "postgresql": (
        "INSERT INTO customer_account (customer_id, account_id) "
        "SELECT c.id, a.value->>'id' FROM customer c, "
        "jsonb_array_elements(CASE WHEN jsonb_typeof(c.doc->'account') = 'array' "
        "THEN c.doc->'account' ELSE '[]'::jsonb END) a "
        "WHERE jsonb_typeof(a.value->'id') = 'string' ORDER BY c.seq"
    ),
}


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("seq", SeqInteger, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("payment_status", sa.Text(), nullable=True),
        sa.Column("account_type", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.String(32), nullable=True),
        sa.Column("doc", JsonDocument, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_account_kind_seq", "account", ["kind", "seq"])
    for column in ("name", "state", "payment_status", "account_type", "last_modified"):
        op.create_index(f"ix_account_{column}", "account", [column])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.create_index("ix_account_doc_gin", "account", ["doc"], postgresql_using="gin")
    op.create_table(
        "account_party",
        sa.Column("seq", SeqInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id", sa.String(64), sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("party_id", sa.Text(), nullable=False),
        sa.Column("party_type", sa.Text(), nullable=False),
    )
    op.create_index("ix_account_party_party", "account_party", ["party_id", "party_type"])
    op.create_index("ix_account_party_account", "account_party", ["account_id"])
    op.create_table(
        "customer_account",
        sa.Column("seq", SeqInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "customer_id", sa.String(64), sa.ForeignKey("customer.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("account_id", sa.Text(), nullable=False),
    )
    op.create_index("ix_customer_account_customer", "customer_account", ["customer_id"])
    op.create_index("ix_customer_account_account", "customer_account", ["account_id"])
    op.execute(_BACKFILL[dialect])
    # Which API's hub a subscription was made on: it receives that API's events only.
    with op.batch_alter_table("event_subscription") as batch:
        batch.add_column(sa.Column("api", sa.String(64), nullable=False, server_default="customerManagement"))


def downgrade() -> None:
    with op.batch_alter_table("event_subscription") as batch:
        batch.drop_column("api")
    op.drop_table("customer_account")
    op.drop_table("account_party")
    op.drop_table("account")
