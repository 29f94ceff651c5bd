"""The TMF629 v4 Customer and its sub-resources: the one description of the resource.

Descriptions are those of the official swagger (TMF629-Customer-v4.0.0.swagger.json). Everything that
knows the Customer's shape (validation, the query catalogue, field projection, the OpenAPI schemas, the
GraphQL types, inputs and filters, the event payloads) is derived from these classes: adding an attribute
is one line here.
"""

from __future__ import annotations

from typing import Annotated

from sqlmodel import Field

from app.domain.model import (
    AnyValue,
    DateTimeText,
    Defaulted,
    Indexed,
    Lifecycle,
    NonBlank,
    RequiredOnCreate,
    ServerOwned,
    TmfModel,
    Uri,
    create_variant,
    update_variant,
)

_BASE_TYPE = "When sub-classing, this defines the super-class"
_SCHEMA_LOCATION = "A URI to a JSON-Schema file that defines additional attributes and relationships"
_TYPE = "When sub-classing, this defines the sub-class entity name"
_REFERRED_TYPE = "The actual type of the target instance when needed for disambiguation."


class Extensible(TmfModel):
    """The TMF extension members every sub-resource carries."""

    baseType: str = Field(default=None, alias="@baseType", description=_BASE_TYPE)
    schemaLocation: Uri = Field(default=None, alias="@schemaLocation", description=_SCHEMA_LOCATION)
    type_: str = Field(default=None, alias="@type", description=_TYPE)


class TimePeriod(TmfModel):
    """A period of time, either as a deadline (endDateTime only) a startDateTime only, or both"""

    endDateTime: DateTimeText = Field(
        default=None, description="End of the time period, using IETC-RFC-3339 format"
    )
    startDateTime: DateTimeText = Field(
        default=None,
        description="Start of the time period, using IETC-RFC-3339 format. If you define a start, you must "
        "also define an end",
    )


class AccountRef(Extensible):
    """Account reference. A account may be a party account or a financial account."""

    id: str = Field(default=None, description="Unique identifier of the account")
    href: str = Field(default=None, description="Reference of the account")
    description: str = Field(default=None, description="Detailed description of the account")
    name: NonBlank = Field(description="Name of the account")
    referredType: str = Field(default=None, alias="@referredType", description=_REFERRED_TYPE)


class AgreementRef(Extensible):
    """Agreement reference. An agreement represents a contract or arrangement, either written or verbal and
    sometimes enforceable by law, such as a service level agreement or a customer price agreement. An
    agreement involves a number of other business entities, such as products, services, and resources
    and/or their specifications."""

    graphql_input_name = "EntityRefInput"
    graphql_where_name = "EntityRefWhere"

    id: NonBlank = Field(description="Unique identifier of a related entity.")
    href: str = Field(default=None, description="Reference of the related entity.")
    name: str = Field(default=None, description="Name of the agreement")
    referredType: str = Field(default=None, alias="@referredType", description=_REFERRED_TYPE)


class Characteristic(Extensible):
    """Describes a given characteristic of an object or entity through a name/value pair."""

    name: NonBlank = Field(description="Name of the characteristic")
    valueType: str = Field(default=None, description="Data type of the value of the characteristic")
    value: AnyValue = Field(description="The value of the characteristic")


class MediumCharacteristic(Extensible):
    """Describes the contact medium characteristics that could be used to contact a party (an individual or
    an organization)"""

    city: str = Field(default=None, description="The city")
    contactType: str = Field(
        default=None,
        description="The type of contact, for example: phone number such as mobile, fixed home, fixed "
        "office. postal address such as shipping instalation\u2026",
    )
    country: str = Field(default=None, description="The country")
    emailAddress: str = Field(default=None, description="Full email address in standard format")
    faxNumber: str = Field(default=None, description="The fax number of the contact")
    phoneNumber: str = Field(default=None, description="The primary phone number of the contact")
    postCode: str = Field(default=None, description="Postcode")
    socialNetworkId: str = Field(default=None, description="Identifier as a member of a social network")
    stateOrProvince: str = Field(default=None, description="State or province")
    street1: str = Field(default=None, description="Describes the street")
    street2: str = Field(default=None, description="Complementary street description")


class ContactMedium(Extensible):
    """Indicates the contact medium that could be used to contact the party."""

    mediumType: NonBlank = Field(
        description="Type of the contact medium, such as: email address, telephone number, postal address"
    )
    preferred: bool = Field(
        default=None, description="If true, indicates that is the preferred contact medium"
    )
    characteristic: MediumCharacteristic = Field(
        description="Any additional characteristic(s) of this contact medium"
    )
    validFor: TimePeriod = Field(
        default=None, description="The time period that the contact medium is valid for"
    )


class CreditProfile(Extensible):
    """Credit profile for the party (containing credit scoring, ...). By default only the current credit
    profile  is retrieved. It can be used as a list to give the party credit profiles history, the first one
    in the list will be the current one."""

    creditProfileDate: DateTimeText = Field(description="The date the profile was established")
    creditRiskRating: int = Field(
        default=None, description="This is an integer whose value is used to rate the risk"
    )
    creditScore: int = Field(
        default=None,
        description="A measure of a person or organizations creditworthiness calculated on the basis of a "
        "combination of factors such as their income and credit history",
    )
    validFor: TimePeriod = Field(description="The period for which the profile is valid")


class PaymentMethodRef(Extensible):
    """PaymentMethod reference. A payment method defines a specific mean of payment (e.g direct debit)."""

    graphql_input_name = "EntityRefInput"
    graphql_where_name = "EntityRefWhere"

    id: NonBlank = Field(description="Unique identifier of the payment mean")
    href: str = Field(default=None, description="Reference of the payment mean")
    name: str = Field(default=None, description="Name of the payment mean")
    referredType: str = Field(default=None, alias="@referredType", description=_REFERRED_TYPE)


class RelatedParty(Extensible):
    """Related Entity reference. A related party defines party or party role linked to a specific entity."""

    id: NonBlank = Field(description="Unique identifier of a related entity.")
    href: str = Field(default=None, description="Reference of the related entity.")
    name: str = Field(default=None, description="Name of the related entity.")
    role: str = Field(default=None, description="Role played by the related party")
    referredType: NonBlank = Field(alias="@referredType", description=_REFERRED_TYPE)


class Customer(TmfModel):
    """The main party role of an individual or an organization that has a relationship with the service
    provider (the TMF629 v4 Customer)."""

    id: Annotated[str, ServerOwned(), Indexed("id")] = Field(
        default=None, description="Unique identifier for Customers"
    )
    href: Annotated[str, ServerOwned()] = Field(
        default=None, description="Url used to reference the customer."
    )
    name: Annotated[NonBlank, RequiredOnCreate(), Indexed("name")] = Field(
        default=None,
        description="A word, term, or phrase by which the Customer is known and distinguished from other "
        "Customers.",
    )
    status: Annotated[str, Lifecycle(), Indexed("status")] = Field(
        default=None, description="Used to track the lifecycle status of the customer."
    )
    statusReason: str = Field(
        default=None,
        description="A string providing an explanation on the value of the status lifecycle. For instance if "
        "the status is Rejected, statusReason will provide the reason for rejection.",
    )
    account: list[AccountRef] = Field(default=None)
    agreement: list[AgreementRef] = Field(default=None)
    characteristic: list[Characteristic] = Field(
        default=None, description="Describes the characteristic of a customer."
    )
    contactMedium: list[ContactMedium] = Field(default=None)
    creditProfile: list[CreditProfile] = Field(default=None)
    engagedParty: Annotated[RelatedParty, Indexed("engaged_party_id", "id")] = Field(
        description="The party - an organization or an individual - that is engaged as a customer."
    )
    paymentMethod: list[PaymentMethodRef] = Field(default=None)
    relatedParty: list[RelatedParty] = Field(default=None)
    validFor: Annotated[
        TimePeriod, Indexed("valid_for_start", "startDateTime"), Indexed("valid_for_end", "endDateTime")
    ] = Field(default=None, description="The time period that the Customer is valid for.")
    baseType: str = Field(default=None, alias="@baseType", description=_BASE_TYPE)
    schemaLocation: Uri = Field(default=None, alias="@schemaLocation", description=_SCHEMA_LOCATION)
    type_: Annotated[str, Defaulted("Customer")] = Field(default=None, alias="@type", description=_TYPE)


CustomerCreate = create_variant(Customer)
CustomerUpdate = update_variant(Customer)


def example_customer(index: int, status: str, party: str) -> dict[str, object]:
    """A valid customer document for samples and seeding (`tmf629 seed`)."""
    return {
        "name": f"Customer {index}",
        "status": status,
        "engagedParty": {"id": party, "@referredType": "Organization"},
        "contactMedium": [
            {"mediumType": "email", "characteristic": {"emailAddress": f"customer{index}@example.org"}}
        ],
    }
