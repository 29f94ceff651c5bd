"""The TMF629 v4 Customer and its sub-resources as GraphQL output types.

Every v4 attribute is here, camelCase, with the TMF `@` members named `type`, `baseType`,
`schemaLocation` and `referredType`. Members a client sent that v4 does not name come back in
`extensions`. Values are returned as stored: what the client sent comes back unchanged.
"""

from __future__ import annotations

from typing import Any, Self

import strawberry

from app.services import CustomerRecord, customer_href
from schema.convert import from_document
from schema.scalars import JSON, DateTime

_EXTENSIONS = "Members the client sent that TMF629 v4 does not name, as sent"


def _type_field() -> Any:
    return strawberry.field(name="type", default=None, description="The TMF `@type`")


@strawberry.type(description="A period of time: a start, an end, or both")
class TimePeriod:
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    extensions: JSON | None = strawberry.field(default=None, description=_EXTENSIONS)


@strawberry.type(description="A reference to a party (an Individual or an Organization) and its role")
class RelatedParty:
    id: str | None = None
    href: str | None = None
    name: str | None = None
    role: str | None = None
    base_type: str | None = None
    schema_location: str | None = None
    type_: str | None = _type_field()
    referred_type: str | None = None
    extensions: JSON | None = strawberry.field(default=None, description=_EXTENSIONS)


@strawberry.type(description="A reference to an account (e.g. a billing account)")
class AccountRef:
    id: str | None = None
    href: str | None = None
    name: str | None = None
    description: str | None = None
    base_type: str | None = None
    schema_location: str | None = None
    type_: str | None = _type_field()
    referred_type: str | None = None
    extensions: JSON | None = strawberry.field(default=None, description=_EXTENSIONS)


@strawberry.type(description="A reference to an agreement")
class AgreementRef:
    id: str | None = None
    href: str | None = None
    name: str | None = None
    base_type: str | None = None
    schema_location: str | None = None
    type_: str | None = _type_field()
    referred_type: str | None = None
    extensions: JSON | None = strawberry.field(default=None, description=_EXTENSIONS)


@strawberry.type(description="A reference to a payment method")
class PaymentMethodRef:
    id: str | None = None
    href: str | None = None
    name: str | None = None
    base_type: str | None = None
    schema_location: str | None = None
    type_: str | None = _type_field()
    referred_type: str | None = None
    extensions: JSON | None = strawberry.field(default=None, description=_EXTENSIONS)


@strawberry.type(description="A named characteristic of the customer; its value is any JSON value")
class Characteristic:
    name: str | None = None
    value_type: str | None = None
    value: JSON | None = None
    base_type: str | None = None
    schema_location: str | None = None
    type_: str | None = _type_field()
    extensions: JSON | None = strawberry.field(default=None, description=_EXTENSIONS)


@strawberry.type(description="The details of a contact medium: an address, a phone number, an email...")
class MediumCharacteristic:
    city: str | None = None
    contact_type: str | None = None
    country: str | None = None
    email_address: str | None = None
    fax_number: str | None = None
    phone_number: str | None = None
    post_code: str | None = None
    social_network_id: str | None = None
    state_or_province: str | None = None
    street1: str | None = None
    street2: str | None = None
    base_type: str | None = None
    schema_location: str | None = None
    type_: str | None = _type_field()
    extensions: JSON | None = strawberry.field(default=None, description=_EXTENSIONS)


@strawberry.type(description="A way to contact the customer")
class ContactMedium:
    medium_type: str | None = None
    preferred: bool | None = None
    characteristic: MediumCharacteristic | None = None
    valid_for: TimePeriod | None = None
    base_type: str | None = None
    schema_location: str | None = None
    type_: str | None = _type_field()
    extensions: JSON | None = strawberry.field(default=None, description=_EXTENSIONS)


@strawberry.type(description="A credit profile of the customer")
class CreditProfile:
    credit_profile_date: DateTime | None = None
    credit_risk_rating: int | None = None
    credit_score: int | None = None
    valid_for: TimePeriod | None = None
    base_type: str | None = None
    schema_location: str | None = None
    type_: str | None = _type_field()
    extensions: JSON | None = strawberry.field(default=None, description=_EXTENSIONS)


@strawberry.type(description="A TMF629 v4 Customer: a party role of an individual or an organization")
class Customer:
    id: strawberry.ID
    href: str = strawberry.field(description="The REST URL of this customer")
    etag: str = strawberry.field(
        description="The REST ETag of this version; give it as `ifMatch` to mutations"
    )
    name: str | None = None
    status: str | None = None
    status_reason: str | None = None
    account: list[AccountRef] | None = None
    agreement: list[AgreementRef] | None = None
    characteristic: list[Characteristic] | None = None
    contact_medium: list[ContactMedium] | None = None
    credit_profile: list[CreditProfile] | None = None
    engaged_party: RelatedParty
    payment_method: list[PaymentMethodRef] | None = None
    related_party: list[RelatedParty] | None = None
    valid_for: TimePeriod | None = None
    base_type: str | None = None
    schema_location: str | None = None
    type_: str = strawberry.field(
        name="type", description="The TMF `@type` (Customer unless the client said)"
    )
    extensions: JSON | None = strawberry.field(default=None, description=_EXTENSIONS)

    @classmethod
    def from_model(cls, record: CustomerRecord, href_base: str) -> Self:
        return from_document(
            cls, record.document, id=record.id, href=customer_href(href_base, record.id), etag=record.etag
        )
