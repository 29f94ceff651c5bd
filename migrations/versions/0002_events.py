"""event hub: subscriptions, deliveries, outbox fan-out flag and (PostgreSQL) commit notifications

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SeqInteger = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PENDING = sa.text("state = 'pending'")

# Every committed outbox row is announced on this channel (payload: its seq), to every replica.
NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION tmf629_event_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('tmf629_event', NEW.seq::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER event_outbox_notify AFTER INSERT ON event_outbox
FOR EACH ROW EXECUTE FUNCTION tmf629_event_notify()
"""


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("event_outbox") as batch:
        batch.add_column(sa.Column("fanned_out", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index(
        "ix_event_outbox_unfanned",
        "event_outbox",
        ["seq"],
        sqlite_where=sa.text("fanned_out = 0"),
        postgresql_where=sa.text("NOT fanned_out"),
    )
    op.create_table(
        "event_subscription",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("callback", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("after_seq", SeqInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "event_delivery",
        sa.Column("seq", SeqInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "outbox_seq", SeqInteger, sa.ForeignKey("event_outbox.seq", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "subscription_id",
            sa.String(64),
            sa.ForeignKey("event_subscription.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("outbox_seq", "subscription_id", name="uq_event_delivery_event_subscription"),
    )
    op.create_index(
        "ix_event_delivery_pending_order",
        "event_delivery",
        ["subscription_id", "outbox_seq"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index(
        "ix_event_delivery_pending_due",
        "event_delivery",
        ["next_attempt_at"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index("ix_event_delivery_subscription", "event_delivery", ["subscription_id"])
    if postgresql:
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS event_outbox_notify ON event_outbox")
        op.execute("DROP FUNCTION IF EXISTS tmf629_event_notify()")
    op.drop_table("event_delivery")
    op.drop_table("event_subscription")
    op.drop_index("ix_event_outbox_unfanned", table_name="event_outbox")
    with op.batch_alter_table("event_outbox") as batch:
        batch.drop_column("fanned_out")
