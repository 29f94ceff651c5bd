"""customer table and event outbox

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JsonDocument = sa.JSON().with_variant(JSONB(), "postgresql")
SeqInteger = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "customer",
        sa.Column("seq", SeqInteger, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("engaged_party_id", sa.Text(), nullable=False),
        sa.Column("valid_for_start", sa.String(32), nullable=True),
        sa.Column("valid_for_end", sa.String(32), nullable=True),
        sa.Column("doc", JsonDocument, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    for column in ("name", "status", "engaged_party_id", "valid_for_start", "valid_for_end"):
        op.create_index(f"ix_customer_{column}", "customer", [column])
    if op.get_bind().dialect.name == "postgresql":
        # Array paths of the query language use jsonb containment, served by this index.
        op.create_index("ix_customer_doc_gin", "customer", ["doc"], postgresql_using="gin")
    op.create_table(
        "event_outbox",
        sa.Column("seq", SeqInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("event_outbox")
    op.drop_table("customer")
