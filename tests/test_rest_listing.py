"""Listing over HTTP: paging, counts, Link, CORS, URLs behind proxies, query errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from litestar.middleware._internal.cors import CORSMiddleware

from app.settings import Settings
from app.urls import API_PATH, ScopeHeaders, api_base
from rest import wire
from rest.wire import RestQueries, RestQuery
from tests.conftest import LiveServer
from tests.test_rest_customer import MOON, assert_tmf_error, create


def links(response: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("link", ""))}


async def test_paging_headers_and_links(client: httpx.AsyncClient, server: LiveServer) -> None:
    for index in range(7):
        await create(client, {**MOON, "name": f"C{index}", "status": "Approved" if index % 2 else "Pending"})
    complete = await client.get("/customer", params={"status": "Approved"})
    assert complete.status_code == 200 and "link" not in complete.headers
    assert complete.headers["x-total-count"] == complete.headers["x-result-count"] == "3"

    page = await client.get("/customer", params={"offset": 2, "limit": 2, "fields": "name"})
    assert page.status_code == 206
    assert (page.headers["x-total-count"], page.headers["x-result-count"]) == ("7", "2")
    assert [c["name"] for c in page.json()] == ["C2", "C3"]
    rels = links(page)
    assert set(rels) == {"first", "prev", "next", "last"}
    assert rels["next"].startswith(f"{server.api}/customer?")
    assert "fields=name" in rels["next"] and "offset=4" in rels["next"] and "limit=2" in rels["next"]
    assert "offset=0" in rels["prev"] and "offset=6" in rels["last"]
    following = await client.get(rels["next"])
    assert [c["name"] for c in following.json()] == ["C4", "C5"]
    last = await client.get(rels["last"])
    assert [c["name"] for c in last.json()] == ["C6"] and "next" not in links(last)

    beyond = await client.get("/customer", params={"offset": 50, "limit": 5})
    assert beyond.status_code == 206 and beyond.json() == [] and beyond.headers["x-total-count"] == "7"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"nosuchattribute": "1"}, "nosuchattribute"),
        ({"name.like": "x"}, "name.like"),
        ({"validFor.startDateTime.gt": "yesterday"}, "validFor.startDateTime.gt"),
        ({"sort": "nosuch"}, "sort"),
        ({"fields": "nosuch"}, "fields"),
    ],
)
async def test_query_errors_name_the_parameter(
    client: httpx.AsyncClient, params: dict[str, str], named: str
) -> None:
    assert_tmf_error(await client.get("/customer", params=params), 400, named)


async def test_limit_is_capped_to_the_maximum(make_server: Callable[..., LiveServer]) -> None:
    live = make_server(max_limit=3, default_limit=2)
    async with httpx.AsyncClient(base_url=live.api) as http:
        for index in range(5):
            await create(http, {**MOON, "name": f"C{index}"})
        default = await http.get("/customer")
        assert default.status_code == 200 and default.headers["x-result-count"] == "2"
        assert default.headers["x-total-count"] == "5" and "offset=2" in links(default)["next"]
        asked = await http.get("/customer", params={"limit": 2})
        assert asked.status_code == 206 and asked.headers["x-result-count"] == "2"
        from_start = await http.get("/customer", params={"offset": 0})
        assert from_start.status_code == 206 and from_start.headers["x-result-count"] == "2"
        capped = await http.get("/customer", params={"limit": 1000})
        assert capped.headers["x-result-count"] == "3" and "limit=3" in links(capped)["next"]


async def test_cors_exposes_the_paging_headers(client: httpx.AsyncClient) -> None:
    await create(client)
    response = await client.get(
        "/customer", params={"limit": 1}, headers={"origin": "https://portal.example"}
    )
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"x-total-count", "x-result-count", "link", "etag", "location"} <= exposed
    assert response.headers["access-control-allow-origin"] in ("*", "https://portal.example")
    preflight = await client.options(
        "/customer",
        headers={"origin": "https://portal.example", "access-control-request-method": "PATCH"},
    )
    assert preflight.status_code in (200, 204)


async def test_only_requests_with_an_origin_go_through_the_cors_layer(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request without an Origin header (a server, a same-origin page) goes around Litestar's CORS layer,
    which would pass it through untouched; a browser's cross-origin request goes through it."""
    crossed: list[str] = []
    real = CORSMiddleware.__call__

    async def counted(self: CORSMiddleware, scope: Any, receive: Any, send: Any) -> None:
        crossed.append(scope["path"])
        await real(self, scope, receive, send)

    monkeypatch.setattr(CORSMiddleware, "__call__", counted)
    plain = await client.get("/customer")
    assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers
    assert crossed == []
    cross = await client.get("/customer", headers={"origin": "https://portal.example"})
    assert cross.headers["access-control-allow-origin"] in ("*", "https://portal.example")
    assert crossed == ["/tmf-api/customerManagement/v4/customer"]


async def test_public_url_and_forwarded_headers(make_server: Callable[..., LiveServer]) -> None:
    public = make_server(public_url="https://api.example.com/")
    async with httpx.AsyncClient(base_url=public.api) as http:
        response = await http.post("/customer", json=MOON)
        expected = f"https://api.example.com/tmf-api/customerManagement/v4/customer/{response.json()['id']}"
        assert response.json()["href"] == response.headers["location"] == expected
    # the proxy's host must be one the service serves (TMF629_ALLOWED_HOSTS)
    proxied = make_server(trust_forwarded_headers=True, allowed_hosts="127.0.0.1,edge.example")
    async with httpx.AsyncClient(base_url=proxied.api) as http:
        headers = {"x-forwarded-proto": "https", "x-forwarded-host": "edge.example"}
        body = (await http.post("/customer", json=MOON, headers=headers)).json()
        assert body["href"].startswith("https://edge.example/tmf-api/customerManagement/v4/customer/")
        untrusted = (await http.post("/customer", json=MOON)).json()
        assert untrusted["href"].startswith(proxied.url)
        # a GET by id reads the same headers; a blank X-Forwarded-Proto leaves the request's own scheme
        headers = {"x-forwarded-proto": "", "x-forwarded-host": "edge.example"}
        again = (await http.get(f"/customer/{body['id']}", headers=headers)).json()
        assert again["href"] == body["href"].replace("https://", "http://")


def test_scope_headers_answer_the_first_of_repeats() -> None:
    """The handlers' header lookup answers as Litestar's request.headers did: the first of repeats."""
    scope = {"headers": [(b"host", b"a.example"), (b"if-match", b'"1"'), (b"host", b"b.example")]}
    headers = ScopeHeaders(scope)
    assert headers.get("host") == "a.example" and headers.get("if-match") == '"1"'
    assert headers.get("origin") is None and headers.get("origin", "none") == "none"


def test_api_base_follows_the_scope_or_the_public_url() -> None:
    """hrefs start with the request's own scheme and host (http when the server names no scheme), or with
    the configured public URL without its trailing slashes (and only those)."""
    scope = {"scheme": "https", "headers": [(b"host", b"a.example:8443")]}
    assert api_base(Settings(), scope) == f"https://a.example:8443{API_PATH}"
    assert api_base(Settings(), {"headers": [(b"host", b"a.example")]}, "/x") == "http://a.example/x"
    assert api_base(Settings(), {"headers": []}, "/x") == "http://localhost/x"
    public = Settings(public_url="https://api.example/tenantX//")
    assert api_base(public, scope, "/x") == "https://api.example/tenantX/x"


async def test_extreme_paging_and_instants(client: httpx.AsyncClient) -> None:
    await create(client)
    huge = await client.get("/customer", params={"limit": "9" * 30})
    assert huge.status_code == 200 and huge.headers["x-result-count"] == "1"
    assert_tmf_error(await client.get("/customer", params={"offset": "9" * 30}), 400, "offset")
    for instant in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        assert_tmf_error(await client.get("/customer", params={"validFor.startDateTime.gt": instant}), 400)
        body = {**MOON, "validFor": {"startDateTime": instant}}
        assert_tmf_error(await client.post("/customer", json=body), 400, "validFor.startDateTime")


async def test_page_items_are_the_customers_own_answers(client: httpx.AsyncClient) -> None:
    """A page's items are byte for byte what GET /customer/{id} answers for each (on SQLite the database
    writes them for indexed queries, elsewhere they are spliced in Python), with text that needs escaping
    or is not ASCII, whatever the Host the hrefs come from."""
    names = ['Zoë "the" \\ client', "東京 株式会社", "tab\there \u2028 line", "plain"]
    for index, name in enumerate(names):
        medium = {"mediumType": "email", "characteristic": {"emailAddress": f"{index}@example.org"}}
        status = "Approved" if index % 2 else "Pending"
        await create(client, {**MOON, "name": name, "status": status, "contactMedium": [medium]})
    for params in (
        {},  # no filter, indexed order
        {"status": "Pending"},  # an indexed column: the database writes the items on SQLite
        {"status": "Approved", "limit": 1, "offset": 1},
        {"name": names[1]},
        {"contactMedium.mediumType": "email"},  # not indexed: spliced in Python
        {"sort": "-name"},
    ):
        for host in ("localhost", "127.0.0.1:9"):
            page = await client.get("/customer", params=params, headers={"Host": host})
            assert page.status_code in (200, 206), page.text
            items = page.json()
            assert items, params
            bodies = []
            for item in items:
                own = await client.get(f"/customer/{item['id']}", headers={"Host": host})
                assert item == own.json()
                assert item["href"] == f"http://{host}{API_PATH}/customer/{item['id']}"
                bodies.append(own.content)
            assert page.content == b"[" + b",".join(bodies) + b"]", params


async def test_a_query_string_sent_again_answers_the_current_data(client: httpx.AsyncClient) -> None:
    """Each query string is parsed once (rest.wire.RestQueries): what is kept is the parse, never an
    answer; a query string that fails is refused again, and its error does not stick to a valid one."""
    party = {**MOON, "engagedParty": {"id": "again", "@referredType": "Organization"}}
    for _ in range(3):
        await create(client, party)
    params = {"engagedParty.id": "again", "limit": "2"}
    first = await client.get("/customer", params=params)
    assert (first.status_code, first.headers["x-total-count"], len(first.json())) == (206, "3", 2)
    assert "offset=2" in links(first)["last"]
    made = await create(client, party)
    again = await client.get("/customer", params=params)
    assert (again.status_code, again.headers["x-total-count"], len(again.json())) == (206, "4", 2)
    assert "offset=2" in links(again)["last"] and "engagedParty.id=again" in links(again)["next"]
    assert made["id"] in [c["id"] for c in (await client.get(links(again)["next"])).json()]
    unpaged = await client.get("/customer", params={"engagedParty.id": "again"})
    assert (unpaged.status_code, unpaged.headers["x-total-count"]) == (200, "4")
    for _ in range(2):
        assert_tmf_error(await client.get("/customer?engagedParty.id=again&limit=zero"), 400, "limit")
    assert (await client.get("/customer", params=params)).headers["x-total-count"] == "4"


def test_parsed_query_strings_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most MAX_PARSED query strings of at most MAX_PARSED_TEXT bytes are kept; past the count, all
    are forgotten and parsed again when they come back."""
    settings = Settings(default_limit=7, max_limit=9)
    app = SimpleNamespace(state=SimpleNamespace(settings=settings))
    queries = RestQueries()

    def parse(text: str) -> RestQuery:
        return queries(SimpleNamespace(app=app, scope={"query_string": text.encode()}))  # type: ignore[arg-type]

    kept = parse("status=Approved&limit=50&fields=name")
    assert kept.query.limit == 9 and kept.query.fields == (("name",),)
    assert (kept.kept, kept.paged) == ("status=Approved&fields=name", True)
    assert parse("status=Approved&limit=50&fields=name") is kept
    unpaged = parse("status=Approved")
    assert (unpaged.query.limit, unpaged.kept, unpaged.paged) == (7, "status=Approved", False)
    long_name = "n" * (wire.MAX_PARSED_TEXT - len("name="))
    assert parse(f"name={long_name}") is parse(f"name={long_name}")
    longer = f"name={long_name}x"
    assert parse(longer) == parse(longer) and parse(longer) is not parse(longer)
    monkeypatch.setattr(wire, "MAX_PARSED", 3)
    assert parse("status=Approved&limit=50&fields=name") is kept  # three kept: full
    parse("offset=1")  # forgets them all, keeps this one
    assert parse("status=Approved&limit=50&fields=name") is not kept
    assert parse("offset=1") is parse("offset=1")


async def test_link_headers_name_exactly_the_pages_around(
    client: httpx.AsyncClient, server: LiveServer
) -> None:
    """The Link header in full: `first` at 0, `prev` only past the first page, `next` only when a page
    follows, `last` at the start of the last page (0 when nothing matches), the other parameters kept as
    sent, and no stray `&` when there are none."""
    for index in range(5):
        await create(client, {**MOON, "name": f"L{index}", "status": "Linked", "statusReason": "Linked too"})
    collection = f"{server.api}/customer"

    async def link_header(query: str) -> str:
        response = await client.get(f"/customer?{query}")
        assert response.status_code == 206, response.text
        return response.headers["link"]

    def expected(query: str, limit: int, **rels: int) -> str:
        return ", ".join(
            f'<{collection}?{query}offset={at}&limit={limit}>; rel="{rel}"' for rel, at in rels.items()
        )

    assert await link_header("status=Linked&limit=2") == expected(
        "status=Linked&", 2, first=0, next=2, last=4
    )
    assert await link_header("status=Linked&limit=2&offset=1") == expected(
        "status=Linked&", 2, first=0, prev=0, next=3, last=4
    )
    # offset + limit == total: this is the last page, nothing follows.
    assert await link_header("status=Linked&offset=3&limit=2") == expected(
        "status=Linked&", 2, first=0, prev=1, last=4
    )
    assert await link_header("status=Nothing&offset=3&limit=2") == expected(
        "status=Nothing&", 2, first=0, prev=1, last=0
    )
    # statusReason has no indexed column: the general query compiler's path gives the same pages.
    assert await link_header("statusReason=Linked%20too&limit=2&offset=1") == expected(
        "statusReason=Linked+too&", 2, first=0, prev=0, next=3, last=4
    )
    total = int((await client.get("/customer")).headers["x-total-count"])
    assert await link_header(f"limit={total - 1}") == expected(
        "", total - 1, first=0, next=total - 1, last=total - 1
    )
