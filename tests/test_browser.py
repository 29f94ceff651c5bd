"""The OpenAPI UI and GraphiQL work on a network without internet. Opened in headless Chromium that can
resolve no host but 127.0.0.1, each page renders from the assets this server serves (installed by
`npm ci`), and every request it makes goes to 127.0.0.1. GraphiQL runs a query and a subscription and shows
their results; the OpenAPI UI lists the customer operations. Both run on the `server` fixture, so on SQLite
and PostgreSQL: the query and the subscription read and watch the database.

Without the assets the server still starts and both pages say how to install them; with GraphiQL turned off
(TMF629_GRAPHQL_INTROSPECTION=false) neither it nor its assets are served, while queries still run. These need
no browser. The browser tests are skipped only where /usr/bin/chromium is absent (`.ci/run` installs it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from resolvers.graphiql import ASSETS as GRAPHIQL_ASSETS
from rest.docs import ASSETS as SWAGGER_ASSETS
from tests.conftest import LiveServer
from tests.support.chromium import CHROMIUM, Chromium, Page
from tests.test_graphql_subscription import wait_listeners

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)"
)

SWAGGER = "/tmf-api/customerManagement/v4/docs/swagger"
QUERY = "{ customers(first: 5) { totalCount nodes { name } } }"
SUBSCRIPTION = "subscription { customerEvents { eventType customer { name } } }"
HTML = {"accept": "text/html,application/xhtml+xml"}
OPERATIONS = ["listCustomer", "createCustomer", "retrieveCustomer", "patchCustomer", "deleteCustomer"]
RESPONSE = "document.querySelector('.graphiql-response')?.innerText"
EXECUTE = "document.querySelector('.graphiql-execute-button')"


async def create_customer(server: LiveServer, name: str) -> None:
    body = {"name": name, "engagedParty": {"id": "500", "@referredType": "Organization"}}
    async with httpx.AsyncClient(base_url=server.api, timeout=10) as http:
        assert (await http.post("/customer", json=body)).status_code == 201


def assert_only_local(page: Page, server: LiveServer) -> None:
    """The page made requests, and all of them to this server."""
    assert page.requests, "the page made no request at all"
    assert page.hosts() == {"127.0.0.1"}, page.requests
    assert all(f"127.0.0.1:{server.port}" in url for url in page.requests if "://" in url), page.requests


async def run_in_graphiql(browser: Chromium, server: LiveServer, document: str) -> Page:
    """A GraphiQL tab with `document` in its editor (the page reads `?q=`), run with its play button."""
    page = await browser.open(f"{server.url}/graphql?q={quote(document)}")
    await page.wait_for(f"!!{EXECUTE}")
    await page.evaluate(f"{EXECUTE}.click()")
    return page


@needs_chromium
async def test_graphiql_runs_a_query_and_a_subscription_offline(server: LiveServer, tmp_path: Path) -> None:
    await create_customer(server, "Offline Docs Club")
    async with Chromium(tmp_path / "profile") as browser:
        page = await run_in_graphiql(browser, server, QUERY)
        shown = await page.wait_for(f"({RESPONSE} || '').includes('Offline Docs Club') && {RESPONSE}")
        await page.screenshot(tmp_path / "graphiql.png")
        assert '"totalCount": 1' in shown, shown
        assert page.errors == []
        assert_only_local(page, server)

        live = await run_in_graphiql(browser, server, SUBSCRIPTION)
        await wait_listeners(server, 1)
        await create_customer(server, "Live Wire FC")
        shown = await live.wait_for(f"({RESPONSE} || '').includes('Live Wire FC') && {RESPONSE}")
        assert "CustomerCreateEvent" in shown, shown
        assert f"ws://127.0.0.1:{server.port}/graphql" in live.requests
        assert live.errors == []
        assert_only_local(live, server)


@needs_chromium
async def test_openapi_ui_lists_the_customer_operations_offline(server: LiveServer, tmp_path: Path) -> None:
    async with Chromium(tmp_path / "profile") as browser:
        page = await browser.open(f"{server.url}{SWAGGER}")
        title = await page.wait_for("document.querySelector('.swagger-ui .info .title')?.innerText")
        assert "TMF629 Customer Management" in title
        # Swagger UI gives each operation the id `operations-<tag>-<operationId>`.
        listed = await page.wait_for(
            "[...document.querySelectorAll('.opblock')].map(block => block.id).join(' ') || null"
        )
        await page.screenshot(tmp_path / "swagger.png")
        for operation in OPERATIONS:
            assert f"-{operation}" in listed, listed
        assert page.errors == []
        assert_only_local(page, server)


async def test_pages_load_their_assets_from_this_server(server: LiveServer) -> None:
    """What the browser tests rely on, checked without a browser: UTF-8 pages that name only assets served
    here, with a browser content type; unknown names are 404."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        for page_url, assets_url, assets in [
            (SWAGGER, "/tmf-api/customerManagement/v4/docs/assets", SWAGGER_ASSETS),
            ("/graphql", "/graphql/assets", GRAPHIQL_ASSETS),
        ]:
            page = await http.get(page_url, headers=HTML)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert '<meta charset="utf-8"' in page.text
            for name in assets:
                assert f'"{assets_url}/{name}"' in page.text, name
                asset = await http.get(f"{assets_url}/{name}")
                assert asset.status_code == 200, name
                kind = asset.headers["content-type"]
                assert kind.startswith(
                    {"js": "text/javascript", "css": "text/css", "png": "image/png"}[name.rsplit(".", 1)[1]]
                ), (name, kind)
            assert (await http.get(f"{assets_url}/package.json")).status_code == 404
            assert (await http.get(f"{assets_url}/..%2Fpackage.json")).status_code == 404


async def test_without_assets_the_pages_say_how_to_install_them(
    make_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = make_server(ui_assets_dir=tmp_path / "no_node_modules")
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        for url, missing in [(SWAGGER, "swagger-ui-dist/swagger-ui-bundle.js"), ("/graphql", "graphiql/")]:
            page = await http.get(url, headers=HTML)
            assert page.status_code == 200 and '<meta charset="utf-8">' in page.text
            assert "npm ci" in page.text and f"node_modules/{missing}" in page.text, page.text
        assert (await http.get("/graphql/assets/graphiql.js")).status_code == 404
        answer = await http.post("/graphql", json={"query": "{ customers { totalCount } }"})
        assert answer.json() == {"data": {"customers": {"totalCount": 0}}}


async def test_graphiql_off_serves_neither_page_nor_assets(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(graphql_introspection=False)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        assert (await http.get("/graphql", headers=HTML)).status_code == 404
        assert (await http.get("/graphql/assets/graphiql.js")).status_code == 404
        answer = await http.get("/graphql", params={"query": "{ customers { totalCount } }"})
        assert answer.json() == {"data": {"customers": {"totalCount": 0}}}
        assert (await http.get(SWAGGER)).status_code == 200
