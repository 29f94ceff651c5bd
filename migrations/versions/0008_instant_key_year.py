"""Customers' validFor instants keyed with four digits of year, whatever the year.

The indexed columns valid_for_start and valid_for_end hold each date-time as an instant key whose lexical
order is its time order (app.domain.model.instant_key). Before this revision a year before 1000 came out
with fewer digits ("999-12-31T..."), which sorts after "2024-...": such a customer matched `validFor.gt`
filters it should not, and its key differed from the one filters on paths through arrays compute in SQL. The
key is now the same with the year padded to four digits; this pads the ones stored, the only change to them
(a full key is 27 characters).
"""

from alembic import op

revision = "0008_instant_key_year"
down_revision = "0007_customer_term_path"
branch_labels = None
depends_on = None

_KEY_LENGTH = 27


def upgrade() -> None:
    for column in ("valid_for_start", "valid_for_end"):
        op.execute(
            f"UPDATE customer SET {column} = substr('0000' || {column}, length({column}) + 5 - {_KEY_LENGTH})"
            f" WHERE length({column}) < {_KEY_LENGTH}"
        )


def downgrade() -> None:
    for column in ("valid_for_start", "valid_for_end"):
        op.execute(
            f"UPDATE customer SET {column} = ltrim(substr({column}, 1, 4), '0') || substr({column}, 5)"
            f" WHERE {column} < '1000'"
        )
