"""Filters on paths through arrays (`contactMedium.characteristic.emailAddress=...`) on a real database.

On SQLite they are an index lookup in `customer_term` (migration 0006_customer_term), which triggers keep for
every writer: the plan is checked, the table is compared with the terms of the stored documents after each
kind of write, and the answers (on both databases) after creates, patches, deletes, raw SQL, `tmf629 seed`
and the migration of a file that already holds customers.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import Connection, Select, func, select, text

from app.domain.tmf666 import ACCOUNT_MANAGEMENT
from app.query.model import Related, criterion, parse_rest_query
from app.query.sql import ACCOUNT_FILTER_TYPE, ACCOUNT_TABLE, order_by, where_clause
from app.settings import Settings
from app.store.base import Store
from app.store.factory import create_store
from app.store.migrate import alembic_config, upgrade
from app.store.tables import Customer
from tests.conftest import LiveServer
from tests.test_query import insert_customers, row_values
from tests.test_rest_patch import JSON_PATCH, MERGE, patch

ROOT = Path(__file__).resolve().parents[1]
TABLE = Customer.__table__  # type: ignore[attr-defined]
EMAIL = "contactMedium.characteristic.emailAddress"
PARTY = {"id": "500", "@referredType": "Organization"}


def customer(name: str, email: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "engagedParty": PARTY,
        "contactMedium": [{"mediumType": "email", "characteristic": {"emailAddress": email}}],
        **extra,
    }


async def create(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    response = await client.post("/customer", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def names(client: httpx.AsyncClient, path: str, value: str) -> set[str]:
    """The names of the customers the REST filter `path=value` lists (one page of at most 20)."""
    response = await client.get("/customer", params={path: value, "limit": "20", "fields": "name"})
    assert response.status_code in (200, 206), response.text
    return {item["name"] for item in response.json()}


def terms_of(value: Any, key: str | None = None, inside: bool = False) -> set[tuple[str, Any]]:
    """What customer_term must hold for a document, derived here in Python: every scalar inside an array,
    under the name of the member holding it (booleans are 1/0 to SQLite, and equal to them in Python)."""
    if isinstance(value, dict):
        return {term for name, item in value.items() for term in terms_of(item, name, inside)}
    if isinstance(value, list):
        return {term for item in value for term in terms_of(item, None, True)}
    return {(key, value)} if inside and key is not None and value is not None else set()


async def assert_terms_follow_documents(store: Store) -> None:
    """SQLite: customer_term holds exactly the terms of the stored documents (the text '5' is not 5)."""
    if store.dialect != "sqlite":
        return

    def read(conn: Connection) -> tuple[list[Any], list[Any]]:
        customers = conn.execute(select(TABLE.c.seq, TABLE.c.doc)).all()
        stored = conn.exec_driver_sql("SELECT customer_seq, key, value FROM customer_term").all()
        return customers, stored

    customers, stored = await store.read(read)
    expected = {(seq, key, value) for seq, doc in customers for key, value in terms_of(doc)}
    assert {tuple(row) for row in stored} == expected
    assert len(stored) == len(expected)  # each (key, value) once per customer


def list_statements(params: dict[str, str]) -> tuple[Select[Any], Select[Any]]:
    """The page and count statements the service runs for a REST query on the general path."""
    query = parse_rest_query(list(params.items()), default_limit=20, max_limit=100)
    assert query.filter is not None
    condition = where_clause(query.filter, "sqlite")
    page = select(TABLE.c.seq, TABLE.c.id, TABLE.c.doc).where(condition)
    page = page.order_by(*order_by(query.sort, "sqlite")).offset(query.offset).limit(query.limit)
    return page, select(func.count()).select_from(TABLE).where(condition)


def query_plan(conn: Connection, statement: Select[Any]) -> list[str]:
    compiled = statement.compile(conn, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args = tuple(params[name] for name in compiled.positiontup or ())
    return [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", args)]


# -- the plan --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {EMAIL: "a@b.org"},
        {EMAIL: "a@b.org,c@d.org"},
        {EMAIL: "a@b.org", "status": "Approved"},
        {"characteristic.value": "5"},
        {"creditProfile.creditScore": "710", "sort": "-name"},
        {"relatedParty.role": "owner", "contactMedium.mediumType": "email"},
    ],
    ids=["eq", "in", "and-indexed-column", "any", "integer-sorted", "two-arrays"],
)
async def test_sqlite_answers_equality_through_an_array_from_the_term_index(
    store: Store, params: dict[str, str]
) -> None:
    if store.dialect != "sqlite":
        pytest.skip("an index of SQLite's; PostgreSQL's GIN containment is tested by test_query")
    await insert_customers(store, {f"c{i}": customer(f"C{i}", f"c{i}@b.org") for i in range(50)})
    page, counting = list_statements(params)

    def plans(conn: Connection) -> list[list[str]]:
        return [query_plan(conn, page), query_plan(conn, counting)]

    for plan in await store.read(plans):
        assert "SEARCH customer_term USING PRIMARY KEY (key=? AND value=?)" in plan, plan
        assert [step for step in plan if step.startswith("SEARCH customer USING")], plan  # by rowid
        assert not [step for step in plan if step.startswith("SCAN customer")], plan


async def test_other_operators_and_date_times_still_read_the_documents(store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("SQLite's plan")
    for params in (
        {f"{EMAIL}.ne": "a@b.org"},
        {"contactMedium.validFor.startDateTime": "2024-01-01T00:00:00Z"},
    ):
        page, _counting = list_statements(params)
        plan = await store.read(lambda conn, page=page: query_plan(conn, page))
        assert not [step for step in plan if "customer_term" in step], plan


# -- the answers after each kind of write ----------------------------------------------------------


async def test_creates_patches_and_deletes_keep_the_filter_right(
    client: httpx.AsyncClient, store: Store
) -> None:
    ann = await create(client, customer("Ann", "ann@x.org"))
    phone = {"mediumType": "phone", "characteristic": {"phoneNumber": "+33 1"}}
    bob = customer("Bob", "bob@x.org")
    bob["contactMedium"].append(phone)
    await create(client, bob)
    await assert_terms_follow_documents(store)
    assert await names(client, EMAIL, "ann@x.org") == {"Ann"}
    assert await names(client, EMAIL, "ann@x.org,bob@x.org") == {"Ann", "Bob"}
    assert await names(client, "contactMedium.characteristic.phoneNumber", "+33 1") == {"Bob"}

    # Merge patch: the array is replaced.
    response = await patch(
        client,
        f"/customer/{ann}",
        {"contactMedium": [{"mediumType": "email", "characteristic": {"emailAddress": "ann2@x.org"}}]},
        MERGE,
    )
    assert response.status_code == 200, response.text
    await assert_terms_follow_documents(store)
    assert await names(client, EMAIL, "ann@x.org") == set()
    assert await names(client, EMAIL, "ann2@x.org") == {"Ann"}

    # JSON Patch: one value inside the array.
    operation = {
        "op": "replace",
        "path": "/contactMedium/0/characteristic/emailAddress",
        "value": "ann3@x.org",
    }
    response = await patch(client, f"/customer/{ann}", [operation], JSON_PATCH)
    assert response.status_code == 200, response.text
    await assert_terms_follow_documents(store)
    assert await names(client, EMAIL, "ann2@x.org") == set()
    assert await names(client, EMAIL, "ann3@x.org") == {"Ann"}

    # A patch that leaves the array alone keeps its terms.
    response = await patch(client, f"/customer/{ann}", {"status": "Approved"}, MERGE)
    assert response.status_code == 200, response.text
    await assert_terms_follow_documents(store)
    assert await names(client, EMAIL, "ann3@x.org") == {"Ann"}

    response = await client.delete(f"/customer/{ann}")
    assert response.status_code == 204, response.text
    await assert_terms_follow_documents(store)
    assert await names(client, EMAIL, "ann3@x.org") == set()
    assert await names(client, EMAIL, "ann3@x.org,bob@x.org") == {"Bob"}


async def test_a_raw_sql_write_keeps_the_filter_right(client: httpx.AsyncClient, store: Store) -> None:
    ann = await create(client, customer("Ann", "ann@x.org"))
    if store.dialect == "sqlite":
        change = (
            "UPDATE customer SET doc = json_set(doc, '$.contactMedium[0].characteristic.emailAddress', :e)"
        )
    else:
        change = (
            "UPDATE customer SET doc = jsonb_set(doc, '{contactMedium,0,characteristic,emailAddress}', "
            "to_jsonb(CAST(:e AS text)))"
        )
    await store.write(
        lambda conn: conn.execute(text(f"{change} WHERE id = :id"), {"e": "raw@x.org", "id": ann})
    )
    await assert_terms_follow_documents(store)
    assert await names(client, EMAIL, "ann@x.org") == set()
    assert await names(client, EMAIL, "raw@x.org") == {"Ann"}
    await store.write(lambda conn: conn.execute(text("DELETE FROM customer WHERE id = :id"), {"id": ann}))
    await assert_terms_follow_documents(store)
    assert await names(client, EMAIL, "raw@x.org") == set()


async def test_seeded_customers_are_found(
    settings: Settings, client: httpx.AsyncClient, store: Store
) -> None:
    command = [sys.executable, "-m", "app.cli", "seed", "--count", "40"]
    env = {**os.environ, "TMF629_DATABASE_URL": settings.database_url}
    done = await asyncio.to_thread(subprocess.run, command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    await assert_terms_follow_documents(store)
    assert await names(client, EMAIL, "customer7@example.org") == {"Customer 7"}
    assert await names(client, EMAIL, "customer7@example.org,customer39@example.org") == {
        "Customer 7",
        "Customer 39",
    }
    assert await names(client, EMAIL, "customer40@example.org") == set()


async def test_the_migration_indexes_the_customers_already_stored(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", dispatcher_enabled=False)
    await asyncio.to_thread(upgrade, settings, "0004_operations")
    store = create_store(settings)
    try:
        await insert_customers(store, {"c1": customer("C1", "one@x.org"), "c2": customer("C2", "two@x.org")})
    finally:
        await store.dispose()
    await asyncio.to_thread(upgrade, settings)
    store = create_store(settings)
    try:
        await assert_terms_follow_documents(store)
        page, _counting = list_statements({EMAIL: "two@x.org"})
        found = await store.read(lambda conn: [row.id for row in conn.execute(page)])
        assert found == ["c2"]
    finally:
        await store.dispose()


async def test_the_cheaper_triggers_keep_the_same_terms(tmp_path: Path) -> None:
    """Migration 0007 rewrites the triggers (the parent's path, INSERT OR IGNORE): across 0006 -> 0007 ->
    0006 -> 0007, each one keeps customer_term exactly the terms of the documents, through inserts, updates
    and deletes, repeats and 5 against 5.0 included."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'triggers.db'}", dispatcher_enabled=False
    )
    twice = customer("Twice", "same@x.org")
    twice["contactMedium"].append({"mediumType": "email", "characteristic": {"emailAddress": "same@x.org"}})
    twice["characteristic"] = [
        {"name": "n", "value": 5},
        {"name": "n", "value": 5.0},
        {"name": "n", "value": "5"},
    ]
    steps = [
        ("0006_customer_term", "fullkey"),
        ("head", "path"),
        ("0006_customer_term", "fullkey"),
        ("head", "path"),
    ]
    for index, (revision, condition) in enumerate(steps):
        if index == 2:
            await asyncio.to_thread(command.downgrade, alembic_config(settings), revision)
        else:
            await asyncio.to_thread(upgrade, settings, revision)
        store = create_store(settings)
        try:
            new = [(f"t{index}", twice), (f"u{index}", customer(f"U{index}", f"u{index}@x.org"))]
            rows = [row_values(10 * index + k, name, doc) for k, (name, doc) in enumerate(new, 1)]
            await store.write(lambda conn, rows=rows: conn.execute(TABLE.insert(), rows))

            def write(conn: Connection, index: int = index) -> str:
                doc = customer(f"U{index}", f"changed{index}@x.org")
                conn.execute(TABLE.update().where(TABLE.c.id == f"u{index}").values(doc=doc))
                if index:
                    conn.execute(TABLE.delete().where(TABLE.c.id == f"t{index - 1}"))
                found = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'customer_term_insert'"
                ).scalar_one()
                return str(found)

            trigger = await store.write(write)
            assert f"instr({condition}, '[')" in trigger, trigger
            await assert_terms_follow_documents(store)
        finally:
            await store.dispose()


async def test_accounts_filtered_on_their_customers_email(
    server: LiveServer, client: httpx.AsyncClient, store: Store
) -> None:
    """`AccountWhere.customers` filters an alias of the customer table: narrowed the same way."""
    async with httpx.AsyncClient(base_url=server.url + ACCOUNT_MANAGEMENT.path, timeout=30) as accounts:
        response = await accounts.post("/financialAccount", json={"name": "Savings", "state": "open"})
        assert response.status_code == 201, response.text
        savings = response.json()["id"]
    await create(client, customer("Ann", "ann@x.org", account=[{"id": savings, "name": "S"}]))
    await create(client, customer("Bob", "bob@x.org"))

    def linked_to(email: str) -> Callable[[Connection], list[str]]:
        condition = where_clause(
            Related("customers", criterion(EMAIL, "eq", [email])),
            store.dialect,
            resource=ACCOUNT_FILTER_TYPE,
            table=ACCOUNT_TABLE,
        )
        return lambda conn: list(conn.execute(select(ACCOUNT_TABLE.c.id).where(condition)).scalars())

    assert await store.read(linked_to("ann@x.org")) == [savings]
    assert await store.read(linked_to("bob@x.org")) == []


# -- typed values ----------------------------------------------------------------------------------


async def test_numbers_strings_and_booleans_match_as_their_kind_says(
    client: httpx.AsyncClient, store: Store
) -> None:
    """`characteristic.value` holds any JSON: the text given matches the string itself and the scalar it
    parses to, never another type (5 matches 5 and "5", not true; true matches true and "true", not 1)."""
    values: dict[str, Any] = {
        "int5": 5,
        "text5": "5",
        "real5.5": 5.5,
        "text5.0": "5.0",
        "true": True,
        "texttrue": "true",
        "int1": 1,
        "text1": "1",
        "false": False,
        "int0": 0,
        "object": {"value": 5},
        "list": [5],
    }
    for name, value in values.items():
        await create(
            client, {"name": name, "engagedParty": PARTY, "characteristic": [{"name": "n", "value": value}]}
        )
    profile = {"creditProfileDate": "2024-02-01T10:00:00Z", "creditScore": 5, "validFor": {}}
    scored = {"name": "score5", "engagedParty": PARTY, "creditProfile": [profile]}
    await create(client, scored)
    preferred = customer("preferred", "p@x.org")
    preferred["contactMedium"][0]["preferred"] = True
    await create(client, preferred)
    await assert_terms_follow_documents(store)

    value = "characteristic.value"
    assert await names(client, value, "5") == {"int5", "text5"}
    assert await names(client, value, "5.0") == {"int5", "text5.0"}
    assert await names(client, value, "5.5") == {"real5.5"}
    assert await names(client, value, "true") == {"true", "texttrue"}
    assert await names(client, value, "1") == {"int1", "text1"}
    assert await names(client, value, "false") == {"false"}
    assert await names(client, value, "0") == {"int0"}
    assert await names(client, value, "5,true") == {"int5", "text5", "true", "texttrue"}
    assert await names(client, "creditProfile.creditScore", "5") == {"score5"}
    assert await names(client, "creditProfile.creditScore", "1") == set()
    assert await names(client, "contactMedium.preferred", "true") == {"preferred"}
    assert await names(client, "contactMedium.preferred", "false") == set()
