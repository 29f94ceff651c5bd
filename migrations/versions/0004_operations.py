"""operations: indexes that let event retention find what it prunes without scanning the tables

Revision ID: 0004_operations
Revises: 0005_account

(Numbered 0004 as reserved; it comes after 0005_account in the chain.)
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_operations"
down_revision = "0005_account"
branch_labels = None
depends_on = None

DELIVERED = sa.text("state = 'delivered'")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # CONCURRENTLY on PostgreSQL: a large event table keeps taking writes while its index is built.
    with op.get_context().autocommit_block() if postgresql else _nothing():
        op.create_index(
            "ix_event_delivery_delivered",
            "event_delivery",
            ["delivered_at"],
            sqlite_where=DELIVERED,
            postgresql_where=DELIVERED,
            postgresql_concurrently=postgresql,
        )
        op.create_index(
            "ix_event_outbox_created_at",
            "event_outbox",
            ["created_at"],
            postgresql_concurrently=postgresql,
        )


def downgrade() -> None:
    op.drop_index("ix_event_outbox_created_at", table_name="event_outbox")
    op.drop_index("ix_event_delivery_delivered", table_name="event_delivery")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None
