"""PATCH semantics in app.domain.patch, as pure functions: media types, RFC 7396 merge, RFC 6902 JSON Patch,
and the rules that keep `id` and `href` (and the customer as a whole) out of a patch's reach."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import orjson
import pytest

from app.domain.errors import Conflict, Invalid, UnsupportedMediaType
from app.domain.patch import PatchFormat, apply_patch, merge_patch
from tests.test_rest_customer import MOON, assert_tmf_error, create

MERGE = PatchFormat.MERGE
JSON_PATCH = PatchFormat.JSON_PATCH
JSON_PATCH_TYPE = {"content-type": "application/json-patch+json"}

STORED: dict[str, Any] = {
    "name": "Sun Telecom",
    "status": "Approved",
    "engagedParty": {"id": "ORG-1", "name": "Sun", "@referredType": "Organization"},
    "characteristic": [{"name": "segment", "value": "gold"}, {"name": "seats", "value": 12}],
    "@type": "Customer",
}


def stored() -> dict[str, Any]:
    return copy.deepcopy(STORED)


def invalid(
    document: dict[str, Any], patch_format: PatchFormat, patch: Any, customer_id: str | None = "C-1"
) -> Invalid:
    """The Invalid that the patch raises, after checking that the document was left alone."""
    before = copy.deepcopy(document)
    with pytest.raises(Invalid) as caught:
        apply_patch(document, patch_format, patch, customer_id)
    assert document == before
    return caught.value


# -- media types ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/merge-patch+json", MERGE),
        ("application/json", MERGE),
        ("Application/JSON; charset=utf-8", MERGE),
        ("  application/merge-patch+json ;charset=utf-8", MERGE),
        ("application/json-patch+json", JSON_PATCH),
        ("APPLICATION/JSON-PATCH+JSON; charset=utf-8", JSON_PATCH),
        ("application/json; charset=utf-8; profile=tmf", MERGE),
    ],
)
def test_media_types_choose_the_format(content_type: str, expected: PatchFormat) -> None:
    assert PatchFormat.from_media_type(content_type) is expected


@pytest.mark.parametrize(
    ("content_type", "named"),
    [
        (None, "'(none)'"),
        ("", "'(none)'"),
        ("text/plain; charset=utf-8", "'text/plain'"),
        ("application/json-patch-query+json", "'application/json-patch-query+json'"),
    ],
)
def test_other_media_types_are_unsupported(content_type: str | None, named: str) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        PatchFormat.from_media_type(content_type)
    assert caught.value.message == (
        f"PATCH media type {named} is not supported; use application/merge-patch+json, "
        "application/json or application/json-patch+json"
    )
    assert caught.value.status == 415


# -- RFC 7396 merge patch -------------------------------------------------------------------------


def test_merge_replaces_scalars_and_arrays_and_merges_objects() -> None:
    result = merge_patch(
        stored(),
        {"name": "Sun Mobile", "engagedParty": {"name": "Sun Corp"}, "characteristic": [{"name": "only"}]},
    )
    assert result == {
        **STORED,
        "name": "Sun Mobile",
        "engagedParty": {"id": "ORG-1", "name": "Sun Corp", "@referredType": "Organization"},
        "characteristic": [{"name": "only"}],
    }
    assert list(result) == list(STORED)  # members keep their order


def test_merge_null_removes_a_member_and_ignores_an_absent_one() -> None:
    result = merge_patch(stored(), {"status": None, "statusReason": None, "engagedParty": {"name": None}})
    assert "status" not in result and "statusReason" not in result
    assert result["engagedParty"] == {"id": "ORG-1", "@referredType": "Organization"}


def test_merge_adds_an_object_under_an_absent_member() -> None:
    result = merge_patch(
        stored(), {"validFor": {"startDateTime": "2024-01-01T00:00:00Z", "endDateTime": None}}
    )
    assert result["validFor"] == {"startDateTime": "2024-01-01T00:00:00Z"}  # its nulls are dropped too
    nested = merge_patch({"name": "x"}, {"x-extra": {"level": {"deep": 1, "gone": None}}})
    assert nested == {"name": "x", "x-extra": {"level": {"deep": 1}}}


def test_merge_an_object_over_a_scalar_replaces_it() -> None:
    assert merge_patch({"x-tier": "gold"}, {"x-tier": {"level": 2}}) == {"x-tier": {"level": 2}}
    assert merge_patch("text", {"a": 1, "b": None}) == {"a": 1}
    assert merge_patch([1, 2], {"a": 1}) == {"a": 1}


def test_merge_a_non_object_patch_replaces_the_target() -> None:
    assert merge_patch({"a": 1}, [1, 2]) == [1, 2]
    assert merge_patch({"a": 1}, "text") == "text"
    assert merge_patch({"a": 1}, 0) == 0


def test_merge_copies_leave_target_and_patch_untouched() -> None:
    target, patch = stored(), {"engagedParty": {"name": "X"}, "characteristic": [{"name": "n"}]}
    result = merge_patch(target, patch)
    result["engagedParty"]["id"] = "changed"
    result["characteristic"][0]["name"] = "changed"
    assert target == STORED
    assert patch == {"engagedParty": {"name": "X"}, "characteristic": [{"name": "n"}]}


def test_apply_merge_patch() -> None:
    document = stored()
    result = apply_patch(document, MERGE, {"name": "Moon", "status": None}, "C-1")
    assert result == {key: value for key, value in {**STORED, "name": "Moon"}.items() if key != "status"}
    assert "id" not in result
    assert document == STORED


@pytest.mark.parametrize("patch", [[{"name": "x"}], "name", 5, None])
def test_a_merge_patch_must_be_an_object(patch: Any) -> None:
    error = invalid(stored(), MERGE, patch)
    assert (error.message, error.field) == ("A merge patch must be a JSON object", "")


@pytest.mark.parametrize("name", ["id", "href"])
@pytest.mark.parametrize("value", ["other", None])
def test_a_merge_patch_cannot_touch_id_or_href(name: str, value: Any) -> None:
    error = invalid(stored(), MERGE, {"name": "x", name: value})
    assert (error.message, error.field) == (f"'{name}' is set by the server and cannot be patched", name)


# -- RFC 6902 JSON Patch --------------------------------------------------------------------------


def test_json_patch_operations_apply_in_order_on_a_copy() -> None:
    document = stored()
    result = apply_patch(
        document,
        JSON_PATCH,
        [
            {"op": "test", "path": "/name", "value": "Sun Telecom"},
            {"op": "replace", "path": "/name", "value": "Sun Mobile"},
            {"op": "add", "path": "/characteristic/-", "value": {"name": "churn", "value": "low"}},
            {"op": "remove", "path": "/characteristic/0"},
            {"op": "copy", "from": "/engagedParty/name", "path": "/statusReason"},
            {"op": "move", "from": "/status", "path": "/x-status"},
        ],
        "C-1",
    )
    assert result == {
        "name": "Sun Mobile",
        "engagedParty": STORED["engagedParty"],
        "characteristic": [{"name": "seats", "value": 12}, {"name": "churn", "value": "low"}],
        "@type": "Customer",
        "statusReason": "Sun",
        "x-status": "Approved",
    }
    assert document == STORED


def test_json_patch_may_copy_from_the_id() -> None:
    document = stored()
    result = apply_patch(document, JSON_PATCH, [{"op": "copy", "from": "/id", "path": "/externalId"}], "C-1")
    assert result == {**STORED, "externalId": "C-1"}  # the id is read, never written back
    assert list(result)[-1] == "externalId" and "id" not in result
    assert document == STORED
    nested = apply_patch(
        stored(), JSON_PATCH, [{"op": "copy", "from": "/id", "path": "/engagedParty/customerRef"}], "C-2"
    )
    assert nested["engagedParty"] == {**STORED["engagedParty"], "customerRef": "C-2"}


def test_without_an_id_json_patch_sees_the_stored_document_only() -> None:
    assert apply_patch(stored(), JSON_PATCH, [{"op": "test", "path": "", "value": STORED}]) == STORED
    error = invalid(stored(), JSON_PATCH, [{"op": "copy", "from": "/id", "path": "/x"}], None)
    assert error.field == "path" and error.message.startswith("JSON Patch cannot be applied: ")


def test_a_test_of_the_whole_customer_is_allowed() -> None:
    whole = {"id": "C-1", **STORED}
    assert apply_patch(stored(), JSON_PATCH, [{"op": "test", "path": "", "value": whole}], "C-1") == STORED
    with pytest.raises(Conflict) as caught:
        apply_patch(stored(), JSON_PATCH, [{"op": "test", "path": "", "value": STORED}], "C-1")
    assert caught.value.message.startswith("JSON Patch test failed: ")
    assert caught.value.status == 409


@pytest.mark.parametrize("op", ["replace", "add", "remove", "copy", "move"])
def test_json_patch_cannot_replace_the_whole_customer(op: str) -> None:
    operation = {"op": op, "path": "", "value": {"name": "x"}, "from": "/name"}
    error = invalid(
        stored(), JSON_PATCH, [{"op": "test", "path": "/name", "value": "Sun Telecom"}, operation]
    )
    assert (error.message, error.field) == ("A JSON Patch cannot replace the whole customer", "path")


@pytest.mark.parametrize("name", ["id", "href"])
@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "/{}", "value": "x"},
        {"op": "add", "path": "/{}", "value": "x"},
        {"op": "remove", "path": "/{}"},
        {"op": "test", "path": "/{}", "value": "x"},
        {"op": "add", "path": "/{}/deeper", "value": "x"},
        {"op": "move", "from": "/{}", "path": "/x"},
        {"op": "copy", "from": "/name", "path": "/{}"},
        {"op": "move", "from": "/name", "path": "/{}"},
    ],
)
def test_json_patch_cannot_touch_id_or_href(name: str, operation: dict[str, str]) -> None:
    concrete = {key: value.format(name) for key, value in operation.items()}
    error = invalid(stored(), JSON_PATCH, [{"op": "test", "path": "/name", "value": "Sun Telecom"}, concrete])
    assert (error.message, error.field) == (f"'{name}' is set by the server and cannot be patched", name)


def test_a_pointer_that_is_not_text_does_not_hide_the_other_one() -> None:
    error = invalid(stored(), JSON_PATCH, [{"op": "move", "from": "/id", "path": 5}])
    assert (error.message, error.field) == ("'id' is set by the server and cannot be patched", "id")
    error = invalid(stored(), JSON_PATCH, [{"op": "copy", "from": None, "path": "/href"}])
    assert (error.message, error.field) == ("'href' is set by the server and cannot be patched", "href")


def test_json_patch_cannot_copy_from_href() -> None:
    error = invalid(stored(), JSON_PATCH, [{"op": "copy", "from": "/href", "path": "/x"}])
    assert (error.message, error.field) == ("'href' is set by the server and cannot be patched", "href")


def test_members_that_only_look_like_id_are_patchable() -> None:
    result = apply_patch(
        stored(),
        JSON_PATCH,
        [
            {"op": "add", "path": "/identity", "value": "x"},
            {"op": "replace", "path": "/engagedParty/id", "value": "ORG-2"},
            {"op": "add", "path": "/hrefs", "value": ["y"]},
        ],
        "C-1",
    )
    assert result == {
        **STORED,
        "engagedParty": {**STORED["engagedParty"], "id": "ORG-2"},
        "identity": "x",
        "hrefs": ["y"],
    }


@pytest.mark.parametrize("patch", [{"op": "add", "path": "/name", "value": "x"}, "ops", None, 1])
def test_a_json_patch_must_be_an_array(patch: Any) -> None:
    error = invalid(stored(), JSON_PATCH, patch)
    assert (error.message, error.field) == ("A JSON Patch must be an array of operations", "")


def test_each_operation_must_be_an_object_named_by_its_index() -> None:
    error = invalid(stored(), JSON_PATCH, [{"op": "add", "path": "/x", "value": 1}, ["add"]])
    assert (error.message, error.field) == ("JSON Patch operation 1 must be an object", "[1]")


def test_a_failed_test_is_a_conflict_and_nothing_is_applied() -> None:
    document = stored()
    with pytest.raises(Conflict) as caught:
        apply_patch(
            document,
            JSON_PATCH,
            [
                {"op": "replace", "path": "/name", "value": "X"},
                {"op": "test", "path": "/status", "value": "No"},
            ],
            "C-1",
        )
    assert caught.value.message.startswith("JSON Patch test failed: ")
    assert document == STORED


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": "/nothing/here"},
        {"op": "replace", "path": "/missing", "value": 1},
        {"op": "copy", "from": "/missing", "path": "/x"},
        {"op": "add", "path": "name", "value": "x"},
        {"op": "add", "path": "/characteristic/9", "value": {}},
    ],
)
def test_a_path_that_cannot_be_applied_names_the_path(operation: dict[str, Any]) -> None:
    error = invalid(stored(), JSON_PATCH, [operation])
    assert error.field == "path" and error.message.startswith("JSON Patch cannot be applied: ")


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "jump", "path": "/name"},
        {"path": "/name", "value": "x"},
        {"op": "add", "path": 5, "value": "x"},
        {"op": "add", "path": "/name"},
    ],
)
def test_a_malformed_operation_is_invalid(operation: dict[str, Any]) -> None:
    error = invalid(stored(), JSON_PATCH, [operation])
    assert error.field == "" and error.message.startswith("Invalid JSON Patch: ")


# -- through REST ---------------------------------------------------------------------------------


async def test_rest_json_patch_copies_the_id_into_an_attribute(client: httpx.AsyncClient) -> None:
    created = await create(client, MOON)
    url = f"/customer/{created['id']}"
    operations = [{"op": "copy", "from": "/id", "path": "/externalId"}]
    response = await client.patch(url, content=orjson.dumps(operations), headers=JSON_PATCH_TYPE)
    assert response.status_code == 200, response.text
    assert response.json() == {**created, "externalId": created["id"]}
    assert (await client.get(url)).json() == response.json()


async def test_rest_json_patch_refuses_the_whole_customer_and_the_href(client: httpx.AsyncClient) -> None:
    created = await create(client, MOON)
    url = f"/customer/{created['id']}"
    cases = [
        ([{"op": "replace", "path": "", "value": {**MOON, "name": "Other"}}], "whole customer"),
        ([{"op": "copy", "from": "/href", "path": "/x-link"}], "'href' is set by the server"),
        ([{"op": "move", "from": "/id", "path": "/externalId"}], "'id' is set by the server"),
    ]
    for operations, message in cases:
        response = await client.patch(url, content=orjson.dumps(operations), headers=JSON_PATCH_TYPE)
        assert_tmf_error(response, 400, message)
    assert (await client.get(url)).json() == created
