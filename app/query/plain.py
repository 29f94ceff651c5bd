"""The hot path of the collection: queries on indexed columns only, as fixed SQL text.

Building and compiling a SQLAlchemy statement costs several times what SQLite needs to answer
`party.id=X&limit=20`. When every criterion of a query is on an indexed column (the model's `Indexed`
attributes), the filter is ANDed criteria and the sort keys are such columns too, the SQL is written
here from a fixed vocabulary: column names come from `app.query.model.COLUMNS`, operators from
`_SQL_OPS`, and every value is a bound parameter. Any other query goes through `app.query.sql`.
Both give the same answers (tests/test_query_plain.py). The statements `app.query.sql` builds for a query
asked again are compiled here once (`compiled_query`) and run the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg

from app.query.model import COLUMNS, And, Criterion, CustomerQuery, SortKey, checked, operand
from app.query.sql import NOT_NULL

_SQL_OPS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_DOC = {"sqlite": "doc", "postgresql": "doc::text"}
# SQLite: each row of a page as the REST answer writes it, made by the database from the stored text (the
# first parameter is the hrefs' prefix): `{"id":..,"href":..,` then the document after its `{`, as bytes.
# One REST item: the id and href first, then the stored document's members (its `{` dropped). `ltrim`, not
# `substr(doc, 2)`: substr counts the characters of the whole text to find its end (0.4 us a document),
# ltrim only skips the `{` (a JSON object's next character is `"` or `}`, so exactly one goes).
_WIRE = """'{"id":' || json_quote(id) || ',"href":' || json_quote(? || id) || ',' || ltrim(doc, '{')"""


_SNAPSHOT = "pg_current_snapshot()::text"
_DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": asyncpg.dialect()}


@dataclass(frozen=True)
class PlainQuery:
    """The page and count statements of a query, with `?` placeholders, and their parameters; on
    PostgreSQL also the page with its total as a fifth column and the snapshot as a sixth, in one statement
    (`counted_sql`, a remembered count's snapshot then `counted_params`: the total is NULL in it); on
    SQLite also the page as one row: its length and the REST JSON array of its items (`wire_sql`, the hrefs'
    prefix, then `rows_params`)."""

    rows_sql: str
    rows_params: tuple[Any, ...]
    count_sql: str
    count_params: tuple[Any, ...]
    counted_sql: str | None = None
    counted_params: tuple[Any, ...] = ()
    wire_sql: str | None = None


def plain_query(query: CustomerQuery, dialect: str) -> PlainQuery | None:
    """The query as fixed SQL text, or None when it needs the general compiler."""
    criteria = _criteria(query)
    if criteria is None or not all(COLUMNS.get(key.path) for key in query.sort):
        return None
    conditions: list[str] = []
    params: list[Any] = []
    for item in criteria:
        _attribute, kind = checked(item)
        column = COLUMNS[item.path]
        values = [operand(kind, value) for value in item.values]
        if item.op == "eq":
            conditions.append(f"{column} IN ({', '.join('?' * len(values))})")
        else:
            sql_op = _SQL_OPS[item.op]
            conditions.append("(" + " OR ".join(f"{column} {sql_op} ?" for _ in values) + ")")
        params.extend(values)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    order = ", ".join([*(_order_term(key) for key in query.sort), "seq"])
    page = f" FROM customer{where} ORDER BY {order} LIMIT ? OFFSET ?"
    rows_sql = f"SELECT id, version, {_DOC[dialect]}{page}"
    count_sql = f"SELECT count(*) FROM customer{where}"
    page_params = (*params, query.limit, query.offset)
    counted_sql = wire_sql = None
    if dialect == "sqlite":
        # The whole page as one JSON array, and its length: one row, where a row per item was a step of the
        # statement each, and a release and retake of the GIL. The items are concatenated in the order the
        # subquery yields them, its ORDER BY (tests compare them with the row query's, sorted every way).
        wire_sql = (
            "SELECT count(*), CAST('[' || coalesce(group_concat(item, ','), '') || ']' AS BLOB)"
            f" FROM (SELECT {_WIRE} AS item{page})"
        )
    else:
        # One round trip, one snapshot: the count is a scalar subquery of the same statement (an InitPlan,
        # run once, and only when needed), so the total is counted in the very snapshot the page was cut
        # from. The first parameter is the snapshot a remembered count of the same filter was made in: in
        # that snapshot the count is the same, so the subquery is not run (NULL), and each row tells the
        # statement's snapshot. A snapshot (xmin:xmax:in-progress ids) moves with every transaction that
        # writes, and only then: read-only traffic keeps it, whatever the number of matches.
        counted_sql = rows_sql.replace(
            " FROM customer",
            f", CASE WHEN {_SNAPSHOT} = ? THEN NULL ELSE ({count_sql}) END, {_SNAPSHOT} FROM customer",
            1,
        )
    counted_params = (*params, *page_params)
    return PlainQuery(rows_sql, page_params, count_sql, tuple(params), counted_sql, counted_params, wire_sql)


def compiled_query(page: Select[Any], counting: Select[Any], dialect: str) -> PlainQuery | None:
    """A query the fixed vocabulary above cannot write, as SQLAlchemy's compiler writes its page and count
    statements (app.query.sql), once: SQL text (`?` placeholders on SQLite, asyncpg's numbered ones on
    PostgreSQL) and the parameters in their order, each converted by its type as the engine converts it (a
    JSON value to its text, a JSON path to a list), run as a plain query is: inline within the step budget on
    SQLite, one prepared statement on PostgreSQL's pool. Building a filter's statements costs ten times what
    SQLite needs to run them; the values stay bound parameters. None when a text holds a `?` (PostgreSQL's
    pool reads `?` as a placeholder)."""
    rows_sql, rows_params = _compiled(page, dialect)
    count_sql, count_params = _compiled(counting, dialect)
    if dialect == "postgresql" and "?" in rows_sql + count_sql:
        return None
    return PlainQuery(rows_sql, rows_params, count_sql, count_params)


def _compiled(statement: Select[Any], dialect: str) -> tuple[str, tuple[Any, ...]]:
    # `render_postcompile`: a list of values (`IN`) as one placeholder each, as the engine would expand it.
    compiled = statement.compile(dialect=_DIALECTS[dialect], compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params()
    processors = compiled._bind_processors  # the types' conversions of bound values, as the engine applies
    names = compiled.positiontup or ()
    return compiled.string, tuple(
        processors[name](values[name]) if name in processors else values[name] for name in names
    )


def _criteria(query: CustomerQuery) -> list[Criterion] | None:
    """The criteria of an AND-only filter on indexed columns, or None."""
    filter = query.filter
    if filter is None:
        return []
    items = filter.items if isinstance(filter, And) else (filter,)
    if not all(
        isinstance(item, Criterion) and item.op in _SQL_OPS and item.path in COLUMNS for item in items
    ):
        return None
    return list(items)  # type: ignore[arg-type]


def _order_term(key: SortKey) -> str:
    column = COLUMNS[key.path]
    term = f"{column} {'DESC' if key.descending else 'ASC'}"
    return term if column in NOT_NULL else f"{term} NULLS LAST"
