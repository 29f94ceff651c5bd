"""Mutation inputs, derived from the model: the resource and its sub-resources as the client writes them.

The sub-resource inputs serve both the create and the patch mutation, so their members are optional in
the schema; the service applies the model's rules to the resulting document (the same rules as REST) and
names the offending member in a ValidationError. In a patch, a field set to null removes the member (JSON
Merge Patch); an absent field is left as it is; objects merge member by member and arrays are replaced whole.
"""

from __future__ import annotations

from typing import Any

from app.domain.resource import CUSTOMER_TYPE
from schema.convert import to_document
from schema.derive import REGISTRY, input_type


class _CreateBody:
    def to_document(self) -> dict[str, Any]:
        """The TMF JSON body of this input (fields given as null are left out)."""
        return to_document(self, keep_null=False)


class _MergePatch:
    def to_merge_patch(self) -> dict[str, Any]:
        """The RFC 7396 merge patch of this input, with TMF member names."""
        return to_document(self, keep_null=True)


CustomerCreateInput: Any = input_type(
    CUSTOMER_TYPE.create, name="CustomerCreateInput", required=True, bases=(_CreateBody,)
)
CustomerPatchInput: Any = input_type(CUSTOMER_TYPE.update, name="CustomerPatchInput", bases=(_MergePatch,))


def __getattr__(name: str) -> Any:
    """The derived inputs of the sub-resources by name (`RelatedPartyInput`...)."""
    try:
        return REGISTRY.classes[name]
    except KeyError:
        raise AttributeError(name) from None
