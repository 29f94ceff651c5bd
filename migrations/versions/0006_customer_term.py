"""SQLite: customer_term, an index of the scalars inside the customers' arrays, kept by triggers

Revision ID: 0006_customer_term
Revises: 0004_operations

A filter on a path through an array (`contactMedium.characteristic.emailAddress=...`) is an EXISTS over
`json_each` of every document on SQLite: a full scan. customer_term holds, for each customer, every scalar
that sits inside an array of its document, under the name of the member holding it (json_tree's `key`:
`emailAddress`) with its value as json_extract reads it (json_tree's `atom`: text, integer, real, or 1/0 for
true/false). app.query.sql narrows equality on such paths to the customers whose terms hold the value, then
applies the exact condition: the member name alone is ambiguous (`id` is in several arrays), so the table
only has to hold a superset of the matches, never to decide them.

Triggers keep it, so every writer does: the service's creates (group-committed or not), `tmf629 seed`'s
bulk insert, patches, deletes and raw SQL. Keyed by `seq` (the rowid): the narrowing is a rowid lookup.
One b-tree, (key, value, customer_seq), WITHOUT ROWID: a write removes the old document's terms by that key
(measured: a second index on customer_seq for the deletes cost as much again on every insert).
A document that is not JSON is now refused on write (json_tree raises), as PostgreSQL's jsonb does.

PostgreSQL needs none of it: equality there is `doc @> {...}`, served by the GIN index (0001).
"""

from alembic import op

revision = "0006_customer_term"
down_revision = "0004_operations"
branch_labels = None
depends_on = None

# The terms of a customer document: scalar leaves (atom not NULL: not an object, array or null), named by a
# member (a text key, not an array index), inside an array (an index in the full path).
_LEAVES = "atom IS NOT NULL AND typeof(key) = 'text' AND instr(fullkey, '[') > 0"
# DISTINCT: the primary key holds each (key, value) once per customer (5 and 5.0 are one value to it).
_INSERT_NEW = (
    "INSERT INTO customer_term (customer_seq, key, value) "
    f"SELECT DISTINCT NEW.seq, key, atom FROM json_tree(NEW.doc) WHERE {_LEAVES}"
)
# The old document's terms, found by primary key: no second index on customer_seq to keep on every insert.
_DELETE_OLD = (
    "DELETE FROM customer_term WHERE customer_seq = OLD.seq "
    f"AND (key, value) IN (SELECT key, atom FROM json_tree(OLD.doc) WHERE {_LEAVES})"
)

UPGRADE = (
    # No type on value: no affinity, so it keeps the atom's type (the text '5' is not the integer 5).
    "CREATE TABLE customer_term (key TEXT NOT NULL, value NOT NULL, customer_seq INTEGER NOT NULL, "
    "PRIMARY KEY (key, value, customer_seq)) WITHOUT ROWID",
    f"CREATE TRIGGER customer_term_insert AFTER INSERT ON customer BEGIN {_INSERT_NEW}; END",
    f"CREATE TRIGGER customer_term_update AFTER UPDATE OF seq, doc ON customer "
    f"BEGIN {_DELETE_OLD}; {_INSERT_NEW}; END",
    f"CREATE TRIGGER customer_term_delete AFTER DELETE ON customer BEGIN {_DELETE_OLD}; END",
    # The customers already stored; OR IGNORE rather than DISTINCT: no sort of all their terms at once.
    "INSERT OR IGNORE INTO customer_term (customer_seq, key, value) "
    f"SELECT customer.seq, key, atom FROM customer, json_tree(customer.doc) WHERE {_LEAVES}",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("customer_term_insert", "customer_term_update", "customer_term_delete"):
        op.execute(f"DROP TRIGGER {trigger}")
    op.execute("DROP TABLE customer_term")
