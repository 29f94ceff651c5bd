"""PATCH media types, ETags and concurrency, over HTTP against a live server."""

from __future__ import annotations

import asyncio

import httpx

from tests.test_rest_customer import FULL, MOON, assert_tmf_error, create

MERGE = {"content-type": "application/merge-patch+json"}
JSON_PATCH = {"content-type": "application/json-patch+json"}


async def patch(client: httpx.AsyncClient, url: str, body: object, headers: dict[str, str]) -> httpx.Response:
    import orjson

    return await client.patch(url, content=orjson.dumps(body), headers=headers)


async def test_merge_patch_media_types(client: httpx.AsyncClient) -> None:
    created = await create(client, FULL)
    url = f"/customer/{created['id']}"
    for headers in (
        MERGE,
        {"content-type": "application/json"},
        {"content-type": "application/json; charset=utf-8"},
    ):
        response = await patch(client, url, {"engagedParty": {"name": "Sun Corp"}, "x-tier": None}, headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["engagedParty"] == {**FULL["engagedParty"], "name": "Sun Corp"}  # nested objects merge
        assert "x-tier" not in body
    replaced = await patch(client, url, {"characteristic": [{"name": "only", "value": 1}]}, MERGE)
    assert replaced.json()["characteristic"] == [{"name": "only", "value": 1}]  # arrays are replaced


async def test_json_patch_all_operations(client: httpx.AsyncClient) -> None:
    created = await create(client, FULL)
    url = f"/customer/{created['id']}"
    operations = [
        {"op": "test", "path": "/name", "value": "Sun Telecom"},
        {"op": "replace", "path": "/name", "value": "Sun Mobile"},
        {"op": "add", "path": "/characteristic/-", "value": {"name": "churn", "value": "low"}},
        {"op": "remove", "path": "/characteristic/0"},
        {"op": "copy", "from": "/account/0/name", "path": "/statusReason"},
        {"op": "move", "from": "/agreement", "path": "/x-agreements"},
    ]
    response = await patch(client, url, operations, JSON_PATCH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Sun Mobile"
    assert [c["name"] for c in body["characteristic"]] == ["seats", "churn"]
    assert body["statusReason"] == "Main account"
    assert "agreement" not in body and body["x-agreements"] == FULL["agreement"]


async def test_json_patch_is_atomic_and_validated(client: httpx.AsyncClient) -> None:
    created = await create(client, FULL)
    url = f"/customer/{created['id']}"
    before = (await client.get(url)).json()
    failing_test = [
        {"op": "replace", "path": "/name", "value": "X"},
        {"op": "test", "path": "/status", "value": "No"},
    ]
    assert_tmf_error(await patch(client, url, failing_test, JSON_PATCH), 409, "test")
    bad_path = [{"op": "replace", "path": "/name", "value": "X"}, {"op": "remove", "path": "/nothing/here"}]
    assert_tmf_error(await patch(client, url, bad_path, JSON_PATCH), 400)
    invalid_result = [{"op": "remove", "path": "/engagedParty"}]
    assert_tmf_error(await patch(client, url, invalid_result, JSON_PATCH), 400, "engagedParty")
    blank_name = [{"op": "replace", "path": "/name", "value": " "}]
    assert_tmf_error(await patch(client, url, blank_name, JSON_PATCH), 400, "'name'")
    assert_tmf_error(
        await patch(client, url, [{"op": "replace", "path": "/id", "value": "x"}], JSON_PATCH), 400, "id"
    )
    assert_tmf_error(
        await patch(client, url, [{"op": "add", "path": "/href", "value": "x"}], JSON_PATCH), 400, "href"
    )
    assert_tmf_error(await patch(client, url, {"op": "add"}, JSON_PATCH), 400, "array")
    assert_tmf_error(await patch(client, url, [{"op": "jump", "path": "/name"}], JSON_PATCH), 400)
    assert (await client.get(url)).json() == before


async def test_other_media_types_are_415(client: httpx.AsyncClient) -> None:
    created = await create(client)
    url = f"/customer/{created['id']}"
    for media in ("text/plain", "application/xml", "application/json-patch-query+json"):
        assert_tmf_error(await client.patch(url, content=b"{}", headers={"content-type": media}), 415, media)


async def test_etag_workflow(client: httpx.AsyncClient) -> None:
    created = await client.post("/customer", json=MOON)
    etag = created.headers["etag"]
    url = f"/customer/{created.json()['id']}"
    got = await client.get(url)
    assert got.headers["etag"] == etag and etag.startswith('"')
    not_modified = await client.get(url, headers={"if-none-match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag  # RFC 9110: a 304 repeats the ETag a 200 would send
    changed = await patch(client, url, {"name": "Sun"}, {**MERGE, "if-match": etag})
    assert changed.status_code == 200
    new_etag = changed.headers["etag"]
    assert new_etag != etag
    assert (await client.get(url, headers={"if-none-match": etag})).status_code == 200
    stale = await patch(client, url, {"name": "Lost"}, {**MERGE, "if-match": etag})
    assert_tmf_error(stale, 412)
    assert_tmf_error(await client.delete(url, headers={"if-match": etag}), 412)
    assert (await client.get(url)).json()["name"] == "Sun"
    assert (await patch(client, url, {"name": "Star"}, {**MERGE, "if-match": "*"})).status_code == 200
    assert (
        await client.delete(url, headers={"if-match": f'"nope", {(await client.get(url)).headers["etag"]}'})
    ).status_code == 204


async def test_racing_conditional_patches_exactly_one_wins(client: httpx.AsyncClient) -> None:
    created = await client.post("/customer", json=MOON)
    etag = created.headers["etag"]
    url = f"/customer/{created.json()['id']}"
    racers = 20
    responses = await asyncio.gather(
        *(patch(client, url, {"name": f"writer {i}"}, {**MERGE, "if-match": etag}) for i in range(racers))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * (racers - 1), statuses
    winner = next(r for r in responses if r.status_code == 200).json()["name"]
    final = await client.get(url)
    assert final.json()["name"] == winner
    assert final.headers["etag"] != etag


async def test_racing_blind_appends_are_all_applied(client: httpx.AsyncClient) -> None:
    created = await create(client, {**MOON, "characteristic": []})
    url = f"/customer/{created['id']}"
    racers = 24
    responses = await asyncio.gather(
        *(
            patch(
                client,
                url,
                [{"op": "add", "path": "/characteristic/-", "value": {"name": f"c{i}", "value": i}}],
                JSON_PATCH,
            )
            for i in range(racers)
        )
    )
    assert [r.status_code for r in responses] == [200] * racers, [
        r.text for r in responses if r.status_code != 200
    ]
    final = await client.get(url)
    names = sorted(c["name"] for c in final.json()["characteristic"])
    assert names == sorted(f"c{i}" for i in range(racers))
    assert final.headers["etag"] == f'"{racers + 1}"'
