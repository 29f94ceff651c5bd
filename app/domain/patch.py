"""PATCH formats: RFC 7396 JSON Merge Patch and RFC 6902 JSON Patch, over the stored document."""

from __future__ import annotations

import copy
from enum import Enum
from typing import Any

import jsonpatch
import jsonpointer

from app.domain.errors import Conflict, Invalid, UnsupportedMediaType
from app.domain.resource import SERVER_OWNED


class PatchFormat(Enum):
    MERGE = "application/merge-patch+json"
    JSON_PATCH = "application/json-patch+json"

    @classmethod
    def from_media_type(cls, content_type: str | None) -> PatchFormat:
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media in ("application/json", cls.MERGE.value):
            return cls.MERGE
        if media == cls.JSON_PATCH.value:
            return cls.JSON_PATCH
        raise UnsupportedMediaType(
            f"PATCH media type '{media or '(none)'}' is not supported; use application/merge-patch+json, "
            "application/json or application/json-patch+json"
        )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge recursively, null removes a member, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


def _check_server_owned_merge(patch: Any) -> None:
    if not isinstance(patch, dict):
        raise Invalid("A merge patch must be a JSON object", field="")
    for name in SERVER_OWNED:
        if name in patch:
            raise Invalid(f"'{name}' is set by the server and cannot be patched", field=name)


def _check_server_owned_json_patch(operations: Any) -> None:
    if not isinstance(operations, list):
        raise Invalid("A JSON Patch must be an array of operations", field="")
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise Invalid(f"JSON Patch operation {index} must be an object", field=f"[{index}]")
        for key in ("path", "from"):
            pointer = operation.get(key)
            if not isinstance(pointer, str):
                continue
            head = pointer.split("/")[1] if pointer.startswith("/") else ""
            # Copying the id is reading it; `href` depends on the address and is not in the document.
            copies_id = key == "from" and operation.get("op") == "copy" and head == "id"
            if head in SERVER_OWNED and not copies_id:
                raise Invalid(f"'{head}' is set by the server and cannot be patched", field=head)
            if operation.get("op") != "test" and pointer == "" and key == "path":
                raise Invalid("A JSON Patch cannot replace the whole customer", field="path")


def apply_patch(
    document: dict[str, Any], patch_format: PatchFormat, patch: Any, customer_id: str | None = None
) -> dict[str, Any]:
    """The patched copy of the stored `document` (neither `id` nor `href`).

    A JSON Patch reads the customer as the client does, with its `customer_id` at `/id`, so that it may
    `copy` from `/id`; the id never reaches the result. Raises Invalid for a malformed patch or a bad path,
    Conflict for a failed `test`. The caller validates the result as a whole customer.
    """
    if patch_format is PatchFormat.MERGE:
        _check_server_owned_merge(patch)
        result = merge_patch(document, patch)
        assert isinstance(result, dict)
        return result
    _check_server_owned_json_patch(patch)
    target = document if customer_id is None else {"id": customer_id, **document}
    try:
        result = jsonpatch.JsonPatch(patch).apply(target, in_place=False)
    except jsonpatch.JsonPatchTestFailed as error:
        raise Conflict(f"JSON Patch test failed: {error}") from error
    except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as error:
        raise Invalid(f"JSON Patch cannot be applied: {error}", field="path") from error
    except jsonpatch.InvalidJsonPatch as error:
        raise Invalid(f"Invalid JSON Patch: {error}", field="") from error
    assert isinstance(result, dict)  # only `test` may name the whole document
    if customer_id is not None:
        del result["id"]  # no operation may write /id, so it is still there
    return result
