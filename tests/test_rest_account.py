"""TMF666 Account Management over REST, on both databases: the seven resources through the generic
machinery (app.resources, rest.resource), with the customer's rules, the links to customers, and the hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.domain.tmf666 import ACCOUNT_MANAGEMENT
from app.store.base import Store
from app.store.tables import AccountParty, CustomerAccount
from tests.conftest import LiveServer
from tests.support.listener import Listener
from tests.test_rest_customer import assert_tmf_error

PATH = ACCOUNT_MANAGEMENT.path
MERGE = {"content-type": "application/merge-patch+json"}
JSON_PATCH = {"content-type": "application/json-patch+json"}
PARTY_LINKS = AccountParty.__table__.c  # type: ignore[attr-defined]
CUSTOMER_LINKS = CustomerAccount.__table__.c  # type: ignore[attr-defined]


def billing(name: str, party: str = "c1", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "relatedParty": [{"id": party, "name": "Jane", "@referredType": "Customer"}],
        **extra,
    }


def balance(value: float) -> list[dict[str, Any]]:
    return [
        {
            "balanceType": "receivable",
            "amount": {"value": value, "unit": "EUR"},
            "validFor": {"startDateTime": "2024-01-01T00:00:00Z"},
        }
    ]


@pytest.fixture
async def accounts(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url + PATH, timeout=30) as http:
        yield http


async def create(api: httpx.AsyncClient, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(f"/{kind}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_every_resource_has_the_five_operations(accounts: httpx.AsyncClient) -> None:
    for registration in ACCOUNT_MANAGEMENT.resources:
        kind = registration.name
        body = billing(f"a {kind}") if registration.type.links else {"name": f"a {kind}"}
        created = await create(accounts, kind, body)
        assert created["@type"] == registration.title
        assert created["href"].endswith(f"{PATH}/{kind}/{created['id']}")
        got = await accounts.get(f"/{kind}/{created['id']}")
        assert got.status_code == 200 and got.json() == created
        listed = await accounts.get(f"/{kind}")
        assert [a["id"] for a in listed.json()] == [created["id"]]
        patched = await accounts.patch(f"/{kind}/{created['id']}", json={"description": "d"}, headers=MERGE)
        assert patched.status_code == 200 and patched.json()["description"] == "d"
        assert (await accounts.delete(f"/{kind}/{created['id']}")).status_code == 204
        assert_tmf_error(await accounts.get(f"/{kind}/{created['id']}"), 404)


async def test_a_resource_is_found_only_under_its_own_kind(accounts: httpx.AsyncClient) -> None:
    created = await create(accounts, "billingAccount", billing("B"))
    assert_tmf_error(await accounts.get(f"/partyAccount/{created['id']}"), 404)
    assert (await accounts.get("/partyAccount")).json() == []


async def test_required_members_and_types_are_named(accounts: httpx.AsyncClient) -> None:
    cases = [
        ({"name": "B"}, "'relatedParty' is mandatory"),
        ({"name": "B", "relatedParty": []}, "'relatedParty' must hold at least 1 item"),
        (
            {"name": "B", "relatedParty": [{"id": "1", "@referredType": "Customer"}]},
            "'relatedParty[0].name' is mandatory",
        ),
        (billing("B", creditLimit={"value": "5"}), "'creditLimit.value' must be a number"),
        (billing("B", accountBalance=[{"balanceType": "x"}]), "'accountBalance[0].amount' is mandatory"),
        ({**billing("B"), "id": "mine"}, "'id' is set by the server"),
        (billing("   "), "'name' is mandatory"),
    ]
    for body, message in cases:
        assert message in assert_tmf_error(await accounts.post("/billingAccount", json=body), 400)["message"]


async def test_type_defaults_members_are_kept_and_last_modified_is_the_servers(
    accounts: httpx.AsyncClient,
) -> None:
    sent = billing("B", lastModified="2001-01-01T00:00:00Z", customMember={"kept": True})
    created = await create(accounts, "billingAccount", sent)
    assert created["@type"] == "BillingAccount" and created["customMember"] == {"kept": True}
    assert created["lastModified"] != "2001-01-01T00:00:00Z"
    typed = await create(accounts, "billingAccount", billing("C", **{"@type": "CorporateBillingAccount"}))
    assert typed["@type"] == "CorporateBillingAccount"
    patched = await accounts.patch(
        f"/billingAccount/{created['id']}", json={"state": "active"}, headers=MERGE
    )
    assert patched.json()["lastModified"] > created["lastModified"]
    # a patch that changes nothing is no write: same version, same lastModified
    again = await accounts.patch(f"/billingAccount/{created['id']}", json={"state": "active"}, headers=MERGE)
    assert again.headers["etag"] == patched.headers["etag"]
    assert again.json()["lastModified"] == patched.json()["lastModified"]


async def test_query_language_dotted_paths_numbers_fields_sort_and_paging(
    accounts: httpx.AsyncClient,
) -> None:
    rich = await create(
        accounts,
        "billingAccount",
        billing(
            "Rich",
            "c1",
            paymentStatus="paid",
            creditLimit={"value": 500, "unit": "EUR"},
            accountBalance=balance(10.5),
        ),
    )
    poor = await create(
        accounts,
        "billingAccount",
        billing(
            "Poor",
            "c2",
            paymentStatus="inArrears",
            creditLimit={"value": 50.25, "unit": "EUR"},
            accountBalance=balance(-80),
        ),
    )

    async def ids(**params: str) -> list[str]:
        response = await accounts.get("/billingAccount", params=params)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()]

    assert await ids(paymentStatus="inArrears") == [poor["id"]]
    assert await ids(**{"relatedParty.id": "c1"}) == [rich["id"]]
    assert await ids(**{"relatedParty.@referredType": "Customer", "sort": "-name"}) == [
        rich["id"],
        poor["id"],
    ]
    assert await ids(**{"creditLimit.value.gt": "100"}) == [rich["id"]]
    assert await ids(**{"creditLimit.value.lte": "50.25"}) == [poor["id"]]
    assert await ids(**{"accountBalance.amount.value.lt": "0"}) == [poor["id"]]
    assert await ids(**{"creditLimit.unit": "EUR", "sort": "creditLimit.value"}) == [poor["id"], rich["id"]]
    assert await ids(**{"lastModified.gte": "2000-01-01T00:00:00Z", "sort": "name"}) == [
        poor["id"],
        rich["id"],
    ]
    projected = (
        await accounts.get("/billingAccount", params={"fields": "creditLimit.value", "name": "Rich"})
    ).json()
    assert projected == [
        {"id": rich["id"], "href": rich["href"], "@type": "BillingAccount", "creditLimit": {"value": 500}}
    ]
    page = await accounts.get("/billingAccount", params={"limit": "1", "sort": "name"})
    assert page.status_code == 206 and [a["name"] for a in page.json()] == ["Poor"]
    assert page.headers["x-total-count"] == "2" and page.headers["x-result-count"] == "1"
    assert 'rel="next"' in page.headers["link"] and f"{PATH}/billingAccount?" in page.headers["link"]
    # The same queries after writes: their SQL is kept (app.resources), never their answers or counts.
    patched = await accounts.patch(
        f"/billingAccount/{rich['id']}", json={"paymentStatus": "inArrears"}, headers=MERGE
    )
    assert patched.status_code == 200, patched.text
    assert await ids(paymentStatus="inArrears") == [rich["id"], poor["id"]]
    await create(accounts, "billingAccount", billing("Middle", "c3"))
    page = await accounts.get("/billingAccount", params={"limit": "1", "sort": "name"})
    assert [a["name"] for a in page.json()] == ["Middle"] and page.headers["x-total-count"] == "3"
    for params, field in [
        ({"unknown": "1"}, "unknown"),
        ({"creditLimit.value": "lots"}, "creditLimit.value"),
        ({"paymentStatus.regex": "x"}, "paymentStatus.regex"),
        ({"sort": "relatedParty.id"}, "sort"),
        ({"limit": "0"}, "limit"),
    ]:
        assert field in assert_tmf_error(await accounts.get("/billingAccount", params=params), 400)["message"]


async def test_patch_formats_and_etags(accounts: httpx.AsyncClient) -> None:
    created = await create(accounts, "financialAccount", {"name": "F", "state": "new"})
    path = f"/financialAccount/{created['id']}"
    response = await accounts.get(path)
    etag = response.headers["etag"]
    assert (await accounts.get(path, headers={"if-none-match": etag})).status_code == 304
    operations = [
        {"op": "replace", "path": "/state", "value": "active"},
        {"op": "add", "path": "/accountType", "value": "x"},
    ]
    patched = await accounts.patch(path, json=operations, headers={**JSON_PATCH, "if-match": etag})
    assert patched.status_code == 200 and patched.json()["state"] == "active"
    assert_tmf_error(
        await accounts.patch(path, json={"state": "closed"}, headers={**MERGE, "if-match": etag}), 412
    )
    failing = [
        {"op": "replace", "path": "/state", "value": "closed"},
        {"op": "test", "path": "/state", "value": "no"},
    ]
    assert_tmf_error(await accounts.patch(path, json=failing, headers=JSON_PATCH), 409)
    assert (await accounts.get(path)).json()["state"] == "active"
    assert (
        "'name'"
        in assert_tmf_error(await accounts.patch(path, json={"name": None}, headers=MERGE), 400)["message"]
    )
    assert_tmf_error(await accounts.patch(path, json={"id": "x"}, headers=MERGE), 400)
    assert_tmf_error(await accounts.patch(path, json={}, headers={"content-type": "text/plain"}), 415)
    assert_tmf_error(await accounts.delete(path, headers={"if-match": etag}), 412)
    assert (await accounts.delete(path, headers={"if-match": patched.headers["etag"]})).status_code == 204


async def test_links_are_kept_for_both_directions(
    accounts: httpx.AsyncClient, server: LiveServer, store: Store
) -> None:
    account = await create(accounts, "billingAccount", billing("B", "cust-1"))
    await accounts.patch(
        f"/billingAccount/{account['id']}",
        json={
            "relatedParty": [
                {"id": "cust-2", "name": "J", "@referredType": "Customer"},
                {"id": "o", "name": "O", "@referredType": "Organization"},
            ]
        },
        headers=MERGE,
    )
    async with httpx.AsyncClient(base_url=server.api, timeout=30) as customers:
        customer = (
            await customers.post(
                "/customer",
                json={
                    "name": "C",
                    "engagedParty": {"id": "p", "@referredType": "Individual"},
                    "account": [{"id": account["id"], "name": "B"}, {"id": "not-stored", "name": "N"}],
                },
            )
        ).json()

        def links(conn: Any) -> tuple[Any, Any]:
            parties = conn.execute(
                select(PARTY_LINKS.party_id, PARTY_LINKS.party_type).order_by(PARTY_LINKS.seq)
            ).all()
            customer_links = conn.execute(
                select(CUSTOMER_LINKS.customer_id, CUSTOMER_LINKS.account_id).order_by(CUSTOMER_LINKS.seq)
            ).all()
            return [tuple(p) for p in parties], [tuple(c) for c in customer_links]

        parties, customer_links = await store.read(links)
        assert parties == [("cust-2", "Customer"), ("o", "Organization")]
        assert customer_links == [(customer["id"], account["id"]), (customer["id"], "not-stored")]
        await customers.patch(
            f"/customer/{customer['id']}", json={"account": [{"id": "other", "name": "O"}]}, headers=MERGE
        )
        assert (await store.read(links))[1] == [(customer["id"], "other")]
        assert (await customers.delete(f"/customer/{customer['id']}")).status_code == 204
    await accounts.delete(f"/billingAccount/{account['id']}")
    assert await store.read(links) == ([], [])


# -- the hub ----------------------------------------------------------------------------------------


async def test_the_hub_delivers_the_event_types_the_swagger_names(
    hub: LiveServer, listener: Listener
) -> None:
    async with (
        httpx.AsyncClient(base_url=hub.url + PATH, timeout=10) as api,
        httpx.AsyncClient(base_url=hub.api, timeout=10) as customers,
    ):
        everything = (await api.post("/hub", json={"callback": listener.callback("/all")})).json()
        active = await api.post(
            "/hub",
            json={
                "callback": listener.callback("/active"),
                "query": "eventType=FinancialAccountStateChangeEvent,FinancialAccountDeleteEvent"
                "&state=active",
            },
        )
        assert active.status_code == 201, active.text
        assert (await api.get(f"/hub/{everything['id']}")).json() == everything
        assert_tmf_error(await customers.get(f"/hub/{everything['id']}"), 404)  # another API's hub
        assert_tmf_error(
            await api.post(
                "/hub", json={"callback": listener.callback(), "query": "eventType=CustomerCreateEvent"}
            ),
            400,
        )
        assert_tmf_error(
            await api.post("/hub", json={"callback": listener.callback(), "query": "nope=1"}), 400
        )

        bill = await create(api, "billingAccount", billing("B"))  # no BillingAccountCreateEvent in TMF666
        await api.patch(f"/billingAccount/{bill['id']}", json={"state": "active"}, headers=MERGE)
        fin = await create(api, "financialAccount", {"name": "F"})
        await api.patch(f"/financialAccount/{fin['id']}", json={"state": "active"}, headers=MERGE)
        await api.delete(f"/financialAccount/{fin['id']}")
        await customers.post(
            "/customer", json={"name": "C", "engagedParty": {"id": "p", "@referredType": "Individual"}}
        )
        events = await listener.wait_for(6, "/all")
        assert [e["eventType"] for e in events] == [
            "BillingAccountAttributeValueChangeEvent",
            "BillingAccountStateChangeEvent",
            "FinancialAccountCreateEvent",
            "FinancialAccountAttributeValueChangeEvent",
            "FinancialAccountStateChangeEvent",
            "FinancialAccountDeleteEvent",
        ]
        assert events[0]["fieldPath"] == "state"
        assert events[1]["payload"]["billingAccount"]["id"] == bill["id"]
        filtered = await listener.wait_for(2, "/active")
        assert [e["eventType"] for e in filtered] == [
            "FinancialAccountStateChangeEvent",
            "FinancialAccountDeleteEvent",
        ]
        listened = await api.post("/listener/financialAccountCreateEvent", json=events[2])
        assert listened.status_code == 201
        assert (await api.delete(f"/hub/{everything['id']}")).status_code == 204


async def test_members_the_swaggers_update_leaves_out_cannot_be_patched(accounts: httpx.AsyncClient) -> None:
    bill = await create(accounts, "billingAccount", billing("B", accountBalance=balance(1)))
    path = f"/billingAccount/{bill['id']}"
    refused = await accounts.patch(path, json={"accountBalance": balance(2)}, headers=MERGE)
    assert "'accountBalance' cannot be changed" in assert_tmf_error(refused, 400)["message"]
    operations = [{"op": "replace", "path": "/accountBalance/0/balanceType", "value": "x"}]
    assert_tmf_error(await accounts.patch(path, json=operations, headers=JSON_PATCH), 400)
    fin = await create(accounts, "financialAccount", {"name": "F"})
    stamped = await accounts.patch(
        f"/financialAccount/{fin['id']}", json={"lastModified": "2001-01-01T00:00:00Z"}, headers=MERGE
    )
    assert "'lastModified'" in assert_tmf_error(stamped, 400)["message"]
    invalid = await accounts.post("/partyAccount", json=billing("P", lastModified={}))
    assert "'lastModified'" in assert_tmf_error(invalid, 400)["message"]
    assert (await accounts.get(path)).json()["accountBalance"] == bill["accountBalance"]
