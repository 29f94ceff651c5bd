"""The TMF630 query model: parsing, the SQL of both dialects (on a real database) and the Python evaluator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, Select, func, insert, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement

from app.domain.errors import InvalidQuery
from app.domain.resource import indexed_columns, validate_customer, with_defaults
from app.query.evaluate import matches, project, sort_rows
from app.query.model import (
    MAX_CRITERIA,
    MAX_OR_VALUES,
    And,
    Criterion,
    CustomerQuery,
    Filter,
    Or,
    SortKey,
    check_filter,
    criterion,
    parse_rest_query,
)
from app.query.sql import order_by, where_clause
from app.settings import Settings
from app.store.base import Store
from app.store.migrate import alembic_config, upgrade
from app.store.tables import Customer

TABLE = Customer.__table__  # type: ignore[attr-defined]
PARTY = {"id": "500", "@referredType": "Organization"}


# -- helpers (shared with test_query_random) ------------------------------------------------------


def row_values(seq: int, customer_id: str, doc: dict[str, Any]) -> dict[str, Any]:
    validate_customer(doc)
    stored = with_defaults(doc)
    now = datetime.now(UTC).replace(tzinfo=None)
    return {
        "seq": seq,
        "id": customer_id,
        "doc": stored,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **indexed_columns(stored),
    }


async def insert_customers(
    store: Store, docs: dict[str, dict[str, Any]]
) -> list[tuple[int, str, dict[str, Any]]]:
    """Insert customers (id -> document) in order; the (seq, id, stored doc) rows the oracle takes."""
    rows = [row_values(seq, customer_id, doc) for seq, (customer_id, doc) in enumerate(docs.items(), 1)]
    await store.write(lambda conn: conn.execute(insert(TABLE), rows))
    return [(row["seq"], row["id"], row["doc"]) for row in rows]


def select_page(conn: Connection, query: CustomerQuery, dialect: str) -> tuple[list[str], int]:
    """The ids of one page in order, and the number of matches: what the service runs."""
    condition = where_clause(query.filter, dialect) if query.filter is not None else None
    page = select(TABLE.c.id).order_by(*order_by(query.sort, dialect)).offset(query.offset).limit(query.limit)
    counting = select(func.count()).select_from(TABLE)
    if condition is not None:
        page, counting = page.where(condition), counting.where(condition)
    return list(conn.execute(page).scalars()), conn.execute(counting).scalar_one()


def oracle_page(rows: list[tuple[int, str, dict[str, Any]]], query: CustomerQuery) -> tuple[list[str], int]:
    chosen = [row for row in rows if query.filter is None or matches(row[2], row[1], query.filter)]
    ordered = [row[1] for row in sort_rows(chosen, query.sort)]
    return ordered[query.offset : query.offset + query.limit], len(chosen)


def rest(*params: tuple[str, str], limit: int = 100) -> CustomerQuery:
    return parse_rest_query(list(params), default_limit=limit, max_limit=1000)


async def ids(
    store: Store, rows: list[tuple[int, str, dict[str, Any]]], *params: tuple[str, str]
) -> list[str]:
    """The ids the database answers, after checking that the Python evaluator agrees."""
    query = rest(*params)
    found, total = await store.read(lambda conn: select_page(conn, query, store.dialect))
    assert (found, total) == oracle_page(rows, query), params
    return found


def error(*params: tuple[str, str]) -> InvalidQuery:
    with pytest.raises(InvalidQuery) as caught:
        rest(*params)
    return caught.value


def customer(name: str, **members: Any) -> dict[str, Any]:
    return {"name": name, "engagedParty": PARTY, **members}


# -- parsing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ([("nickname", "x")], "nickname"),
        ([("contactMedium.colour.gt", "x")], "contactMedium.colour.gt"),
        ([("name.like", "x")], "name.like"),
        ([("name.regex", "^a")], "name.regex"),
        ([("href", "x")], "href"),
        ([("engagedParty", "x")], "engagedParty"),
        ([("contactMedium", "x")], "contactMedium"),
        ([("name", "")], "name"),
        ([("name", "a,,b")], "name"),
        ([("creditProfile.creditScore", "12a")], "creditProfile.creditScore"),
        ([("creditProfile.creditScore.gt", "1.5")], "creditProfile.creditScore.gt"),
        ([("creditProfile.creditScore", "99999999999999999999")], "creditProfile.creditScore"),
        ([("contactMedium.preferred", "yes")], "contactMedium.preferred"),
        ([("contactMedium.preferred.gt", "true")], "contactMedium.preferred.gt"),
        ([("characteristic.value.lt", "5")], "characteristic.value.lt"),
        ([("validFor.startDateTime.gte", "2024-01-01")], "validFor.startDateTime.gte"),
        ([("validFor.startDateTime", "2024-01-01T00:00:00")], "validFor.startDateTime"),
        ([("validFor.startDateTime", "2024-02-30T00:00:00Z")], "validFor.startDateTime"),
        ([("limit", "0")], "limit"),
        ([("limit", "-3")], "limit"),
        ([("limit", "ten")], "limit"),
        ([("limit", "")], "limit"),
        ([("limit", "5"), ("limit", "6")], "limit"),
        ([("offset", "-1")], "offset"),
        ([("offset", "1.5")], "offset"),
        ([("offset", "99999999999999999999")], "offset"),
        ([("fields", "")], "fields"),
        ([("fields", "name,nickname")], "fields"),
        ([("fields", "name,")], "fields"),
        ([("sort", "")], "sort"),
        ([("sort", "-nickname")], "sort"),
        ([("sort", "contactMedium.mediumType")], "sort"),
        ([("sort", "engagedParty")], "sort"),
        ([("sort", "href")], "sort"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(params: list[tuple[str, str]], field: str) -> None:
    assert error(*params).field == field


def test_too_many_criteria_or_values() -> None:
    many = [(f"name.{op}", "x") for op in ("eq", "ne", "gt", "gte", "lt", "lte")]
    many += [
        (f"engagedParty.{attr}.{op}", "x")
        for attr in ("id", "name", "role")
        for op in ("eq", "ne", "gt", "lt")
    ]
    many += [(f"status.{op}", "x") for op in ("eq", "ne", "gt", "lt")]
    assert len(many) > MAX_CRITERIA
    assert rest(*many[:MAX_CRITERIA]).filter is not None
    assert error(*many).field == many[-1][0]
    values = ",".join(str(n) for n in range(MAX_OR_VALUES + 1))
    assert error(("creditProfile.creditScore", values)).field == "creditProfile.creditScore"
    assert error(*[("name", str(n)) for n in range(MAX_OR_VALUES + 1)]).field == "name"
    deep: Filter = criterion("name", "eq", ["x"])
    for _ in range(10):
        deep = And((Or((deep,)),))
    with pytest.raises(InvalidQuery):
        check_filter(deep)
    with pytest.raises(InvalidQuery):
        check_filter(Or(tuple(criterion("name", "eq", ["x"]) for _ in range(MAX_CRITERIA + 1))))


def test_parsing_builds_the_model() -> None:
    query = rest(
        ("id", "42"),
        ("engagedParty.id.ne", "7"),
        ("status", "Approved,Pending"),
        ("status", "Rejected"),
        ("creditProfile.creditScore.gte", "+700"),
        ("contactMedium.preferred", "TRUE"),
        ("validFor.startDateTime.lt", "2024-01-01T02:00:00+02:00"),
        ("characteristic.value", "5"),
        ("fields", "name,contactMedium.characteristic.emailAddress"),
        ("fields", "name"),
        ("sort", "-validFor.startDateTime, name"),
        ("offset", "10"),
        ("limit", "5000"),
    )
    start = datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert query == CustomerQuery(
        filter=And(
            (
                Criterion(("id",), "eq", ("42",)),
                Criterion(("engagedParty", "id"), "ne", ("7",)),
                Criterion(("status",), "eq", ("Approved", "Pending", "Rejected")),
                Criterion(("creditProfile", "creditScore"), "gte", (700,)),
                Criterion(("contactMedium", "preferred"), "eq", (True,)),
                Criterion(("validFor", "startDateTime"), "lt", (start,)),
                Criterion(("characteristic", "value"), "eq", ("5",)),
            )
        ),
        fields=(("name",), ("contactMedium", "characteristic", "emailAddress")),
        sort=(SortKey(("validFor", "startDateTime"), True), SortKey(("name",))),
        offset=10,
        limit=1000,
    )
    assert rest() == CustomerQuery(None, None, (), 0, 100)
    # an unencoded "+" arrives as a space; filter values are taken as sent, spaces included
    spaced = rest(("validFor.startDateTime.lt", "2024-01-01T02:00:00 02:00"), ("name", " a ,b"))
    assert spaced.filter == And(
        (Criterion(("validFor", "startDateTime"), "lt", (start,)), Criterion(("name",), "eq", (" a ", "b")))
    )
    assert rest(("name", "a")).filter == Criterion(("name",), "eq", ("a",))


def test_criterion_takes_typed_values_from_graphql() -> None:
    moment = datetime(2024, 5, 1, tzinfo=UTC)
    assert criterion("creditProfile.creditScore", "gt", [5, "6"]).values == (5, 6)
    assert criterion("contactMedium.preferred", "eq", [False]).values == (False,)
    assert criterion("validFor.endDateTime", "lte", [moment, "2024-05-01T00:00:00Z"]).values == (
        moment,
        moment,
    )
    assert criterion("characteristic.value", "eq", [5, True, "x"]).values == ("5", "true", "x")
    assert criterion("name", "eq", "single").values == ("single",)
    for path, value in [
        ("validFor.endDateTime", datetime(2024, 5, 1)),  # naive: which instant?
        ("creditProfile.creditScore", True),
        ("name", 5),
        ("contactMedium.preferred", 1),
    ]:
        with pytest.raises(InvalidQuery) as caught:
            criterion(path, "eq", [value], param="where")
        assert caught.value.field == "where"
    for built in (  # criteria built by hand are checked where they are used
        Criterion(("characteristic", "value"), "gt", ("5",)),
        Criterion(("nickname",), "eq", ("x",)),
        Criterion(("engagedParty",), "eq", ("x",)),
        Criterion(("name",), "eq", ()),
    ):
        with pytest.raises(InvalidQuery):
            where_clause(built, "postgresql")
        with pytest.raises(InvalidQuery):
            matches({}, "1", built)
    with pytest.raises(InvalidQuery):
        order_by([SortKey(("account", "id"))], "sqlite")
    with pytest.raises(InvalidQuery):
        criterion("name", "like", ["x"])
    with pytest.raises(InvalidQuery):
        criterion("name", "eq", [])


# -- projection -----------------------------------------------------------------------------------

RESOURCE = {
    "id": "1",
    "href": "http://x/customer/1",
    "name": "Moon",
    "status": "Approved",
    "engagedParty": {"id": "500", "name": "Moon Inc", "@referredType": "Organization"},
    "contactMedium": [
        {"mediumType": "email", "characteristic": {"emailAddress": "a@b.org", "city": "Paris"}},
        {"mediumType": "phone", "characteristic": {"phoneNumber": "123"}},
    ],
    "validFor": {"startDateTime": "2024-01-01T00:00:00Z"},
    "@type": "Customer",
}


def test_project_keeps_id_href_type_and_the_selected_paths() -> None:
    assert project(RESOURCE, None) is RESOURCE
    assert project(RESOURCE, (("name",),)) == {
        "id": "1",
        "href": "http://x/customer/1",
        "name": "Moon",
        "@type": "Customer",
    }
    picked = project(
        RESOURCE, (("engagedParty", "name"), ("contactMedium", "characteristic", "emailAddress"))
    )
    assert picked == {
        "id": "1",
        "href": "http://x/customer/1",
        "engagedParty": {"name": "Moon Inc"},
        "contactMedium": [{"characteristic": {"emailAddress": "a@b.org"}}, {}],
        "@type": "Customer",
    }
    # a path and its prefix: the prefix wins, whatever the order; absent or empty members are left out
    whole = project(
        RESOURCE, (("contactMedium", "mediumType"), ("contactMedium",), ("validFor", "endDateTime"))
    )
    assert whole["contactMedium"] == RESOURCE["contactMedium"] and "validFor" not in whole
    assert project(RESOURCE, (("statusReason",),)) == {
        "id": "1",
        "href": "http://x/customer/1",
        "@type": "Customer",
    }


# -- filters on a real database -------------------------------------------------------------------


async def test_strings_ids_and_indexed_columns(store: Store) -> None:
    rows = await insert_customers(
        store,
        {
            "c1": customer("alpha", status="Approved", engagedParty={**PARTY, "id": "p1", "name": "Acme"}),
            "c2": customer("beta", status="Pending"),
            "c3": customer("gamma", engagedParty={**PARTY, "id": "p1"}),
        },
    )
    assert await ids(store, rows, ("name", "beta")) == ["c2"]
    assert await ids(store, rows, ("name", "alpha,gamma")) == ["c1", "c3"]
    assert await ids(store, rows, ("name", "alpha"), ("name", "beta")) == ["c1", "c2"]
    assert await ids(store, rows, ("name.gt", "alpha")) == ["c2", "c3"]
    assert await ids(store, rows, ("name.lte", "beta")) == ["c1", "c2"]
    assert await ids(store, rows, ("id", "c3")) == ["c3"]
    assert await ids(store, rows, ("id.ne", "c3")) == ["c1", "c2"]
    assert await ids(store, rows, ("engagedParty.id", "p1")) == ["c1", "c3"]
    assert await ids(store, rows, ("engagedParty.name", "Acme")) == ["c1"]
    assert await ids(store, rows, ("engagedParty.name.ne", "Other")) == ["c1"]  # missing matches no criterion
    assert await ids(store, rows, ("status.ne", "Approved")) == ["c2"]
    assert await ids(store, rows, ("@type", "Customer"), ("engagedParty.id", "p1"), ("status.lt", "B")) == [
        "c1"
    ]
    assert await ids(store, rows, ("name", "Alpha")) == []


async def test_numbers_and_booleans_inside_arrays(store: Store) -> None:
    def profile(score: int) -> dict[str, Any]:
        return {
            "creditProfileDate": "2024-01-01T00:00:00Z",
            "creditScore": score,
            "validFor": {"startDateTime": "2024-01-01T00:00:00Z"},
        }

    def medium(kind: str, **members: Any) -> dict[str, Any]:
        return {"mediumType": kind, "characteristic": {}, **members}

    rows = await insert_customers(
        store,
        {
            "c1": customer("a", creditProfile=[profile(9), profile(700)]),
            "c2": customer("b", creditProfile=[profile(80)], contactMedium=[medium("email", preferred=True)]),
            "c3": customer("c", contactMedium=[medium("email"), medium("phone", preferred=False)]),
            "c4": customer(
                "d", contactMedium=[medium("email", preferred=True), medium("fax", preferred=False)]
            ),
        },
    )
    assert await ids(store, rows, ("creditProfile.creditScore.gt", "80")) == [
        "c1"
    ]  # 700 > 80, though "9" > "80"
    assert await ids(store, rows, ("creditProfile.creditScore.gte", "80")) == ["c1", "c2"]
    assert await ids(store, rows, ("creditProfile.creditScore.lt", "10")) == ["c1"]
    assert await ids(store, rows, ("creditProfile.creditScore.lte", "80")) == ["c1", "c2"]
    assert await ids(store, rows, ("creditProfile.creditScore", "700,80")) == ["c1", "c2"]
    assert await ids(store, rows, ("creditProfile.creditScore.ne", "80")) == ["c1"]
    assert await ids(store, rows, ("contactMedium.preferred", "true")) == ["c2", "c4"]
    assert await ids(store, rows, ("contactMedium.preferred", "false")) == ["c3", "c4"]
    # ne: some element has the attribute and it differs; c3's email medium has no `preferred`
    assert await ids(store, rows, ("contactMedium.preferred.ne", "true")) == ["c3", "c4"]
    assert await ids(store, rows, ("contactMedium.preferred.ne", "false")) == ["c2", "c4"]
    # each criterion is matched by any element on its own
    assert await ids(
        store, rows, ("contactMedium.mediumType", "fax"), ("contactMedium.preferred", "true")
    ) == ["c4"]
    assert await ids(store, rows, ("contactMedium.mediumType.ne", "email")) == ["c3", "c4"]


async def test_nested_objects_in_array_elements(store: Store) -> None:
    rows = await insert_customers(
        store,
        {
            "c1": customer(
                "a",
                contactMedium=[
                    {"mediumType": "email", "characteristic": {"emailAddress": "a@b.org"}},
                    {"mediumType": "post", "characteristic": {"city": "Paris"}},
                ],
                account=[{"id": "acc1", "name": "main"}],
                relatedParty=[{"id": "r1", "role": "owner", "@referredType": "Individual"}],
            ),
            "c2": customer(
                "b",
                contactMedium=[{"mediumType": "email", "characteristic": {"emailAddress": "c@d.org"}}],
                account=[{"id": "acc2", "name": "main"}, {"id": "acc1", "name": "other"}],
            ),
        },
    )
    assert await ids(store, rows, ("contactMedium.characteristic.emailAddress", "a@b.org")) == ["c1"]
    assert await ids(store, rows, ("contactMedium.characteristic.city", "Paris,Rome")) == ["c1"]
    assert await ids(store, rows, ("contactMedium.characteristic.city.ne", "Rome")) == ["c1"]
    assert await ids(store, rows, ("account.id", "acc1")) == ["c1", "c2"]
    assert await ids(store, rows, ("account.name", "other")) == ["c2"]
    assert await ids(store, rows, ("account.id.gt", "acc1")) == ["c2"]
    assert await ids(store, rows, ("relatedParty.role", "owner")) == ["c1"]
    assert await ids(store, rows, ("relatedParty.role.ne", "owner")) == []


async def test_characteristic_value_matches_the_text_or_its_json_scalar(store: Store) -> None:
    def valued(*values: Any) -> dict[str, Any]:
        return customer("x", characteristic=[{"name": f"n{i}", "value": v} for i, v in enumerate(values)])

    rows = await insert_customers(
        store,
        {
            "num": valued(5),
            "text": valued("5"),
            "float": valued(5.0),
            "true": valued(True),
            "truetext": valued("true"),
            "one": valued(1),
            "object": valued({"a": 5}, [5]),
            "word": valued("abc", "def"),
        },
    )
    assert await ids(store, rows, ("characteristic.value", "5")) == ["num", "text", "float"]
    assert await ids(store, rows, ("characteristic.value", "5.0")) == ["num", "float"]
    assert await ids(store, rows, ("characteristic.value", "true")) == ["true", "truetext"]
    assert await ids(store, rows, ("characteristic.value", "1")) == ["one"]
    assert await ids(store, rows, ("characteristic.value", "abc,xyz")) == ["word"]
    assert await ids(store, rows, ("characteristic.value", '"5"')) == []  # the text "\"5\"" is not stored
    ne = await ids(store, rows, ("characteristic.value.ne", "5"))
    assert ne == ["true", "truetext", "one", "object", "word"]
    assert await ids(store, rows, ("characteristic.value.ne", "abc")) == [
        "num",
        "text",
        "float",
        "true",
        "truetext",
        "one",
        "object",
        "word",
    ]
    assert await ids(store, rows, ("characteristic.name", "n1"), ("characteristic.value", "def")) == ["word"]


async def test_date_times_compare_as_instants_whatever_the_offset(store: Store) -> None:
    def profile(date: str) -> dict[str, Any]:
        return {"creditProfileDate": date, "validFor": {"endDateTime": date}}

    moments = {
        "utc": "2024-01-01T00:00:00Z",
        "plus2": "2024-01-01T02:00:00+02:00",  # the same instant
        "minus": "2023-12-31T23:30:00.5-00:30",  # 2024-01-01T00:00:00.5Z
        "micro": "2024-01-01T00:00:00.000001z",
        "nano": "2024-01-01t00:00:00.000000999Z",  # truncated to the microsecond: the first instant
        "far": "2024-01-02T23:59:00+23:59",  # 2024-01-02T00:00:00Z
        "west": "2023-12-31T00:01:00-23:59",  # 2024-01-01T00:00:00Z
    }
    rows = await insert_customers(
        store,
        {
            key: customer(key, validFor={"startDateTime": value}, creditProfile=[profile(value)])
            for key, value in moments.items()
        },
    )
    same = ["utc", "plus2", "nano", "west"]
    for path in (
        "validFor.startDateTime",
        "creditProfile.creditProfileDate",
        "creditProfile.validFor.endDateTime",
    ):
        assert await ids(store, rows, (path, "2024-01-01T01:00:00+01:00")) == same
        assert await ids(store, rows, (f"{path}.gt", "2024-01-01T00:00:00Z")) == ["minus", "micro", "far"]
        assert await ids(store, rows, (f"{path}.gte", "2024-01-01T00:00:00.000001Z")) == [
            "minus",
            "micro",
            "far",
        ]
        assert await ids(store, rows, (f"{path}.lt", "2024-01-01T00:00:00.000001Z")) == same
        assert await ids(store, rows, (f"{path}.lte", "2023-12-31T19:00:00-05:00")) == same
        assert await ids(store, rows, (f"{path}.ne", "2024-01-01T00:00:00Z")) == ["minus", "micro", "far"]
        assert await ids(store, rows, (f"{path}.gt", "2024-01-01T23:00:00-01:00")) == []
        between = ((f"{path}.gt", "2024-01-01T00:00:00.4Z"), (f"{path}.lt", "2024-01-01T01:00:00Z"))
        assert await ids(store, rows, *between) == ["minus"]
    assert await ids(store, rows, ("validFor.endDateTime.ne", "2024-01-01T00:00:00Z")) == []


async def test_date_times_before_the_year_1000_keep_their_place_in_time(store: Store) -> None:
    """Four digits of year, whatever the year: a key of "999-..." would sort after "2024-..."."""
    moments = {
        "ancient": "0999-12-31T23:00:00-02:00",  # 1000-01-01T01:00:00Z
        "y1000": "1000-01-01T00:30:00Z",
        "modern": "2024-01-01T00:00:00Z",
        "roman": "0099-07-01T12:00:00Z",
    }
    rows = await insert_customers(
        store,
        {
            key: customer(
                key,
                validFor={"startDateTime": value},
                creditProfile=[{"creditProfileDate": value, "validFor": {"endDateTime": value}}],
            )
            for key, value in moments.items()
        },
    )
    for path in (
        "validFor.startDateTime",
        "creditProfile.creditProfileDate",
        "creditProfile.validFor.endDateTime",
    ):
        assert await ids(store, rows, (path, "1000-01-01T01:00:00Z")) == ["ancient"]
        assert await ids(store, rows, (f"{path}.lt", "1000-01-01T00:45:00Z")) == ["y1000", "roman"]
        assert await ids(store, rows, (f"{path}.gt", "1000-01-01T00:45:00Z")) == ["ancient", "modern"]
        assert await ids(
            store, rows, (f"{path}.gte", "0099-07-01T12:00:00Z"), (f"{path}.lt", "0100-01-01T00:00:00Z")
        ) == ["roman"]


async def test_the_migration_pads_the_years_of_the_instants_stored(settings: Settings, store: Store) -> None:
    """0008 gives the valid_for keys stored with a year of fewer than four digits their four, and its
    downgrade takes them back; a key of four digits is left alone both ways."""
    await insert_customers(
        store,
        {
            "ancient": customer("a", validFor={"startDateTime": "0999-12-31T23:00:00-02:00"}),
            "roman": customer(
                "r",
                validFor={"startDateTime": "2024-01-01T00:00:00Z", "endDateTime": "0099-07-01T12:00:00.5Z"},
            ),
        },
    )

    async def stored() -> dict[str, tuple[str, str | None]]:
        rows = await store.read(
            lambda conn: conn.execute(
                select(TABLE.c.id, TABLE.c.valid_for_start, TABLE.c.valid_for_end)
            ).all()
        )
        return {row[0]: (row[1], row[2]) for row in rows}

    padded = {
        "ancient": ("1000-01-01T01:00:00.000000Z", None),
        "roman": ("2024-01-01T00:00:00.000000Z", "0099-07-01T12:00:00.500000Z"),
    }
    assert await stored() == padded
    await store.write(
        lambda conn: conn.execute(
            TABLE.update()
            .where(TABLE.c.id == "ancient")
            .values(valid_for_start="0999-12-31T01:00:00.000000Z")
        )
    )
    padded["ancient"] = ("0999-12-31T01:00:00.000000Z", None)
    try:
        await asyncio.to_thread(command.downgrade, alembic_config(settings), "0007_customer_term_path")
        assert await stored() == {
            "ancient": ("999-12-31T01:00:00.000000Z", None),
            "roman": ("2024-01-01T00:00:00.000000Z", "99-07-01T12:00:00.500000Z"),
        }
    finally:
        await asyncio.to_thread(upgrade, settings)
    assert await stored() == padded


async def test_and_or_trees(store: Store) -> None:
    rows = await insert_customers(
        store,
        {
            "c1": customer("a", status="Approved"),
            "c2": customer("b", status="Pending"),
            "c3": customer("c"),
        },
    )
    tree = Or(
        (
            And((criterion("name", "eq", ["a"]), criterion("status", "eq", ["Approved"]))),
            And((criterion("name", "gte", ["c"]), Or(()))),
            criterion("status", "ne", ["Approved", "Pending"]),  # values are ORed: any present status
        )
    )
    query = CustomerQuery(tree, None, (), 0, 10)
    found = await store.read(lambda conn: select_page(conn, query, store.dialect))
    assert found == oracle_page(rows, query) == (["c1", "c2"], 2)
    everything = CustomerQuery(And(()), None, (), 0, 10)
    assert await store.read(lambda conn: select_page(conn, everything, store.dialect)) == (
        ["c1", "c2", "c3"],
        3,
    )


async def test_sort_paging_and_missing_values_last(store: Store) -> None:
    rows = await insert_customers(
        store,
        {
            "c1": customer("b", status="Pending", validFor={"startDateTime": "2024-01-01T00:00:00Z"}),
            "c2": customer("a"),
            "c3": customer("b", status="Approved", validFor={"startDateTime": "2024-01-01T03:00:00+04:00"}),
            "c4": customer("a", status="Approved", engagedParty={**PARTY, "name": "zed"}),
            "c5": customer("c", status="Pending", validFor={"startDateTime": "2024-06-01T00:00:00Z"}),
        },
    )
    assert await ids(store, rows, ("sort", "name")) == ["c2", "c4", "c1", "c3", "c5"]
    assert await ids(store, rows, ("sort", "-name")) == ["c5", "c1", "c3", "c2", "c4"]
    assert await ids(store, rows, ("sort", "status,-name")) == ["c3", "c4", "c5", "c1", "c2"]
    assert await ids(store, rows, ("sort", "-status,name")) == ["c1", "c5", "c4", "c3", "c2"]
    assert await ids(store, rows, ("sort", "validFor.startDateTime")) == ["c3", "c1", "c5", "c2", "c4"]
    assert await ids(store, rows, ("sort", "-validFor.startDateTime,-id")) == ["c5", "c1", "c3", "c4", "c2"]
    assert await ids(store, rows, ("sort", "-engagedParty.name")) == ["c4", "c1", "c2", "c3", "c5"]
    assert await ids(store, rows, ("sort", "name"), ("offset", "1"), ("limit", "2")) == ["c4", "c1"]
    assert await ids(store, rows, ("status", "Pending"), ("sort", "-name"), ("limit", "1")) == ["c5"]
    assert await ids(store, rows, ("offset", "9")) == []


# -- the database does the work with its indexes --------------------------------------------------


class Explain(Executable, ClauseElement):
    """EXPLAIN (QUERY PLAN) of a statement, its parameters bound as usual."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(Explain)
def _compile_explain(element: Explain, compiler: Any, **kw: Any) -> str:
    prefix = "EXPLAIN QUERY PLAN " if compiler.dialect.name == "sqlite" else "EXPLAIN "
    return prefix + compiler.process(element.statement, **kw)


def page_plan(conn: Connection, dialect: str, query: CustomerQuery, *disabled: str) -> str:
    """The plan of a page's statement for `query`; on PostgreSQL with the plan kinds `disabled` (`seqscan`,
    `sort`, ...) turned off for the transaction."""
    statement = select(TABLE.c.id).order_by(*order_by(query.sort, dialect)).limit(query.limit)
    if query.filter is not None:
        statement = statement.where(where_clause(query.filter, dialect))
    if dialect == "postgresql":
        for kind in disabled:
            conn.execute(text(f"SET LOCAL enable_{kind} = off"))
    return "\n".join(str(row[-1]) for row in conn.execute(Explain(statement)))


async def test_indexed_attributes_use_their_index(store: Store) -> None:
    await insert_customers(store, {f"c{n}": customer(f"n{n}", status=f"s{n % 7}") for n in range(200)})

    def plan(conn: Connection, query: CustomerQuery) -> str:
        return page_plan(conn, store.dialect, query, "seqscan")

    cases = [
        (rest(("engagedParty.id", "p1")), "ix_customer_engaged_party_id"),
        (rest(("name", "n1")), "ix_customer_name"),
        (rest(("status", "s1,s2")), "ix_customer_status"),
        (rest(("sort", "name"), limit=10), "ix_customer_name"),
    ]
    if store.dialect == "postgresql":
        cases.append(
            (rest(("validFor.startDateTime.gte", "2024-01-01T00:00:00Z")), "ix_customer_valid_for_start")
        )
        cases.append((rest(("account.id", "acc1")), "ix_customer_doc_gin"))
        cases.append((rest(("engagedParty.name", "Acme")), "ix_customer_doc_gin"))
    for query, index in cases:
        text_plan = await store.read(lambda conn, query=query: plan(conn, query))
        assert index in text_plan, (query, text_plan)


async def test_a_party_page_reads_its_first_rows_from_the_index(store: Store) -> None:
    """The default page of a party's customers (in `seq` order) comes from the index on the party and
    `seq` (migration 0009), not from sorting all the party's customers nor from walking the table."""
    parties = [{**PARTY, "id": f"p{n}"} for n in range(50)]  # 40 customers each
    docs = {f"c{n}": customer(f"n{n}", engagedParty=parties[n % 50]) for n in range(2000)}
    await insert_customers(store, docs)

    # Only ordered scans on PostgreSQL: at 40 rows a party, sorting them is cheaper, as it is not at 10,000.
    query = rest(("engagedParty.id", "p1"), limit=20)
    text_plan = await store.read(lambda conn: page_plan(conn, store.dialect, query, "sort", "bitmapscan"))
    assert "ix_customer_engaged_party_id" in text_plan, text_plan
    assert "Sort" not in text_plan and "TEMP B-TREE" not in text_plan, text_plan
