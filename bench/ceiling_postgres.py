"""The PostgreSQL ceiling: bare Litestar and a bare asyncpg pool running the minimal SQL of each scenario.

With PostgreSQL sharing the machine's cores, even this tops out far below the in-memory ceiling, so the
service's PostgreSQL figures are ratios of this one. It works on the service's own tables (migrated by
`tmf629 migrate`, seeded by bench.seed), in the database of TMF629_DATABASE_URL:

- GET /customer/{id}: one `SELECT doc::text` by id, the document spliced into the answer as text;
- GET /customer?engagedParty.id=X&limit=20: a page of 20 on the indexed column, then its count;
- POST /customer: the customer row and its event_outbox row inserted in one transaction.

No validation, no query language, no dependency injection, no middleware. The pool has the size of the
service's hot pool (16); asyncpg prepares and caches each statement per connection. Serve with
`uvicorn bench.ceiling_postgres:app --loop uvloop --http httptools --no-access-log`.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from litestar import Litestar, Request, Response, get, post

from bench.data import API_PATH
from bench.postgres import asyncpg_dsn

POOL_SIZE = 16
_ONE = "SELECT doc::text FROM customer WHERE id = $1"
_PAGE = "SELECT id, doc::text FROM customer WHERE engaged_party_id = $1 ORDER BY seq LIMIT $2 OFFSET $3"
_COUNT = "SELECT count(*) FROM customer WHERE engaged_party_id = $1"
_INSERT = (
    "INSERT INTO customer (id, name, status, engaged_party_id, valid_for_start, valid_for_end, doc, version,"
    " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 1, $8, $8)"
)
_EVENT = (
    "INSERT INTO event_outbox (event_id, event_type, customer_id, body, created_at)"
    " VALUES ($1, $2, $3, $4, $5)"
)
_JSON = "application/json"
pool: asyncpg.Pool | None = None


async def open_pool() -> None:
    global pool
    url = os.environ["TMF629_DATABASE_URL"]
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=POOL_SIZE, max_size=POOL_SIZE)


async def close_pool() -> None:
    if pool is not None:
        await pool.close()


def _head(request: Request[Any, Any, Any], customer_id: str) -> bytes:
    href = f"http://{request.headers.get('host', 'localhost')}{API_PATH}/customer/{customer_id}"
    return orjson.dumps({"id": customer_id, "href": href})[:-1]


@get("/health")
async def health() -> dict[str, str]:
    assert pool is not None
    await pool.fetchval("SELECT 1")
    return {"status": "up"}


@get(f"{API_PATH}/customer/{{customer_id:str}}")
async def retrieve(request: Request[Any, Any, Any], customer_id: str) -> Response[bytes]:
    assert pool is not None
    doc = await pool.fetchval(_ONE, customer_id)
    if doc is None:
        return Response(b'{"status":"404"}', status_code=404, media_type=_JSON)
    return Response(_head(request, customer_id) + b"," + doc[1:].encode(), media_type=_JSON)


@get(f"{API_PATH}/customer")
async def page(request: Request[Any, Any, Any]) -> Response[bytes]:
    assert pool is not None
    party = request.query_params["engagedParty.id"]
    limit = int(request.query_params.get("limit", "20"))
    offset = int(request.query_params.get("offset", "0"))
    async with pool.acquire() as connection:
        rows = await connection.fetch(_PAGE, party, limit, offset)
        total = await connection.fetchval(_COUNT, party)
    items = b",".join(_head(request, row[0]) + b"," + row[1][1:].encode() for row in rows)
    status = 206 if offset + len(rows) < total else 200
    return Response(
        b"[" + items + b"]", status_code=status, media_type=_JSON, headers={"X-Total-Count": str(total)}
    )


@post(f"{API_PATH}/customer")
async def create(request: Request[Any, Any, Any]) -> Response[bytes]:
    assert pool is not None
    body: dict[str, Any] = orjson.loads(await request.body())
    customer_id, now = str(uuid.uuid4()), datetime.now(UTC)
    doc = orjson.dumps(body)
    valid_for = body.get("validFor") or {}
    answer = _head(request, customer_id) + b"," + doc[1:]
    event = {
        "eventId": str(uuid.uuid4()),
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "eventType": "CustomerCreateEvent",
        "event": {"customer": orjson.Fragment(answer)},
    }
    async with pool.acquire() as connection, connection.transaction():
        row = (body["name"], body.get("status"), body["engagedParty"]["id"])
        dates = (valid_for.get("startDateTime"), valid_for.get("endDateTime"))
        await connection.execute(_INSERT, customer_id, *row, *dates, doc.decode(), now)
        await connection.execute(
            _EVENT, event["eventId"], event["eventType"], customer_id, orjson.dumps(event).decode(), now
        )
    return Response(answer, status_code=201, media_type=_JSON)


app = Litestar(
    route_handlers=[health, retrieve, page, create],
    on_startup=[open_pool],
    on_shutdown=[close_pool],
    logging_config=None,
    debug=False,
)
