"""Hub subscription queries (app.events.filter) as pure functions: what a query may say, the InvalidQuery
it raises otherwise (always naming the `query` field), and which events the parsed filter lets through."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.domain.errors import InvalidQuery
from app.domain.events import EVENT_TYPES
from app.domain.tmf666 import ACCOUNT_MANAGEMENT
from app.events.filter import (
    ACCOUNT_EVENTS,
    CUSTOMER_EVENTS,
    MAX_QUERY_LENGTH,
    SubscriptionFilter,
    parse_subscription_query,
)
from app.query.model import And, Criterion
from tests.conftest import LiveServer
from tests.test_rest_customer import assert_tmf_error

CREATE, CHANGE, STATE, DELETE = EVENT_TYPES


def event(customer: Any) -> dict[str, Any]:
    return {"eventType": CREATE, "event": {"customer": customer}}


def refused(query: str) -> InvalidQuery:
    with pytest.raises(InvalidQuery) as caught:
        parse_subscription_query(query)
    assert caught.value.field == "query"
    assert caught.value.message.startswith("query: ")
    return caught.value


def test_the_event_type_names() -> None:
    assert EVENT_TYPES == (
        "CustomerCreateEvent",
        "CustomerAttributeValueChangeEvent",
        "CustomerStateChangeEvent",
        "CustomerDeleteEvent",
    )


@pytest.mark.parametrize("query", [None, "", "   ", "\t\n"])
def test_no_query_lets_every_event_through(query: str | None) -> None:
    everything = parse_subscription_query(query)
    assert everything.event_types is None and everything.filter is None
    assert not everything.needs_body
    for event_type in EVENT_TYPES:
        assert everything.accepts_type(event_type)
        assert everything.accepts(event_type, {})


def test_event_types_are_a_comma_list_or_repeated_and_eq_is_an_alias() -> None:
    listed = parse_subscription_query(f"eventType={CREATE},{DELETE}")
    assert listed.event_types == frozenset({CREATE, DELETE}) and listed.filter is None
    repeated = parse_subscription_query(f"eventType={CREATE}&eventType={DELETE}")
    aliased = parse_subscription_query(f"eventType.eq={CREATE}&eventType={DELETE}")
    spaced = parse_subscription_query(f"? eventType.eq = {CREATE} , {DELETE} ")
    assert listed == repeated == aliased == spaced
    assert not listed.needs_body
    assert listed.accepts_type(CREATE) and listed.accepts_type(DELETE)
    assert not listed.accepts_type(CHANGE) and not listed.accepts_type(STATE)
    assert listed.accepts(DELETE, {}) and not listed.accepts(CHANGE, event({"name": "x"}))
    only_state = parse_subscription_query(f"eventType.eq={STATE}")
    assert only_state.event_types == frozenset({STATE})


@pytest.mark.parametrize("name", ["eventType", "eventType.eq"])
def test_unknown_event_types_are_refused(name: str) -> None:
    error = refused(f"{name}={CREATE},CustomerExplodeEvent")
    assert error.message == (
        "query: unknown eventType 'CustomerExplodeEvent' (use one of CustomerCreateEvent, "
        "CustomerAttributeValueChangeEvent, CustomerStateChangeEvent, CustomerDeleteEvent)"
    )
    assert refused(f"{name}=customercreateevent").message.startswith(
        "query: unknown eventType 'customercreateevent'"
    )


@pytest.mark.parametrize("value", ["", " ", f"{CREATE},", f",{CREATE}", f"{CREATE},,{DELETE}"])
def test_event_types_need_a_list_without_blanks(value: str) -> None:
    error = refused(f"eventType={value}")
    assert error.message == "query: 'eventType' needs a comma-separated list of event types"


@pytest.mark.parametrize("name", ["fields", "offset", "limit", "sort"])
def test_paging_sorting_and_fields_are_refused(name: str) -> None:
    error = refused(f"eventType={CREATE}&{name}=name")
    assert error.message == f"query: '{name}' is not allowed in a subscription query"


@pytest.mark.parametrize(
    ("query", "shown"),
    [("=Approved", "=Approved"), (" =Approved", "=Approved"), ("status=Approved& =x", " =x"), ("+=", " =")],
)
def test_a_criterion_needs_an_attribute_name(query: str, shown: str) -> None:
    error = refused(query)
    assert error.message == f"query: a criterion has no attribute name ('{shown}')"


def test_the_length_limit_is_4096_characters() -> None:
    assert MAX_QUERY_LENGTH == 4096
    padding = "&eventType=" + CREATE
    base = "status=Approved"
    at_limit = base + padding * ((MAX_QUERY_LENGTH - len(base)) // len(padding))
    at_limit += " " * (MAX_QUERY_LENGTH - len(at_limit))
    assert len(at_limit) == MAX_QUERY_LENGTH
    accepted = parse_subscription_query(at_limit)
    assert accepted.event_types == frozenset({CREATE})
    assert accepted.filter == Criterion(("status",), "eq", ("Approved",))
    error = refused(at_limit + " ")
    assert error.message == "query: longer than 4096 characters"
    assert refused("status=" + "A" * 5000).message == "query: longer than 4096 characters"


def test_criteria_use_the_collection_language_from_the_customer_or_the_event_root() -> None:
    plain = parse_subscription_query("status=Approved&engagedParty.id=1,2")
    rooted = parse_subscription_query("event.customer.status=Approved&event.customer.engagedParty.id=1,2")
    assert plain.filter == rooted.filter and plain.event_types == rooted.event_types is None
    assert plain.resource is None and rooted.resource == "customer"  # the customer hub's only resource
    customer = {"id": "C-1", "status": "Approved", "engagedParty": {"id": "2"}}
    for parsed in (plain, rooted):
        assert parsed.accepts(CREATE, event(customer))
        assert not parsed.accepts(CREATE, event({**customer, "status": "Pending"}))
        assert all(parsed.accepts_type(event_type) for event_type in EVENT_TYPES)
    assert plain.event_types is None and plain.needs_body
    assert plain.filter == And(
        (Criterion(("status",), "eq", ("Approved",)), Criterion(("engagedParty", "id"), "eq", ("1", "2")))
    )
    single = parse_subscription_query("name.ne=Sun")
    assert single.filter == Criterion(("name",), "ne", ("Sun",))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("shoeSize=44", "query: 'shoeSize' is not an attribute of Customer"),
        ("event.customer.shoeSize=44", "query: 'shoeSize' is not an attribute of Customer"),
        ("customer.status=Approved", "query: 'customer.status' is not an attribute of Customer"),
        (
            "event.customer.fields=name",
            "query: 'event.customer.fields' is not allowed in a subscription query",
        ),
        ("event.customer.limit=1", "query: 'event.customer.limit' is not allowed in a subscription query"),
        ("event.customer.=x", "query: a criterion has no attribute name ('event.customer.=x')"),
        ("name.regex=^A", "query: The regex operator is not supported"),
        ("status=", "query: 'status' needs a value"),
    ],
)
def test_bad_criteria_are_refused_naming_the_query(query: str, message: str) -> None:
    assert refused(query).message == message


def test_criteria_are_matched_on_the_customer_the_event_carries() -> None:
    approved = parse_subscription_query(f"eventType={CREATE},{DELETE}&status=Approved")
    customer = {"id": "C-1", "href": "http://x/C-1", "name": "Sun", "status": "Approved"}
    assert approved.accepts(CREATE, event(customer))
    assert approved.accepts(DELETE, event(customer))
    assert not approved.accepts(CHANGE, event(customer))  # the type comes first
    assert not approved.accepts(CREATE, event({**customer, "status": "Pending"}))
    assert not approved.accepts(CREATE, event({"id": "C-1"}))
    assert not approved.accepts(CREATE, {"event": {}})
    assert not approved.accepts(CREATE, {"event": None})
    assert not approved.accepts(CREATE, {})


def test_an_event_whose_customer_is_not_an_object_is_not_delivered() -> None:
    pending = parse_subscription_query("status.ne=Approved")
    assert pending.accepts(CREATE, event({"status": "Pending"}))
    assert pending.accepts(CREATE, event({"name": "no status"})) is False  # ne needs a value to compare
    for carried in (["status", "Pending"], "Pending", 7):
        assert pending.accepts(CREATE, event(carried)) is False


def test_the_id_is_matched_but_id_and_href_are_not_document_members() -> None:
    by_id = parse_subscription_query("id=C-1")
    assert by_id.accepts(CREATE, event({"id": "C-1", "name": "Sun"}))
    assert not by_id.accepts(CREATE, event({"id": "C-2", "name": "Sun"}))
    assert not by_id.accepts(CREATE, event({"name": "Sun"}))
    named = parse_subscription_query("name=Sun")
    assert named.accepts(CREATE, event({"id": "C-1", "name": "Sun"}))
    # a customer without an id compares as the empty id
    assert parse_subscription_query("id.lt=0").accepts(CREATE, event({"name": "Sun"}))
    assert not parse_subscription_query("id=None").accepts(CREATE, event({"name": "Sun"}))
    ids = parse_subscription_query("id=1")
    assert ids.accepts(CREATE, event({"id": 1}))  # the id is compared as text


async def test_rest_hub_applies_the_length_limit_and_the_eq_alias(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.api, timeout=10) as api:
        query = f"eventType.eq={CREATE}&status=" + "A" * MAX_QUERY_LENGTH
        too_long = await api.post("/hub", json={"callback": "http://127.0.0.1:9/x", "query": query})
        assert_tmf_error(too_long, 400, "longer than 4096 characters")
        aliased = await api.post(
            "/hub", json={"callback": "http://127.0.0.1:9/x", "query": f"eventType.eq={CREATE}"}
        )
        assert aliased.status_code == 201, aliased.text
        assert aliased.json()["query"] == f"eventType.eq={CREATE}"
        unknown = await api.post(
            "/hub", json={"callback": "http://127.0.0.1:9/x", "query": "eventType.eq=CustomerExplodeEvent"}
        )
        assert_tmf_error(unknown, 400, "unknown eventType 'CustomerExplodeEvent'")


# -- the hub of another API: TMF666 accounts, whose events carry one of several resources under `payload` --


def test_the_account_hub_knows_its_own_event_types_only() -> None:
    everything = parse_subscription_query(None, ACCOUNT_EVENTS)
    assert everything.event_types is None and everything.filter is None
    assert everything.accepts_type("BillingAccountStateChangeEvent")
    assert everything.accepts_type("FinancialAccountDeleteEvent")
    assert not everything.accepts_type(CREATE)  # a customer event never reaches an account subscriber
    assert not parse_subscription_query("  ").accepts_type("BillingAccountStateChangeEvent")
    with pytest.raises(InvalidQuery) as caught:
        parse_subscription_query(f"eventType={CREATE}", ACCOUNT_EVENTS)
    assert caught.value.field == "query"
    assert caught.value.message == (
        f"query: unknown eventType '{CREATE}' (use one of {', '.join(ACCOUNT_EVENTS.event_types)})"
    )


def test_account_criteria_from_the_payload_root_of_any_of_its_resources() -> None:
    plain = parse_subscription_query("name=Main&creditLimit.value.gt=100", ACCOUNT_EVENTS)
    assert plain.resource is None
    for resource in ("partyAccount", "billingAccount", "financialAccount"):
        rooted = parse_subscription_query(
            f"payload.{resource}.name=Main&payload.{resource}.creditLimit.value.gt=100", ACCOUNT_EVENTS
        )
        assert rooted.filter == plain.filter and rooted.event_types is None
        assert rooted.resource == resource
    assert plain.filter == And(
        (Criterion(("name",), "eq", ("Main",)), Criterion(("creditLimit", "value"), "gt", (100.0,)))
    )
    with pytest.raises(InvalidQuery) as caught:
        parse_subscription_query("event.customer.name=Main", ACCOUNT_EVENTS)
    assert caught.value.message == "query: 'event.customer.name' is not an attribute of PartyAccount"
    with pytest.raises(InvalidQuery) as caught:
        parse_subscription_query("payload.name=Main", ACCOUNT_EVENTS)
    assert caught.value.message == "query: 'payload.name' is not an attribute of PartyAccount"


def test_account_events_are_matched_on_the_one_resource_they_carry() -> None:
    rich = parse_subscription_query("creditLimit.value.gt=100", ACCOUNT_EVENTS)
    kind = "BillingAccountStateChangeEvent"
    billing = {"id": "B-1", "href": "http://x/B-1", "name": "Main", "creditLimit": {"value": 150.5}}
    assert rich.accepts(kind, {"payload": {"billingAccount": billing}})
    assert rich.accepts("PartyAccountStateChangeEvent", {"payload": {"partyAccount": billing}})
    assert not rich.accepts(kind, {"payload": {"billingAccount": {**billing, "creditLimit": {"value": 99}}}})
    assert not rich.accepts(kind, {"payload": {"somethingElse": billing}})
    assert not rich.accepts(kind, {"payload": {"billingAccount": billing, "partyAccount": billing}})
    assert not rich.accepts(kind, {"payload": {"billingAccount": [billing]}})
    assert not rich.accepts(kind, {"payload": {}})
    assert not rich.accepts(kind, {"event": {"billingAccount": billing}})
    assert not rich.accepts(CREATE, {"payload": {"billingAccount": billing}})
    by_id = parse_subscription_query("id=B-1", ACCOUNT_EVENTS)
    assert by_id.accepts(kind, {"payload": {"billingAccount": billing}})
    assert not by_id.accepts(kind, {"payload": {"billingAccount": {**billing, "id": "B-2"}}})


def test_a_customer_event_must_carry_exactly_the_customer() -> None:
    named = parse_subscription_query("name=Sun")
    assert named.accepts(CREATE, {"event": {"customer": {"id": "C-1", "name": "Sun"}}})
    assert not named.accepts(CREATE, {"event": {"customer": {"name": "Sun"}, "other": {"name": "Sun"}}})
    assert not named.accepts(CREATE, {"event": {"billingAccount": {"name": "Sun"}}})
    assert not named.accepts(CREATE, {"event": ["customer"]})


# -- a criterion from the payload root names the resource: that resource's events only --------------------

BILLING_STATE, BILLING_CHANGE = "BillingAccountStateChangeEvent", "BillingAccountAttributeValueChangeEvent"
PARTY_STATE = "PartyAccountStateChangeEvent"


def account(query: str) -> Any:
    return parse_subscription_query(query, ACCOUNT_EVENTS)


def refused_on_accounts(query: str) -> str:
    with pytest.raises(InvalidQuery) as caught:
        account(query)
    assert caught.value.field == "query"
    return caught.value.message


def test_a_prefixed_criterion_lets_only_the_named_resources_events_through() -> None:
    active = {"id": "A-1", "name": "Main", "state": "active"}
    billing_only = account("payload.billingAccount.state=active")
    assert billing_only.resource == "billingAccount" and billing_only.event_types is None
    assert billing_only.accepts(BILLING_STATE, {"payload": {"billingAccount": active}})
    assert billing_only.accepts(BILLING_CHANGE, {"payload": {"billingAccount": active}})
    assert not billing_only.accepts(BILLING_STATE, {"payload": {"billingAccount": {**active, "state": "x"}}})
    # a party account matching the criterion is another resource: not delivered, by its type ...
    assert not billing_only.accepts_type(PARTY_STATE)
    assert not billing_only.accepts(PARTY_STATE, {"payload": {"partyAccount": active}})
    assert not billing_only.accepts_type("FinancialAccountCreateEvent")
    # ... and by the resource the body carries, whatever its type says
    assert not billing_only.accepts(BILLING_STATE, {"payload": {"partyAccount": active}})
    unprefixed = account("state=active")  # as before: any account kind
    assert unprefixed.resource is None
    assert unprefixed.accepts(PARTY_STATE, {"payload": {"partyAccount": active}})
    assert unprefixed.accepts(BILLING_STATE, {"payload": {"billingAccount": active}})
    mixed = account("payload.billingAccount.state=active&name=Main")  # the unprefixed one joins it
    assert mixed.resource == "billingAccount"
    assert mixed.accepts(BILLING_STATE, {"payload": {"billingAccount": active}})
    assert not mixed.accepts(PARTY_STATE, {"payload": {"partyAccount": active}})
    twice = account("payload.billingAccount.state=active&payload.billingAccount.name=Main")
    assert twice.resource == "billingAccount" and twice.filter == mixed.filter


def test_the_queues_nothing_filter_still_lets_nothing_through() -> None:
    nothing = SubscriptionFilter(frozenset(), None)
    assert nothing.resource is None and not nothing.needs_body
    assert not nothing.accepts_type(CREATE) and not nothing.accepts(CREATE, event({"name": "x"}))


def test_prefixed_criteria_are_checked_against_the_named_resources_model() -> None:
    assert account("paymentPlan.status=effective").resource is None  # the party account has it
    assert account("payload.billingAccount.paymentPlan.status=effective").resource == "billingAccount"
    for query in (
        "payload.financialAccount.paymentPlan.status=effective",
        "payload.financialAccount.name=F&paymentPlan.status=effective",
    ):
        assert (
            refused_on_accounts(query)
            == "query: 'paymentPlan.status' is not an attribute of FinancialAccount"
        )
    assert refused_on_accounts("payload.billingAccount.shoeSize=44") == (
        "query: 'shoeSize' is not an attribute of BillingAccount"
    )
    assert refused_on_accounts("payload.billingAccount.sort=name") == (
        "query: 'payload.billingAccount.sort' is not allowed in a subscription query"
    )


@pytest.mark.parametrize(
    "query",
    [
        "payload.billingAccount.state=active&payload.partyAccount.state=active",
        "payload.billingAccount.state=active&name=Main&payload.partyAccount.name=Main",
    ],
)
def test_criteria_naming_two_resources_are_refused(query: str) -> None:
    message = refused_on_accounts(query)
    assert message.startswith("query: the criteria name more than one resource: billingAccount (")
    assert "partyAccount ('payload.partyAccount." in message and message.endswith("so none could match")


def test_an_event_type_list_without_the_named_resources_events_is_refused() -> None:
    assert refused_on_accounts(f"eventType={PARTY_STATE}&payload.billingAccount.state=active") == (
        "query: 'payload.billingAccount.state' names billingAccount, whose events "
        f"({BILLING_CHANGE}, {BILLING_STATE}) the eventType list leaves out"
    )
    assert refused_on_accounts(
        "eventType=FinancialAccountCreateEvent,PartyAccountAttributeValueChangeEvent"
        "&payload.billingAccount.name=Main"
    ).startswith("query: 'payload.billingAccount.name' names billingAccount, whose events")
    both = account(f"eventType={PARTY_STATE},{BILLING_STATE}&payload.billingAccount.state=active")
    assert both.event_types == frozenset({PARTY_STATE, BILLING_STATE}) and both.resource == "billingAccount"
    assert both.accepts_type(BILLING_STATE)
    assert not both.accepts_type(PARTY_STATE) and not both.accepts_type(BILLING_CHANGE)


def test_a_resource_without_events_cannot_be_named() -> None:
    assert refused_on_accounts("payload.billFormat.name=Paper") == (
        "query: 'payload.billFormat.name' names billFormat, and no event of this hub carries one"
    )


def test_each_event_type_maps_to_the_resource_its_events_carry() -> None:
    assert ACCOUNT_EVENTS.events_of("billingAccount") == (BILLING_CHANGE, BILLING_STATE)
    assert ACCOUNT_EVENTS.events_of("billFormat") == ()
    assert set(ACCOUNT_EVENTS.carried_by) == set(ACCOUNT_EVENTS.event_types)
    for event_type, resource in ACCOUNT_EVENTS.carried_by.items():
        assert ACCOUNT_MANAGEMENT.registration_of_event(event_type) == ACCOUNT_MANAGEMENT.resource(resource)
    assert CUSTOMER_EVENTS.events_of("customer") == EVENT_TYPES
