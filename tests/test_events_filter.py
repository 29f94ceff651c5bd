"""Hub subscription queries (app.events.filter) as pure functions: what a query may say, the InvalidQuery
it raises otherwise (always naming the `query` field), and which events the parsed filter lets through."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.domain.errors import InvalidQuery
from app.domain.events import EVENT_TYPES
from app.events.filter import ACCOUNT_EVENTS, MAX_QUERY_LENGTH, parse_subscription_query
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
    assert plain == rooted
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
    for resource in ("partyAccount", "billingAccount", "financialAccount"):
        rooted = parse_subscription_query(
            f"payload.{resource}.name=Main&payload.{resource}.creditLimit.value.gt=100", ACCOUNT_EVENTS
        )
        assert rooted == plain
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
