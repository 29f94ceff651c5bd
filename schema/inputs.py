"""Mutation inputs: the Customer and its sub-resources as the client writes them.

The sub-resource inputs serve both createCustomer and patchCustomer, so their members are optional in
the schema; the service applies the TMF rules to the resulting customer (the same rules as REST) and
names the offending member in a ValidationError. Required by those rules: account[].name,
agreement[].id, paymentMethod[].id, characteristic[].name and value, contactMedium[].mediumType and
characteristic, creditProfile[].creditProfileDate and validFor, relatedParty[] and engagedParty id and
referredType. In patchCustomer a field set to null removes the member (JSON Merge Patch); an absent
field is left as it is; objects merge member by member and arrays are replaced whole.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import UNSET

from schema.convert import to_document
from schema.scalars import JSON, DateTime

_EXTENSIONS = (
    "Members TMF629 v4 does not name (TMF extension by @type/@schemaLocation), stored and returned as sent"
)


def _type_field() -> Any:
    return strawberry.field(name="type", default=UNSET, description="The TMF `@type`")


def _extensions() -> Any:
    return strawberry.field(default=UNSET, description=_EXTENSIONS)


@strawberry.input(description="A period of time: a start, an end, or both")
class TimePeriodInput:
    start_date_time: DateTime | None = UNSET
    end_date_time: DateTime | None = UNSET
    extensions: JSON | None = _extensions()


@strawberry.input(description="A reference to a party; id and referredType are required")
class RelatedPartyInput:
    id: str | None = UNSET
    href: str | None = UNSET
    name: str | None = UNSET
    role: str | None = UNSET
    base_type: str | None = UNSET
    schema_location: str | None = UNSET
    type_: str | None = _type_field()
    referred_type: str | None = UNSET
    extensions: JSON | None = _extensions()


@strawberry.input(description="A reference to an account; name is required")
class AccountRefInput:
    id: str | None = UNSET
    href: str | None = UNSET
    name: str | None = UNSET
    description: str | None = UNSET
    base_type: str | None = UNSET
    schema_location: str | None = UNSET
    type_: str | None = _type_field()
    referred_type: str | None = UNSET
    extensions: JSON | None = _extensions()


@strawberry.input(description="A reference to an agreement or a payment method; id is required")
class EntityRefInput:
    id: str | None = UNSET
    href: str | None = UNSET
    name: str | None = UNSET
    base_type: str | None = UNSET
    schema_location: str | None = UNSET
    type_: str | None = _type_field()
    referred_type: str | None = UNSET
    extensions: JSON | None = _extensions()


@strawberry.input(description="A characteristic; name and value (any JSON value) are required")
class CharacteristicInput:
    name: str | None = UNSET
    value_type: str | None = UNSET
    value: JSON | None = UNSET
    base_type: str | None = UNSET
    schema_location: str | None = UNSET
    type_: str | None = _type_field()
    extensions: JSON | None = _extensions()


@strawberry.input(description="The details of a contact medium")
class MediumCharacteristicInput:
    city: str | None = UNSET
    contact_type: str | None = UNSET
    country: str | None = UNSET
    email_address: str | None = UNSET
    fax_number: str | None = UNSET
    phone_number: str | None = UNSET
    post_code: str | None = UNSET
    social_network_id: str | None = UNSET
    state_or_province: str | None = UNSET
    street1: str | None = UNSET
    street2: str | None = UNSET
    base_type: str | None = UNSET
    schema_location: str | None = UNSET
    type_: str | None = _type_field()
    extensions: JSON | None = _extensions()


@strawberry.input(description="A contact medium; mediumType and characteristic are required")
class ContactMediumInput:
    medium_type: str | None = UNSET
    preferred: bool | None = UNSET
    characteristic: MediumCharacteristicInput | None = UNSET
    valid_for: TimePeriodInput | None = UNSET
    base_type: str | None = UNSET
    schema_location: str | None = UNSET
    type_: str | None = _type_field()
    extensions: JSON | None = _extensions()


@strawberry.input(description="A credit profile; creditProfileDate and validFor are required")
class CreditProfileInput:
    credit_profile_date: DateTime | None = UNSET
    credit_risk_rating: int | None = UNSET
    credit_score: int | None = UNSET
    valid_for: TimePeriodInput | None = UNSET
    base_type: str | None = UNSET
    schema_location: str | None = UNSET
    type_: str | None = _type_field()
    extensions: JSON | None = _extensions()


@strawberry.input(description="The members of a Customer that change; null removes a member, absent keeps it")
class CustomerPatchInput:
    name: str | None = UNSET
    status: str | None = UNSET
    status_reason: str | None = UNSET
    account: list[AccountRefInput] | None = UNSET
    agreement: list[EntityRefInput] | None = UNSET
    characteristic: list[CharacteristicInput] | None = UNSET
    contact_medium: list[ContactMediumInput] | None = UNSET
    credit_profile: list[CreditProfileInput] | None = UNSET
    engaged_party: RelatedPartyInput | None = UNSET
    payment_method: list[EntityRefInput] | None = UNSET
    related_party: list[RelatedPartyInput] | None = UNSET
    valid_for: TimePeriodInput | None = UNSET
    base_type: str | None = UNSET
    schema_location: str | None = UNSET
    type_: str | None = _type_field()
    extensions: JSON | None = strawberry.field(
        default=UNSET, description=_EXTENSIONS + "; a member set to null is removed"
    )

    def to_merge_patch(self) -> dict[str, Any]:
        """The RFC 7396 merge patch of this input, with TMF member names."""
        return to_document(self, keep_null=True)


@strawberry.input(description="A new Customer; name and engagedParty are required")
class CustomerCreateInput:
    name: str
    status: str | None = UNSET
    status_reason: str | None = UNSET
    account: list[AccountRefInput] | None = UNSET
    agreement: list[EntityRefInput] | None = UNSET
    characteristic: list[CharacteristicInput] | None = UNSET
    contact_medium: list[ContactMediumInput] | None = UNSET
    credit_profile: list[CreditProfileInput] | None = UNSET
    engaged_party: RelatedPartyInput
    payment_method: list[EntityRefInput] | None = UNSET
    related_party: list[RelatedPartyInput] | None = UNSET
    valid_for: TimePeriodInput | None = UNSET
    base_type: str | None = UNSET
    schema_location: str | None = UNSET
    type_: str | None = _type_field()
    extensions: JSON | None = _extensions()

    def to_document(self) -> dict[str, Any]:
        """The TMF JSON body of this input (fields given as null are left out)."""
        return to_document(self, keep_null=False)
