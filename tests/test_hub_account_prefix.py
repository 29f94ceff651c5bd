"""The TMF666 account hub, end to end on both databases: a subscription whose criteria name a resource
from the payload root (`payload.billingAccount.state=active`) receives that resource's events only, while
an unprefixed one (`state=active`) still receives every account kind's; contradictory queries are 400s."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from app.store.base import Store
from app.store.tables import EventSubscription
from tests.conftest import LiveServer
from tests.support.listener import Listener
from tests.test_rest_account import MERGE, PATH, billing, create
from tests.test_rest_customer import assert_tmf_error

BILLING_CHANGE, BILLING_STATE = "BillingAccountAttributeValueChangeEvent", "BillingAccountStateChangeEvent"
SUBSCRIPTIONS = EventSubscription.__table__  # type: ignore[attr-defined]
PARTY_CHANGE, PARTY_STATE = "PartyAccountAttributeValueChangeEvent", "PartyAccountStateChangeEvent"


async def test_a_billing_account_prefixed_subscription_receives_billing_account_events_only(
    hub: LiveServer, listener: Listener
) -> None:
    async with httpx.AsyncClient(base_url=hub.url + PATH, timeout=10) as api:
        queries = {
            "/billing": "payload.billingAccount.state=active",
            "/typed": f"eventType={PARTY_STATE},{BILLING_STATE}&payload.billingAccount.state=active",
            "/any": "state=active",
        }
        for path, query in queries.items():
            made = await api.post("/hub", json={"callback": listener.callback(path), "query": query})
            assert made.status_code == 201, made.text
            assert made.json()["query"] == query

        # The party account's events come first: were they let through, a subscriber's queue (delivered
        # in order) would show them before the billing account's.
        party = await create(api, "partyAccount", billing("P"))
        patched = await api.patch(f"/partyAccount/{party['id']}", json={"state": "active"}, headers=MERGE)
        assert patched.status_code == 200, patched.text
        bill = await create(api, "billingAccount", billing("B"))
        patched = await api.patch(f"/billingAccount/{bill['id']}", json={"state": "active"}, headers=MERGE)
        assert patched.status_code == 200, patched.text

        everything = await listener.wait_for(4, "/any")
        assert [e["eventType"] for e in everything] == [
            PARTY_CHANGE,
            PARTY_STATE,
            BILLING_CHANGE,
            BILLING_STATE,
        ]
        assert everything[1]["payload"]["partyAccount"]["state"] == "active"
        billing_only = await listener.wait_for(2, "/billing")
        assert [e["eventType"] for e in billing_only] == [BILLING_CHANGE, BILLING_STATE]
        assert all(list(e["payload"]) == ["billingAccount"] for e in billing_only)
        assert {e["payload"]["billingAccount"]["id"] for e in billing_only} == {bill["id"]}
        typed = await listener.wait_for(1, "/typed")
        assert [e["eventType"] for e in typed] == [BILLING_STATE]
        assert len(listener.events("/billing")) == 2 and len(listener.events("/any")) == 4


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "payload.billingAccount.state=active&payload.partyAccount.state=active",
            "query: the criteria name more than one resource: billingAccount ('payload.billingAccount."
            "state'), partyAccount ('payload.partyAccount.state'); an event carries one, so none could match",
        ),
        (
            f"eventType={PARTY_STATE}&payload.billingAccount.state=active",
            "query: 'payload.billingAccount.state' names billingAccount, whose events "
            f"({BILLING_CHANGE}, {BILLING_STATE}) the eventType list leaves out",
        ),
        (
            "payload.financialAccount.paymentPlan.status=effective",
            "query: 'paymentPlan.status' is not an attribute of FinancialAccount",
        ),
    ],
)
async def test_contradictory_or_unknown_prefixed_queries_are_refused_when_subscribing(
    hub: LiveServer, store: Store, listener: Listener, query: str, message: str
) -> None:
    async with httpx.AsyncClient(base_url=hub.url + PATH, timeout=10) as api:
        refused = await api.post("/hub", json={"callback": listener.callback(), "query": query})
        assert_tmf_error(refused, 400, message)
    stored = await store.read(
        lambda conn: conn.execute(select(func.count()).select_from(SUBSCRIPTIONS)).scalar()
    )
    assert stored == 0
