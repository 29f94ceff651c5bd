"""The fixed-SQL path of indexed-only queries answers exactly what the general compiler answers."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import DateTime, Float, literal, literal_column, select

from app import services
from app.domain.catalogue import Kind
from app.query.model import COLUMNS, And, CustomerQuery, Filter, Or, SortKey, criterion, parse_rest_query
from app.query.plain import compiled_query, plain_query
from app.services import CustomerService
from app.store.base import Store
from rest.customer import customer_bytes
from tests.test_query import insert_customers, oracle_page
from tests.test_query_random import OPS, random_customer, random_value

INDEXED: dict[str, Kind] = {
    "id": Kind.STRING,
    "name": Kind.STRING,
    "status": Kind.STRING,
    "engagedParty.id": Kind.STRING,
    "validFor.startDateTime": Kind.DATETIME,
    "validFor.endDateTime": Kind.DATETIME,
}


def indexed_query(rng: random.Random, ids: list[str]) -> CustomerQuery:
    criteria = []
    for _ in range(rng.randint(0, 3)):
        path = rng.choice(list(INDEXED))
        kind = INDEXED[path]
        count = rng.choice([1, 1, 2, 3])
        values = [rng.choice(ids) if path == "id" else random_value(rng, kind, False) for _ in range(count)]
        criteria.append(criterion(path, rng.choice(OPS[kind]), values))
    filter: Filter | None = None
    if len(criteria) == 1:
        filter = criteria[0]
    elif criteria:
        filter = And(tuple(criteria))
    sort = tuple(SortKey(tuple(rng.choice(list(INDEXED)).split(".")), rng.random() < 0.5) for _ in range(2))
    return CustomerQuery(
        filter, None, sort[: rng.randint(0, 2)], rng.choice([0, 0, 2, 7]), rng.choice([1, 3, 50])
    )


@pytest.mark.parametrize("seed", [11, 12])
async def test_plain_path_agrees_with_the_evaluator(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    docs = {f"c{index:03d}": random_customer(rng) for index in range(50)}
    rows = await insert_customers(store, docs)
    service = CustomerService(store)
    for _ in range(150):
        query = indexed_query(rng, list(docs))
        assert plain_query(query, store.dialect) is not None, query
        page = await service.list(query)
        assert ([r.id for r in page.records], page.total) == oracle_page(rows, query), query
        # Given the hrefs' base, SQLite writes the items itself: the same bytes the REST edge would splice.
        wired = await service.list(query, "http://h.example/api")
        assert (wired.total, wired.count, wired.offset) == (page.total, page.count, page.offset)
        if store.dialect == "sqlite":
            assert wired.records == [] and wired.wire is not None
            items = [customer_bytes(r, "http://h.example/api") for r in page.records]
            assert wired.wire == b"[" + b",".join(items) + b"]", query
            assert wired.count == len(items)
        else:
            assert wired.wire is None and [r.id for r in wired.records] == [r.id for r in page.records]


def test_only_indexed_and_only_conjunctions_take_the_plain_path() -> None:
    def plain(*params: tuple[str, str]) -> bool:
        query = parse_rest_query(list(params), default_limit=10, max_limit=10)
        return plain_query(query, "sqlite") is not None

    assert plain(("engagedParty.id", "500"), ("status", "Approved,Pending"), ("sort", "-name"))
    assert plain(("validFor.startDateTime.gte", "2024-01-01T00:00:00Z"))
    assert not plain(("account.id", "A1"))
    assert not plain(("status", "Approved"), ("sort", "statusReason"))
    either = CustomerQuery(
        Or((criterion("status", "eq", ["a"]), criterion("name", "eq", ["b"]))), None, (), 0, 5
    )
    assert plain_query(either, "sqlite") is None
    assert set(COLUMNS) == {tuple(path.split(".")) for path in INDEXED}


def test_values_never_reach_the_sql_text() -> None:
    hostile = "x' OR 1=1 --"
    query = parse_rest_query([("name", hostile), ("status.ne", hostile)], default_limit=10, max_limit=10)
    plain = plain_query(query, "postgresql")
    assert plain is not None
    assert hostile not in plain.rows_sql and hostile not in plain.count_sql
    assert plain.rows_params == (hostile, hostile, 10, 0) and plain.count_params == (hostile, hostile)


def test_compiled_statements_bind_their_values_as_the_engine_would() -> None:
    """The general compiler's statements as text: values stay parameters, in placeholder order, a list of
    values one placeholder each, and each value converted by its type as the engine converts it."""
    hostile = "x' OR 1=1 --"
    query = parse_rest_query(
        [("contactMedium.characteristic.emailAddress", f"{hostile},b@c.org"), ("limit", "5")],
        default_limit=10,
        max_limit=10,
    )
    statements = services._page_statements(query, "sqlite")
    assert isinstance(statements, services.Statements)
    compiled = compiled_query(statements.page, statements.count, "sqlite")
    assert compiled is not None
    assert hostile not in compiled.rows_sql and hostile not in compiled.count_sql
    assert compiled.rows_sql.count("?") == len(compiled.rows_params) and compiled.rows_params[-2:] == (5, 0)
    assert compiled.count_params == compiled.rows_params[:-2]
    assert [p for p in compiled.count_params if p in (hostile, "b@c.org")] == [hostile, "b@c.org"] * 2
    # PostgreSQL: numbered placeholders, and the containment's JSON as text (what `::JSONB` reads).
    statements = services._page_statements(query, "postgresql")
    assert isinstance(statements, services.Statements)
    compiled = compiled_query(statements.page, statements.count, "postgresql")
    assert compiled is not None and "?" not in compiled.rows_sql and hostile not in compiled.rows_sql
    assert (
        compiled.rows_sql.count("::JSONB") == 2
        and "$4" in compiled.rows_sql
        and "$5" not in compiled.rows_sql
    )
    documents = [orjson.loads(value) for value in compiled.count_params]
    assert documents == [
        {"contactMedium": [{"characteristic": {"emailAddress": v}}]} for v in (hostile, "b@c.org")
    ]
    assert compiled.rows_params == (*compiled.count_params, 5, 0)
    instant = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    typed = compiled_query(select(literal(instant, DateTime())), select(literal(1.5, Float()) + 1), "sqlite")
    assert typed is not None
    assert typed.rows_params == ("2024-05-06 07:08:09.000000",) and typed.count_params == (1.5, 1)
    # PostgreSQL's pool reads any `?` as a placeholder: a text holding one is not kept as text.
    asking, plain = select(literal_column("'?'")), select(literal_column("'!'"))
    assert compiled_query(plain, asking, "postgresql") is None
    assert compiled_query(asking, plain, "postgresql") is None
    assert compiled_query(plain, plain, "postgresql") is not None
    assert compiled_query(asking, asking, "sqlite") is not None


async def test_indexed_filters_use_their_index(store: Store) -> None:
    docs = {f"c{index:03d}": random_customer(random.Random(index)) for index in range(200)}
    await insert_customers(store, docs)
    cases = [
        ([("engagedParty.id", "p2")], "ix_customer_engaged_party_id"),
        ([("status", "Approved,Pending")], "ix_customer_status"),
        ([("name", "x")], "ix_customer_name"),
    ]
    for params, index in cases:
        plain = plain_query(parse_rest_query(params, default_limit=20, max_limit=20), store.dialect)
        assert plain is not None
        statements = [(plain.rows_sql, plain.rows_params), (plain.count_sql, plain.count_params)]
        if plain.wire_sql is not None:
            statements.append((plain.wire_sql, ("http://h/customer/", *plain.rows_params)))
        for sql, values in statements:
            if store.dialect == "sqlite":
                rows = await store.fetch_all(f"EXPLAIN QUERY PLAN {sql}", values)
                plan = " ".join(str(row[-1]) for row in rows)
            else:
                plan = await store.write(lambda conn, sql=sql, values=values: _pg_plan(conn, sql, values))
            assert index in plan, (params, plan)


def _pg_plan(conn, sql: str, values: tuple) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    conn.execute(text("SET LOCAL enable_seqscan = off"))
    names = {f"p{i}": value for i, value in enumerate(values)}
    numbered = sql
    for name in names:
        numbered = numbered.replace("?", f":{name}", 1)
    return " ".join(row[0] for row in conn.execute(text(f"EXPLAIN {numbered}"), names))
