"""REST over HTTP against a live server: the TMF629 v4 customer resource and its error bodies."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import orjson

from tests.conftest import LiveServer

MOON = {"name": "Moon Football Club", "engagedParty": {"id": "500", "@referredType": "Organization"}}

FULL = {
    "name": "Sun Telecom",
    "status": "Approved",
    "statusReason": "Checked",
    "account": [
        {"id": "A1", "name": "Main account", "description": "billing", "@referredType": "BillingAccount"}
    ],
    "agreement": [{"id": "AG1", "name": "Framework"}],
    "characteristic": [
        {"name": "segment", "value": "gold", "valueType": "string"},
        {"name": "seats", "value": 12},
    ],
    "contactMedium": [
        {
            "mediumType": "email",
            "preferred": True,
            "characteristic": {"emailAddress": "ops@sun.example", "contactType": "work"},
            "validFor": {"startDateTime": "2024-01-01T00:00:00Z"},
        }
    ],
    "creditProfile": [
        {
            "creditProfileDate": "2024-02-01T10:00:00+02:00",
            "creditRiskRating": 3,
            "creditScore": 710,
            "validFor": {"startDateTime": "2024-02-01T00:00:00Z", "endDateTime": "2025-02-01T00:00:00Z"},
        }
    ],
    "engagedParty": {"id": "ORG-1", "name": "Sun", "@referredType": "Organization"},
    "paymentMethod": [{"id": "PM1", "name": "card", "@referredType": "BankCard"}],
    "relatedParty": [{"id": "IND-9", "role": "accountManager", "@referredType": "Individual"}],
    "validFor": {"startDateTime": "2024-01-01T00:00:00Z", "endDateTime": "2030-01-01T00:00:00+01:00"},
    "@baseType": "PartyRole",
    "@schemaLocation": "https://schemas.example/customer.json",
    "x-tier": {"level": 2},
}


def assert_tmf_error(response: httpx.Response, status: int, mentions: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["@type"] == "Error"
    assert body["code"] and body["reason"]
    assert body["status"] == str(status)
    if mentions is not None:
        assert mentions in body["message"], body["message"]
    return body


async def create(client: httpx.AsyncClient, body: dict[str, Any] = MOON) -> dict[str, Any]:
    response = await client.post("/customer", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_returns_201_location_href_and_defaults(
    client: httpx.AsyncClient, server: LiveServer
) -> None:
    response = await client.post("/customer", json=MOON)
    assert response.status_code == 201
    body = response.json()
    assert body["href"] == f"{server.api}/customer/{body['id']}"
    assert response.headers["location"] == body["href"]
    assert body["@type"] == "Customer"
    assert body["name"] == MOON["name"] and body["engagedParty"] == MOON["engagedParty"]
    assert "status" not in body and "account" not in body


async def test_every_attribute_round_trips_unchanged(client: httpx.AsyncClient) -> None:
    created = await create(client, FULL)
    fetched = (await client.get(f"/customer/{created['id']}")).json()
    for body in (created, fetched):
        assert {k: v for k, v in body.items() if k not in ("id", "href", "@type")} == FULL
        assert body["@type"] == "Customer"


async def test_retrieve_unknown_is_404_with_tmf_error(client: httpx.AsyncClient) -> None:
    assert_tmf_error(await client.get("/customer/c2df1950-c17c-4576-9c22-e59073a4a86a"), 404, "c2df1950")


async def test_delete_then_gone(client: httpx.AsyncClient) -> None:
    created = await create(client)
    assert (await client.delete(f"/customer/{created['id']}")).status_code == 204
    assert_tmf_error(await client.get(f"/customer/{created['id']}"), 404)
    assert_tmf_error(await client.delete(f"/customer/{created['id']}"), 404)


async def test_validation_names_the_attribute(client: httpx.AsyncClient) -> None:
    cases = [
        ({"engagedParty": MOON["engagedParty"]}, "name"),
        ({**MOON, "name": "   "}, "name"),
        ({"name": "x"}, "engagedParty"),
        ({"name": "x", "engagedParty": {"id": "1"}}, "engagedParty.@referredType"),
        ({**MOON, "account": [{"id": "A"}]}, "account[0].name"),
        ({**MOON, "agreement": [{"name": "n"}]}, "agreement[0].id"),
        ({**MOON, "paymentMethod": [{}]}, "paymentMethod[0].id"),
        ({**MOON, "characteristic": [{"name": "n"}]}, "characteristic[0].value"),
        ({**MOON, "contactMedium": [{"mediumType": "email"}]}, "contactMedium[0].characteristic"),
        (
            {**MOON, "creditProfile": [{"creditProfileDate": "2024-01-01T00:00:00Z"}]},
            "creditProfile[0].validFor",
        ),
        ({**MOON, "relatedParty": [{"id": "1"}]}, "relatedParty[0].@referredType"),
        ({**MOON, "validFor": {"startDateTime": "2024-01-01"}}, "validFor.startDateTime"),
        ({**MOON, "validFor": {"startDateTime": "2024-02-30T00:00:00Z"}}, "validFor.startDateTime"),
        (
            {
                **MOON,
                "creditProfile": [
                    {"creditProfileDate": "2024-01-01T00:00:00Z", "validFor": {}, "creditScore": "x"}
                ],
            },
            "creditProfile[0].creditScore",
        ),
        ({**MOON, "account": {"name": "not an array"}}, "account"),
        ({**MOON, "name": 5}, "name"),
        ({**MOON, "id": "mine"}, "id"),
        ({**MOON, "href": "http://x"}, "href"),
    ]
    for body, attribute in cases:
        assert_tmf_error(await client.post("/customer", json=body), 400, f"'{attribute}'")
    listed = await client.get("/customer")
    assert listed.json() == [], "a refused customer must not be stored"


async def test_malformed_json_and_non_object_bodies(client: httpx.AsyncClient) -> None:
    headers = {"content-type": "application/json"}
    assert_tmf_error(await client.post("/customer", content=b'{"name": ', headers=headers), 400, "JSON")
    assert_tmf_error(await client.post("/customer", content=b"[1, 2]", headers=headers), 400, "object")
    for blank in (b"", b" \r\n\t"):
        refused = assert_tmf_error(await client.post("/customer", content=blank, headers=headers), 400)
        assert refused["message"] == "The request body is empty; a JSON document is expected"
    invalid = assert_tmf_error(await client.post("/customer", content=b"{,}", headers=headers), 400)
    assert invalid["message"].startswith("The request body is not valid JSON: ")


async def test_unknown_route_and_wrong_method(client: httpx.AsyncClient, server: LiveServer) -> None:
    assert_tmf_error(await client.get("/nothing-here"), 404)
    assert_tmf_error(await client.put("/customer/abc", json=MOON), 405, "PUT")
    assert_tmf_error(await client.delete("/customer"), 405)


async def test_body_over_limit_is_413(client: httpx.AsyncClient, server: LiveServer) -> None:
    limit = server.settings.max_body_bytes
    big = {**MOON, "statusReason": "x" * (limit + 10)}
    assert_tmf_error(await client.post("/customer", json=big), 413)


async def send_parts(writer: asyncio.StreamWriter, parts: list[bytes], pause: float = 0.2) -> None:
    """Each part in its own TCP segment after a pause, so the server reads a body in several messages."""
    for part in parts:
        writer.write(part)
        await writer.drain()
        await asyncio.sleep(pause)


async def raw_exchange(server: LiveServer, parts: list[bytes]) -> tuple[int, bytes]:
    """Send a request over a socket in parts (`send_parts`); the status and body of the answer, read until
    the end of it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        await send_parts(writer, parts)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
        return int(head.split()[1]), await asyncio.wait_for(reader.readexactly(length), 10)
    finally:
        writer.close()


def post_head(server: LiveServer, extra: str) -> bytes:
    path = server.api.split(f":{server.port}", 1)[1]
    return (
        f"POST {path}/customer HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: application/json\r\n{extra}\r\n"
    ).encode()


async def test_a_body_read_in_parts(client: httpx.AsyncClient, server: LiveServer) -> None:
    body = orjson.dumps(MOON)
    status, answer = await raw_exchange(
        server, [post_head(server, f"Content-Length: {len(body)}\r\n"), body[:10], body[10:20], body[20:]]
    )
    assert status == 201
    created = orjson.loads(answer)
    assert (await client.get(f"/customer/{created['id']}")).json() == created
    assert created["name"] == MOON["name"]


async def test_a_request_whose_client_leaves_before_the_end_of_its_body_writes_nothing(
    client: httpx.AsyncClient, server: LiveServer
) -> None:
    """Complete JSON, but less than the Content-Length announced: the client went away mid-body."""
    body = orjson.dumps(MOON)
    _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    await send_parts(writer, [post_head(server, f"Content-Length: {len(body) + 5}\r\n"), body])
    writer.close()
    await asyncio.sleep(0.5)
    assert (await client.get("/customer")).json() == []
    status, _ = await raw_exchange(server, [post_head(server, f"Content-Length: {len(body)}\r\n"), body])
    assert status == 201 and len((await client.get("/customer")).json()) == 1


async def test_a_body_over_the_limit_is_refused_before_it_is_all_sent(make_server: Any) -> None:
    """Announced over the limit: 413 once the first part is read. Not announced (chunked): 413 once what
    came is over it. A body in one message over it: 413 too."""
    server = make_server(max_body_bytes=100)
    body = orjson.dumps({**MOON, "statusReason": "x" * 200})
    announced = post_head(server, f"Content-Length: {len(body)}\r\n")
    status, answer = await raw_exchange(server, [announced, body[:50]])
    assert status == 413 and orjson.loads(answer)["status"] == "413"
    chunked = post_head(server, "Transfer-Encoding: chunked\r\n")
    pieces = [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in (body[:60], body[60:120])]
    status, answer = await raw_exchange(server, [chunked, *pieces])
    assert status == 413 and orjson.loads(answer)["status"] == "413"
    status, _ = await raw_exchange(server, [announced + body])
    assert status == 413

    def sized(size: int) -> bytes:
        shortest = orjson.dumps({"name": "", "engagedParty": MOON["engagedParty"]})
        return orjson.dumps({"name": "n" * (size - len(shortest)), "engagedParty": MOON["engagedParty"]})

    at_limit, over = sized(100), sized(101)
    assert (len(at_limit), len(over)) == (100, 101)
    status, _ = await raw_exchange(server, [chunked, b"64\r\n%s\r\n" % at_limit, b"0\r\n\r\n"])
    assert status == 201
    status, _ = await raw_exchange(server, [chunked, b"65\r\n%s\r\n" % over, b"0\r\n\r\n"])
    assert status == 413
    status, _ = await raw_exchange(server, [post_head(server, "Content-Length: 100\r\n") + at_limit])
    assert status == 201
    status, _ = await raw_exchange(
        server, [post_head(server, "Content-Length: 100\r\n"), at_limit[:50], at_limit[50:]]
    )
    assert status == 201


async def test_merge_patch_and_result_validation(client: httpx.AsyncClient) -> None:
    created = await create(client, FULL)
    url = f"/customer/{created['id']}"
    response = await client.patch(url, json={"name": "Sun Football Club", "statusReason": None})
    assert response.status_code == 200
    patched = response.json()
    assert patched["name"] == "Sun Football Club" and "statusReason" not in patched
    assert patched["account"] == FULL["account"]
    removal = await client.patch(url, json={"engagedParty": None})
    assert_tmf_error(removal, 400, "engagedParty")
    assert (await client.get(url)).json() == patched
    assert_tmf_error(await client.patch(url, json={"id": "other"}), 400, "'id'")
    assert_tmf_error(await client.patch("/customer/unknown", json={"name": "x"}), 404)


async def test_fields_on_one_and_many(client: httpx.AsyncClient) -> None:
    created = await create(client, FULL)
    one = (await client.get(f"/customer/{created['id']}", params={"fields": "name"})).json()
    assert set(one) == {"id", "href", "@type", "name"}
    many = (await client.get("/customer", params={"fields": "name"})).json()
    assert many == [one]


async def test_list_counts_and_equality_filter(client: httpx.AsyncClient) -> None:
    for index in range(3):
        await create(client, {**MOON, "name": f"C{index}", "status": "Approved" if index else "Pending"})
    response = await client.get("/customer", params={"status": "Approved"})
    assert response.status_code == 200
    assert response.headers["x-total-count"] == "2" and response.headers["x-result-count"] == "2"
    assert [c["name"] for c in response.json()] == ["C1", "C2"]
    page = await client.get("/customer", params={"limit": 1, "offset": 1})
    assert page.status_code == 206
    assert page.headers["x-total-count"] == "3" and page.headers["x-result-count"] == "1"
    assert [c["name"] for c in page.json()] == ["C1"]


async def test_health_and_openapi(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        health = await http.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        schema = (await http.get("/tmf-api/customerManagement/v4/docs/openapi.json")).json()
        operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
        assert {
            "listCustomer",
            "retrieveCustomer",
            "createCustomer",
            "patchCustomer",
            "deleteCustomer",
        } <= operations
        assert (await http.get("/tmf-api/customerManagement/v4/docs/swagger")).status_code == 200


async def test_nul_characters_are_refused_or_unknown_on_every_database(client: httpx.AsyncClient) -> None:
    body = {**MOON, "name": "a\u0000b"}
    assert_tmf_error(await client.post("/customer", json=body), 400, "'name'")
    extension = {**MOON, "x-note": {"k\u0000": "v"}}
    assert_tmf_error(await client.post("/customer", json=extension), 400, "x-note.k")
    created = await create(client)
    patched = await client.patch(f"/customer/{created['id']}", json={"statusReason": "\u0000"})
    assert_tmf_error(patched, 400, "statusReason")
    assert_tmf_error(await client.get("/customer/a%00b"), 404)
    assert_tmf_error(await client.patch("/customer/a%00b", json={"name": "x"}), 404)
    assert_tmf_error(await client.delete("/customer/a%00b"), 404)
    for params in ({"name": "a\u0000b"}, {"account.id": "\u0000"}, {"validFor.startDateTime": "\u0000"}):
        assert_tmf_error(await client.get("/customer", params=params), 400, "NUL")
    assert_tmf_error(await client.post("/hub", json={"callback": "http://listener.example/\u0000"}), 400)
    assert_tmf_error(await client.get("/hub/a%00b"), 404)
    assert_tmf_error(await client.delete("/hub/a%00b"), 404)
