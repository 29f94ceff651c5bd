"""The query model evaluated in Python (app.query.evaluate), as pure functions: the values an attribute path
reaches, each operator on each kind, And/Or, the order of `sort_rows` and the projection of `fields`."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.domain.errors import InvalidQuery
from app.events.filter import ACCOUNT_EVENTS
from app.query.evaluate import ALWAYS, leaves, matches, project, sort_rows
from app.query.model import And, Criterion, Or, Related, SortKey, criterion, resolve

DOC: dict[str, Any] = {
    "name": "Sun Telecom",
    "status": "Approved",
    "engagedParty": {"id": "ORG-1", "name": "Sun", "@referredType": "Organization"},
    "account": [{"id": "A1", "name": "Main"}, "not an object", {"id": "A2"}, {"id": "A3", "name": 7}],
    "characteristic": [
        {"name": "seats", "value": 12},
        {"name": "segment", "value": "gold"},
        {"name": "vip", "value": True},
        {"name": "ratio", "value": 0.5},
        {"name": "text", "value": "12"},
    ],
    "contactMedium": [
        {"mediumType": "email", "preferred": True, "characteristic": {"city": "Paris"}},
        {"mediumType": "phone", "preferred": "yes", "characteristic": {"city": "Lyon"}},
        {"mediumType": "post", "characteristic": "none"},
    ],
    "creditProfile": [
        {"creditScore": 710, "creditRiskRating": True, "creditProfileDate": "2024-02-01T10:00:00+02:00"},
        {"creditScore": "800", "creditProfileDate": "not a date"},
    ],
    "validFor": {"startDateTime": "2024-01-01T01:00:00+01:00"},
}


def attribute(path: str) -> Any:
    found = resolve(tuple(path.split(".")))
    assert found is not None
    return found


def accepts(doc: dict[str, Any], path: str, op: str, *values: Any, customer_id: str = "C-1") -> bool:
    return matches(doc, customer_id, criterion(path, op, values))


# -- leaves ---------------------------------------------------------------------------------------


def test_leaves_of_scalars_objects_and_the_id() -> None:
    assert leaves(DOC, "C-1", attribute("name")) == ["Sun Telecom"]
    assert leaves(DOC, "C-1", attribute("engagedParty.id")) == ["ORG-1"]
    assert leaves(DOC, "C-1", attribute("id")) == ["C-1"]
    assert leaves({"id": "stored"}, "C-9", attribute("id")) == ["C-9"]  # the id is the row's, not the doc's
    assert leaves(DOC, "C-1", attribute("statusReason")) == []
    assert leaves({"engagedParty": "ORG-1"}, "C-1", attribute("engagedParty.id")) == []
    assert leaves({"name": 5}, "C-1", attribute("name")) == []


def test_leaves_through_arrays_skip_items_without_the_value() -> None:
    assert leaves(DOC, "C-1", attribute("account.id")) == ["A1", "A2", "A3"]
    assert leaves(DOC, "C-1", attribute("account.name")) == ["Main"]  # 7 is not a string
    assert leaves(DOC, "C-1", attribute("contactMedium.characteristic.city")) == ["Paris", "Lyon"]
    assert leaves({"account": {"id": "A1"}}, "C-1", attribute("account.id")) == []  # not an array
    assert leaves({}, "C-1", attribute("account.id")) == []


def test_leaves_are_typed_as_compared() -> None:
    assert leaves(DOC, "C-1", attribute("creditProfile.creditScore")) == [710]
    assert leaves(DOC, "C-1", attribute("creditProfile.creditRiskRating")) == []  # a boolean is no integer
    assert leaves(DOC, "C-1", attribute("contactMedium.preferred")) == [True]
    assert leaves({"contactMedium": [{"preferred": 1}]}, "C-1", attribute("contactMedium.preferred")) == []
    assert leaves(DOC, "C-1", attribute("creditProfile.creditProfileDate")) == ["2024-02-01T08:00:00.000000Z"]
    assert leaves(DOC, "C-1", attribute("validFor.startDateTime")) == ["2024-01-01T00:00:00.000000Z"]
    assert leaves({"validFor": {"startDateTime": 20240101}}, "C-1", attribute("validFor.startDateTime")) == []
    assert leaves(DOC, "C-1", attribute("characteristic.value")) == [12, "gold", True, 0.5, "12"]


# -- criteria -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "Sun Telecom", True),
        ("eq", "Sun", False),
        ("ne", "Sun", True),
        ("ne", "Sun Telecom", False),
        ("gt", "Sun Telecol", True),
        ("gt", "Sun Telecom", False),
        ("gte", "Sun Telecom", True),
        ("gte", "Sun Telecon", False),
        ("lt", "Sun Telecon", True),
        ("lt", "Sun Telecom", False),
        ("lte", "Sun Telecom", True),
        ("lte", "Sun Telecol", False),
    ],
)
def test_string_operators(op: str, value: str, expected: bool) -> None:
    assert accepts(DOC, "name", op, value) is expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "710", True),
        ("eq", "711", False),
        ("ne", "710", False),
        ("gt", "709", True),
        ("gt", "710", False),
        ("gte", "710", True),
        ("gte", "711", False),
        ("lt", "711", True),
        ("lt", "710", False),
        ("lte", "710", True),
        ("lte", "709", False),
    ],
)
def test_integer_operators_compare_numbers_not_text(op: str, value: str, expected: bool) -> None:
    # "800" is text in the document: it never compares as the number 800
    assert accepts(DOC, "creditProfile.creditScore", op, value) is expected
    assert accepts(DOC, "creditProfile.creditScore", "eq", "800") is False
    assert accepts({"creditProfile": [{"creditScore": 9}]}, "creditProfile.creditScore", "lt", "10") is True


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "2024-01-01T00:00:00Z", True),  # the same instant, written with another offset
        ("eq", "2024-01-01T00:00:01Z", False),
        ("ne", "2024-01-01T00:00:00Z", False),
        ("gt", "2023-12-31T23:59:59Z", True),
        ("gt", "2024-01-01T02:00:00+02:00", False),
        ("gte", "2024-01-01T02:00:00+02:00", True),
        ("lt", "2024-01-01T00:00:00.000001Z", True),
        ("lt", "2024-01-01T00:00:00Z", False),
        ("lte", "2023-12-31T19:00:00-05:00", True),
    ],
)
def test_date_time_operators_compare_instants(op: str, value: str, expected: bool) -> None:
    assert accepts(DOC, "validFor.startDateTime", op, value) is expected


def test_a_stored_date_time_that_does_not_parse_matches_nothing() -> None:
    doc = {"creditProfile": [{"creditProfileDate": "not a date"}]}
    for op in ("eq", "ne", "gt", "lt"):
        assert accepts(doc, "creditProfile.creditProfileDate", op, "2024-01-01T00:00:00Z") is False


def test_boolean_operators() -> None:
    assert accepts(DOC, "contactMedium.preferred", "eq", "true") is True
    assert accepts(DOC, "contactMedium.preferred", "eq", "false") is False  # "yes" is not a boolean
    assert accepts(DOC, "contactMedium.preferred", "ne", "true") is False
    assert accepts(DOC, "contactMedium.preferred", "ne", "false") is True
    assert (
        accepts({"contactMedium": [{"preferred": False}]}, "contactMedium.preferred", "eq", "false") is True
    )


def test_any_values_equal_their_text_or_the_json_scalar_it_reads_as() -> None:
    value = "characteristic.value"
    assert accepts(DOC, value, "eq", "12") is True  # the number 12 and the text "12"
    assert accepts({"characteristic": [{"value": 12}]}, value, "eq", "12") is True
    assert accepts({"characteristic": [{"value": "12"}]}, value, "eq", "12") is True
    assert accepts({"characteristic": [{"value": 12.0}]}, value, "eq", "12") is True
    assert accepts({"characteristic": [{"value": 0.5}]}, value, "eq", "0.5") is True
    assert accepts({"characteristic": [{"value": "gold"}]}, value, "eq", "gold") is True
    assert accepts({"characteristic": [{"value": True}]}, value, "eq", "true") is True
    assert accepts({"characteristic": [{"value": True}]}, value, "eq", "1") is False  # true is not 1
    assert accepts({"characteristic": [{"value": 1}]}, value, "eq", "true") is False
    assert accepts({"characteristic": [{"value": 0}]}, value, "eq", "false") is False
    assert accepts({"characteristic": [{"value": "true"}]}, value, "eq", "true") is True
    assert accepts({"characteristic": [{"value": {"a": 1}}]}, value, "eq", '{"a": 1}') is False
    assert accepts({"characteristic": [{"value": "x"}]}, value, "eq", "12") is False
    assert accepts({"characteristic": [{"value": 13}]}, value, "eq", "12") is False


def test_any_ne_is_true_when_some_value_differs_from_every_candidate() -> None:
    value = "characteristic.value"
    assert accepts({"characteristic": [{"value": 12}]}, value, "ne", "12") is False
    assert accepts({"characteristic": [{"value": 12}, {"value": "x"}]}, value, "ne", "12") is True
    assert accepts({"characteristic": [{"value": 12}]}, value, "ne", "13") is True
    assert accepts({"characteristic": [{"value": 12}]}, value, "ne", "12", "13") is True
    assert accepts({"characteristic": []}, value, "ne", "12") is False


def test_several_values_are_alternatives() -> None:
    assert accepts(DOC, "status", "eq", "Pending", "Approved") is True
    assert accepts(DOC, "status", "eq", "Pending", "Rejected") is False
    assert accepts(DOC, "account.id", "eq", "A9", "A2") is True
    assert accepts(DOC, "creditProfile.creditScore", "gt", "900", "700") is True
    assert accepts(DOC, "name", "ne", "Sun Telecom", "Other") is True


def test_an_absent_attribute_matches_no_operator() -> None:
    for op in ("eq", "ne", "gt", "gte", "lt", "lte"):
        assert accepts({}, "statusReason", op, "x") is False


def test_the_id_is_compared_with_the_row_id() -> None:
    assert accepts(DOC, "id", "eq", "C-1") is True
    assert accepts(DOC, "id", "eq", "C-2") is False
    assert accepts({"id": "C-2"}, "id", "eq", "C-2", customer_id="C-1") is False


def test_and_or_and_nesting() -> None:
    approved = criterion("status", "eq", ["Approved"])
    sun = criterion("name", "eq", ["Sun Telecom"])
    moon = criterion("name", "eq", ["Moon"])
    assert matches(DOC, "C-1", And((approved, sun))) is True
    assert matches(DOC, "C-1", And((approved, moon))) is False
    assert matches(DOC, "C-1", And((moon, approved))) is False
    assert matches(DOC, "C-1", Or((moon, approved))) is True
    assert matches(DOC, "C-1", Or((approved, moon))) is True
    assert matches(DOC, "C-1", Or((moon, moon))) is False
    assert matches(DOC, "C-1", And((Or((moon, sun)), approved))) is True
    assert matches(DOC, "C-1", Or((And((moon, approved)), And((sun, moon))))) is False


def test_a_criterion_built_by_hand_is_checked() -> None:
    with pytest.raises(InvalidQuery) as caught:
        matches(DOC, "C-1", Criterion(("shoeSize",), "eq", ("44",)))
    assert (caught.value.message, caught.value.field) == ("Cannot filter on 'shoeSize' with 'eq'", "shoeSize")
    with pytest.raises(InvalidQuery):
        matches(DOC, "C-1", Criterion(("contactMedium", "preferred"), "gt", (True,)))


# -- sort_rows ------------------------------------------------------------------------------------

ROWS = [
    (3, "c3", {"name": "b", "status": "x"}),
    (1, "c1", {"name": "a", "status": "y"}),
    (4, "c4", {"status": "x"}),
    (2, "c2", {"name": "b", "status": "y"}),
    (5, "c5", {"name": "c"}),
]


def ids(rows: list[Any]) -> list[str]:
    return [row[1] for row in rows]


def test_sort_rows_without_keys_is_the_insertion_order() -> None:
    assert ids(sort_rows(list(ROWS), ())) == ["c1", "c2", "c3", "c4", "c5"]


def test_sort_rows_puts_rows_without_the_value_last_in_either_direction() -> None:
    assert ids(sort_rows(list(ROWS), (SortKey(("name",)),))) == ["c1", "c2", "c3", "c5", "c4"]
    assert ids(sort_rows(list(ROWS), (SortKey(("name",), descending=True),))) == [
        "c5",
        "c2",
        "c3",
        "c1",
        "c4",
    ]


def test_sort_rows_by_several_keys_and_the_id() -> None:
    by_status_then_name = (SortKey(("status",)), SortKey(("name",), descending=True))
    assert ids(sort_rows(list(ROWS), by_status_then_name)) == ["c3", "c4", "c2", "c1", "c5"]
    assert ids(sort_rows(list(ROWS), (SortKey(("id",), descending=True),))) == ["c5", "c4", "c3", "c2", "c1"]


def test_sort_rows_orders_date_times_as_instants() -> None:
    rows = [
        (1, "late", {"validFor": {"startDateTime": "2024-01-01T00:30:00+00:00"}}),
        (2, "early", {"validFor": {"startDateTime": "2024-01-01T01:00:00+01:00"}}),
    ]
    assert ids(sort_rows(rows, (SortKey(("validFor", "startDateTime")),))) == ["early", "late"]


# -- project --------------------------------------------------------------------------------------

RESOURCE: dict[str, Any] = {
    "id": "C-1",
    "href": "http://host/customer/C-1",
    "@type": "Customer",
    "name": "Sun",
    "status": "Approved",
    "engagedParty": {"id": "ORG-1", "name": "Sun", "@referredType": "Organization"},
    "account": [{"id": "A1", "name": "Main"}, {"name": "Other"}, "text"],
    "validFor": {"startDateTime": "2024-01-01T00:00:00Z"},
}


def fields(*paths: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(path.split(".")) for path in paths)


def test_without_fields_the_resource_is_returned_as_is() -> None:
    assert project(RESOURCE, None) is RESOURCE


def test_fields_keep_id_href_and_type() -> None:
    assert ALWAYS == ("id", "href", "@type")
    expected = {"id": "C-1", "href": "http://host/customer/C-1", "@type": "Customer", "name": "Sun"}
    assert project(RESOURCE, fields("name")) == expected
    assert project(RESOURCE, ()) == {key: RESOURCE[key] for key in ALWAYS}
    assert project({"name": "Sun"}, fields("name", "status")) == {"name": "Sun"}


def test_repeated_and_overlapping_fields() -> None:
    before = copy.deepcopy(RESOURCE)
    head = {key: RESOURCE[key] for key in ALWAYS}
    assert project(RESOURCE, fields("name", "name")) == {**head, "name": "Sun"}
    whole = {**head, "engagedParty": RESOURCE["engagedParty"]}
    assert project(RESOURCE, fields("engagedParty", "engagedParty.id")) == whole
    assert project(RESOURCE, fields("engagedParty.id", "engagedParty")) == whole
    assert project(RESOURCE, fields("engagedParty.id", "engagedParty.id")) == {
        **head,
        "engagedParty": {"id": "ORG-1"},
    }
    assert project(RESOURCE, fields("id", "href")) == head
    assert RESOURCE == before


def test_dotted_fields_reach_into_objects_and_array_items() -> None:
    head = {key: RESOURCE[key] for key in ALWAYS}
    assert project(RESOURCE, fields("engagedParty.name", "engagedParty.@referredType")) == {
        **head,
        "engagedParty": {"name": "Sun", "@referredType": "Organization"},
    }
    # array items stay in place even when nothing of them is selected; non-objects are kept as they are
    assert project(RESOURCE, fields("account.id")) == {**head, "account": [{"id": "A1"}, {}, "text"]}
    # an object left empty is dropped
    assert project(RESOURCE, fields("validFor.endDateTime")) == head
    assert project(RESOURCE, fields("name.first", "status")) == {**head, "status": "Approved"}


# -- another resource: numbers (a TMF666 account's amounts) ----------------------------------------


def test_numbers_compare_integers_and_decimals_but_not_booleans_or_text() -> None:
    account = ACCOUNT_EVENTS.criteria

    def over(doc: dict[str, Any], op: str, value: str) -> bool:
        return matches(doc, "A-1", criterion("creditLimit.value", op, [value], resource=account), account)

    assert over({"creditLimit": {"value": 150.5}}, "gt", "100") is True
    assert over({"creditLimit": {"value": 150}}, "eq", "150.0") is True
    assert over({"creditLimit": {"value": 99.5}}, "gt", "100") is False
    assert over({"creditLimit": {"value": 100}}, "lte", "100") is True
    assert over({"creditLimit": {"value": True}}, "eq", "1") is False
    assert over({"creditLimit": {"value": "150"}}, "eq", "150") is False
    found = resolve(("creditLimit", "value"), account)
    assert found is not None
    assert leaves({"creditLimit": {"value": 1}}, "A-1", found) == [1]
    assert leaves({"creditLimit": {"value": 0.25}}, "A-1", found) == [0.25]
    assert leaves({"creditLimit": {"value": False}}, "A-1", found) == []
    assert leaves({"creditLimit": {"value": "1"}}, "A-1", found) == []


def test_and_or_evaluate_every_item_on_the_same_resource() -> None:
    account = ACCOUNT_EVENTS.criteria
    rich = criterion("creditLimit.value", "gte", ["1000"], resource=account)
    main = criterion("name", "eq", ["Main"], resource=account)
    doc = {"name": "Main", "creditLimit": {"value": 2500}}
    assert matches(doc, "A-1", And((main, rich)), account) is True
    assert matches({**doc, "name": "Other"}, "A-1", And((main, rich)), account) is False
    assert matches({**doc, "name": "Other"}, "A-1", Or((main, rich)), account) is True
    assert matches({"name": "Other"}, "A-1", Or((main, rich)), account) is False


def test_a_condition_on_linked_resources_cannot_be_evaluated_on_one_document() -> None:
    linked = Related("accounts", criterion("name", "eq", ["Main"], resource=ACCOUNT_EVENTS.criteria))
    for filter in (linked, And((criterion("name", "eq", ["Sun Telecom"]), linked))):
        with pytest.raises(InvalidQuery) as caught:
            matches(DOC, "C-1", filter)
        assert caught.value.message == "A condition on linked accounts needs the database"
        assert caught.value.field == "accounts"
