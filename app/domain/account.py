"""The TMF666 v4 Account Management resources and their sub-resources: the one description of each.

Generated once from the official swagger (TMF666-Account-v4.0.0.swagger.json): descriptions, required
members (`required` lists, `minItems`) and member order are the swagger's. Sub-resources of the same shape
as TMF629's (TimePeriod, MediumCharacteristic, PaymentMethodRef) are the customer's classes; those that
differ (TMF666's RelatedParty requires `name`, its ContactMedium requires nothing, its AccountRef requires
`id`) are classes of their own with GraphQL names of their own.

Every resource: `id`/`href` server-owned, `@type` defaulted to the resource's name, `lastModified` stamped
on every write, `state` the lifecycle attribute, and the often-filtered members in indexed columns of the
`account` table (app.store.tables). Members the swagger leaves out of a resource's `_Update` are
`NotPatchable` (a billing account's `accountBalance`, a financial account's `lastModified`).
"""

from __future__ import annotations

from typing import Annotated

from sqlmodel import Field

from app.domain.customer import MediumCharacteristic, PaymentMethodRef, TimePeriod
from app.domain.model import (
    DateTimeText,
    Defaulted,
    Float,
    Indexed,
    Lifecycle,
    Linked,
    NonBlank,
    NotPatchable,
    ServerOwned,
    Stamped,
    TmfModel,
    Uri,
)


class Money(TmfModel):
    """A base / value business entity used to represent money"""

    unit: str = Field(
        default=None, description="Currency (ISO4217 norm uses 3 letters to define the currency)"
    )
    value: Float = Field(default=None, description="A positive floating point number")


class AccountBalance(TmfModel):
    """Balances linked to the account"""

    balanceType: NonBlank = Field(
        description=(
            "Type of the balance : deposit balance, disputed balance, loyalty balance, receivable balance..."
        )
    )
    amount: Money = Field(description="Balance amount")
    validFor: TimePeriod = Field(description="Balance validity period")
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: str = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


class AccountRef(TmfModel):
    """Account reference. A account may be a party account or a financial account."""

    graphql_name = "RelatedAccountRef"
    graphql_input_name = "RelatedAccountRefInput"
    graphql_where_name = "RelatedAccountRefWhere"

    id: NonBlank = Field(description="Unique identifier of the account")
    href: str = Field(default=None, description="Reference of the account")
    description: str = Field(default=None, description="Detailed description of the account")
    name: str = Field(default=None, description="Name of the account")
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: str = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )
    referredType: str = Field(
        default=None,
        alias="@referredType",
        description="The actual type of the target instance when needed for disambiguation.",
    )


class AccountRelationship(TmfModel):
    """Significant connection between accounts. For instance an aggregating account for a list of shop
    branches each having its own billing account."""

    relationshipType: NonBlank = Field(description="Type of relationship")
    account: AccountRef = Field(default=None)
    validFor: TimePeriod = Field(description="Validity period of that relationship")
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: str = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


class BillingCycleSpecificationRefOrValue(TmfModel):
    """An attachment by value or by reference."""

    id: str = Field(default=None, description="Unique identifier of the billing cycle specification")
    href: str = Field(default=None, description="Reference of the billing cycle specification")
    billingDateShift: int = Field(
        default=None,
        description=(
            "An offset of a billing/settlement date. The offset is expressed as number of "
            "days with regard to the start of the billing/settlement period."
        ),
    )
    billingPeriod: str = Field(
        default=None,
        description=(
            "A billing time period. It can be recurring, for example: week, month, quarter of year, year ."
        ),
    )
    chargeDateOffset: int = Field(
        default=None,
        description=(
            "An offset of a date through which charges previously received by the billing "
            "system will appear on the bill. The offset is expressed as number of days with "
            "regard to the start of the BillingPeriod."
        ),
    )
    creditDateOffset: int = Field(
        default=None,
        description=(
            "An offset of a date through which credits previously received by the billing "
            "system will appear on the bill. The offset is expressed as number of days with "
            "regard to the start of the BillingPeriod."
        ),
    )
    dateShift: int = Field(
        default=None,
        description=(
            "An offset of a billing/settlement date. The offset is expressed as number of "
            "days with regard to the start of the billing/settlement period."
        ),
    )
    description: str = Field(
        default=None, description="An explanation regarding this billing cycle specification"
    )
    frequency: str = Field(default=None, description="Frequency of the billing cycle (monthly for instance)")
    isRef: bool = Field()
    mailingDateOffset: int = Field(
        default=None,
        description=(
            "An offset of a customer bill mailing date. The offset is expressed as number of "
            "days with regard to the start of the BillingPeriod."
        ),
    )
    name: NonBlank = Field(description="A short descriptive name")
    paymentDueDateOffset: int = Field(
        default=None,
        description=(
            "An offset of a payment due date. The offset is expressed as number of days with "
            "regard to the start of the BillingPeriod."
        ),
    )
    validFor: TimePeriod = Field(
        default=None, description="The period for which the billing specification cycle is valid"
    )
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: str = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )
    referredType: str = Field(
        default=None,
        alias="@referredType",
        description="The actual type of the target instance when needed for disambiguation.",
    )


class BillFormatRefOrValue(TmfModel):
    """An attachment by value or by reference."""

    id: str = Field(default=None, description="Unique identifier of the bill format")
    href: str = Field(default=None, description="Reference of the bill format")
    description: str = Field(default=None, description="An explanatory text for this bill format")
    isRef: bool = Field()
    name: NonBlank = Field(description="A short descriptive name")
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: str = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )
    referredType: str = Field(
        default=None,
        alias="@referredType",
        description="The actual type of the target instance when needed for disambiguation.",
    )


class BillPresentationMediaRefOrValue(TmfModel):
    """An attachment by value or by reference."""

    id: str = Field(default=None, description="Unique identifier of the bill presentation media")
    href: str = Field(default=None, description="Reference of the bill presentation media")
    description: str = Field(
        default=None, description="An explanatory text describing this bill presentation media"
    )
    isRef: bool = Field()
    name: NonBlank = Field(description="A short descriptive name")
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: str = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )
    referredType: str = Field(
        default=None,
        alias="@referredType",
        description="The actual type of the target instance when needed for disambiguation.",
    )


class BillStructure(TmfModel):
    """The structure of the bill for party accounts (billing or settlement)."""

    cycleSpecification: BillingCycleSpecificationRefOrValue = Field(default=None)
    format: BillFormatRefOrValue = Field(default=None)
    presentationMedia: list[BillPresentationMediaRefOrValue] = Field(default=None)
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: str = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


class ContactMedium(TmfModel):
    """Indicates the contact medium that could be used to contact the party."""

    graphql_name = "AccountContactMedium"
    graphql_input_name = "AccountContactMediumInput"
    graphql_where_name = "AccountContactMediumWhere"

    mediumType: str = Field(
        default=None,
        description=("Type of the contact medium, such as: email address, telephone number, postal address"),
    )
    preferred: bool = Field(
        default=None, description="If true, indicates that is the preferred contact medium"
    )
    characteristic: MediumCharacteristic = Field(
        default=None, description="Any additional characteristic(s) of this contact medium"
    )
    validFor: TimePeriod = Field(
        default=None, description="The time period that the contact medium is valid for"
    )
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: str = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


class RelatedParty(TmfModel):
    """Related Entity reference. A related party defines party or party role linked to a specific
    entity."""

    graphql_name = "AccountRelatedParty"
    graphql_input_name = "AccountRelatedPartyInput"
    graphql_where_name = "AccountRelatedPartyWhere"

    id: NonBlank = Field(description="Unique identifier of a related entity.")
    href: str = Field(default=None, description="Reference of the related entity.")
    name: NonBlank = Field(description="Name of the related entity.")
    role: str = Field(default=None, description="Role played by the related party")
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: str = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )
    referredType: NonBlank = Field(
        alias="@referredType",
        description="The actual type of the target instance when needed for disambiguation.",
    )


class Contact(TmfModel):
    """An individual or an organization used as a contact point for a given account and accessed via
    some contact medium."""

    graphql_name = "AccountContact"
    graphql_input_name = "AccountContactInput"
    graphql_where_name = "AccountContactWhere"

    contactName: str = Field(default=None, description="A displayable name for that contact")
    contactType: NonBlank = Field(description="Type of contact (primary, secondary...)")
    partyRoleType: str = Field(
        default=None,
        description=(
            "Identifies what kind of party role type is linked to the contact (a account manager...)"
        ),
    )
    contactMedium: list[ContactMedium] = Field(default=None)
    relatedParty: RelatedParty = Field(default=None)
    validFor: TimePeriod = Field(description="Validity period of that contact")
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: str = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


class FinancialAccountRef(TmfModel):
    """AccountReceivable reference. An account of money owed by a party to another entity in exchange
    for goods or services that have been delivered or used. An account receivable aggregates the amounts
    of one or more party accounts (billing or settlement) owned by a given party."""

    id: NonBlank = Field(description="Unique identifier of the account")
    href: str = Field(default=None, description="Unique reference of the account")
    name: str = Field(default=None, description="Name of the account")
    accountBalance: AccountBalance = Field(default=None)
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: str = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )
    referredType: str = Field(
        default=None,
        alias="@referredType",
        description="The actual type of the target instance when needed for disambiguation.",
    )


class PaymentPlan(TmfModel):
    """Defines a plan for payment (when a party wants to spread his payments)"""

    numberOfPayments: int = Field(
        default=None, description="Number of payments used to spread the global payment"
    )
    paymentFrequency: str = Field(
        default=None, description="Frequency of the payments, such as monthly and bimonthly"
    )
    planType: str = Field(default=None, description="Type of payment plan")
    priority: int = Field(default=None, description="Priority of the payment plan")
    status: str = Field(default=None, description="Status of the payment plan (effective, ineffective)")
    paymentMethod: PaymentMethodRef = Field(default=None)
    totalAmount: Money = Field(default=None, description="Amount paid")
    validFor: TimePeriod = Field(default=None, description="Validity period of the payment plan")
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: str = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


class AccountTaxExemption(TmfModel):
    """Proof of freedom from taxes imposed by a taxing jurisdiction"""

    certificateNumber: str = Field(
        default=None,
        description=(
            "Identifier of a document that shows proof of exemption from taxes for the taxing jurisdiction"
        ),
    )
    issuingJurisdiction: NonBlank = Field(
        description="Name of the taxing jurisdiction for which taxes are exempt"
    )
    reason: str = Field(default=None, description="Reason of the tax exemption")
    validFor: TimePeriod = Field(description="Period for which the exemption is valid")
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: str = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


class PartyAccount(TmfModel):
    """Account used for billing or for settlement purposes concerning a given party (an organization or
    an individual). It is a specialization of entity Account."""

    id: Annotated[str, ServerOwned(), Indexed("id")] = Field(
        default=None, description="Unique identifier of the account"
    )
    href: Annotated[str, ServerOwned()] = Field(default=None, description="Unique reference of the account")
    accountType: Annotated[str, Indexed("account_type")] = Field(
        default=None,
        description=(
            "A categorization of an account, such as individual, joint, and so forth, whose "
            "instances share some of the same characteristics. Note: for flexibility we use a"
            " String here but an implementation may use an enumeration with a limited list of"
            " valid values."
        ),
    )
    description: str = Field(default=None, description="Detailed description of the party account")
    lastModified: Annotated[DateTimeText, Stamped(), Indexed("last_modified")] = Field(
        default=None, description="Date of last modification of the account"
    )
    name: Annotated[NonBlank, Indexed("name")] = Field(description="Name of the account")
    paymentStatus: Annotated[str, Indexed("payment_status")] = Field(
        default=None, description="The condition of the account, such as due, paid, in arrears."
    )
    state: Annotated[str, Lifecycle(), Indexed("state")] = Field(
        default=None, description="Contains the lifecycle state such as: Active, Closed, Suspended and so on."
    )
    accountBalance: Annotated[list[AccountBalance], NotPatchable()] = Field(default=None)
    accountRelationship: list[AccountRelationship] = Field(default=None)
    billStructure: BillStructure = Field(default=None)
    contact: list[Contact] = Field(default=None)
    creditLimit: Money = Field(
        default=None, description="The maximum amount of money that may be charged on an account"
    )
    defaultPaymentMethod: PaymentMethodRef = Field(default=None)
    financialAccount: FinancialAccountRef = Field(default=None)
    paymentPlan: list[PaymentPlan] = Field(default=None)
    relatedParty: Annotated[list[RelatedParty], Linked("id", "@referredType")] = Field(min_length=1)
    taxExemption: list[AccountTaxExemption] = Field(default=None)
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: Annotated[str, Defaulted("PartyAccount")] = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


class BillingAccount(TmfModel):
    """A party account used for billing purposes. It includes a description of the bill structure
    (frequency, presentation media, format and so on). It is a specialization of entity PartyAccount."""

    id: Annotated[str, ServerOwned(), Indexed("id")] = Field(
        default=None, description="Unique identifier of the account"
    )
    href: Annotated[str, ServerOwned()] = Field(default=None, description="Unique reference of the account")
    accountType: Annotated[str, Indexed("account_type")] = Field(
        default=None,
        description=(
            "A categorization of an account, such as individual, joint, and so forth, whose "
            "instances share some of the same characteristics. Note: for flexibility we use a"
            " String here but an implementation may use an enumeration with a limited list of"
            " valid values."
        ),
    )
    description: str = Field(default=None, description="Detailed description of the party account")
    lastModified: Annotated[DateTimeText, Stamped(), Indexed("last_modified")] = Field(
        default=None, description="Date of last modification of the account"
    )
    name: Annotated[NonBlank, Indexed("name")] = Field(description="Name of the account")
    paymentStatus: Annotated[str, Indexed("payment_status")] = Field(
        default=None, description="The condition of the account, such as due, paid, in arrears."
    )
    state: Annotated[str, Lifecycle(), Indexed("state")] = Field(
        default=None, description="Contains the lifecycle state such as: Active, Closed, Suspended and so on."
    )
    accountBalance: Annotated[list[AccountBalance], NotPatchable()] = Field(default=None)
    accountRelationship: list[AccountRelationship] = Field(default=None)
    billStructure: BillStructure = Field(default=None)
    contact: list[Contact] = Field(default=None)
    creditLimit: Money = Field(
        default=None, description="The maximum amount of money that may be charged on an account"
    )
    defaultPaymentMethod: PaymentMethodRef = Field(default=None)
    financialAccount: FinancialAccountRef = Field(default=None)
    paymentPlan: list[PaymentPlan] = Field(default=None)
    relatedParty: Annotated[list[RelatedParty], Linked("id", "@referredType")] = Field(min_length=1)
    taxExemption: list[AccountTaxExemption] = Field(default=None)
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: Annotated[str, Defaulted("BillingAccount")] = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


class SettlementAccount(TmfModel):
    """A party account used for settlement purposes. It includes a description of the bill structure
    (frequency, presentation media, format and so on). It is a specialization of entity PartyAccount."""

    id: Annotated[str, ServerOwned(), Indexed("id")] = Field(
        default=None, description="Unique identifier of the account"
    )
    href: Annotated[str, ServerOwned()] = Field(default=None, description="Unique reference of the account")
    accountType: Annotated[str, Indexed("account_type")] = Field(
        default=None,
        description=(
            "A categorization of an account, such as individual, joint, and so forth, whose "
            "instances share some of the same characteristics. Note: for flexibility we use a"
            " String here but an implementation may use an enumeration with a limited list of"
            " valid values."
        ),
    )
    description: str = Field(default=None, description="Detailed description of the party account")
    lastModified: Annotated[DateTimeText, Stamped(), Indexed("last_modified")] = Field(
        default=None, description="Date of last modification of the account"
    )
    name: Annotated[NonBlank, Indexed("name")] = Field(description="Name of the account")
    paymentStatus: Annotated[str, Indexed("payment_status")] = Field(
        default=None, description="The condition of the account, such as due, paid, in arrears."
    )
    state: Annotated[str, Lifecycle(), Indexed("state")] = Field(
        default=None, description="Contains the lifecycle state such as: Active, Closed, Suspended and so on."
    )
    accountBalance: Annotated[list[AccountBalance], NotPatchable()] = Field(default=None)
    accountRelationship: list[AccountRelationship] = Field(default=None)
    billStructure: BillStructure = Field(default=None)
    contact: list[Contact] = Field(default=None)
    creditLimit: Money = Field(
        default=None, description="The maximum amount of money that may be charged on an account"
    )
    defaultPaymentMethod: PaymentMethodRef = Field(default=None)
    financialAccount: FinancialAccountRef = Field(default=None)
    paymentPlan: list[PaymentPlan] = Field(default=None)
    relatedParty: Annotated[list[RelatedParty], Linked("id", "@referredType")] = Field(min_length=1)
    taxExemption: list[AccountTaxExemption] = Field(default=None)
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: Annotated[str, Defaulted("SettlementAccount")] = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


class FinancialAccount(TmfModel):
    """An account of money owed by a party to another entity in exchange for goods or services that have
    been delivered or used. A financial (account receivable account/account payable) aggregates the
    amounts of one or more party accounts (billing or settlement) owned by a given party. It is a
    specialization of entity Account."""

    id: Annotated[str, ServerOwned(), Indexed("id")] = Field(
        default=None, description="Unique identifier of the account"
    )
    href: Annotated[str, ServerOwned()] = Field(default=None, description="Unique reference of the account")
    accountType: Annotated[str, Indexed("account_type")] = Field(
        default=None,
        description=(
            "A categorization of an account, such as individual, joint, and so forth, whose "
            "instances share some of the same characteristics. Note: for flexibility we use a"
            " String here but an implementation may use an enumeration with a limited list of"
            " valid values."
        ),
    )
    description: str = Field(default=None, description="Detailed description of the party account")
    lastModified: Annotated[DateTimeText, Stamped(), NotPatchable(), Indexed("last_modified")] = Field(
        default=None, description="Date of last modification of the account"
    )
    name: Annotated[NonBlank, Indexed("name")] = Field(description="Name of the account")
    state: Annotated[str, Lifecycle(), Indexed("state")] = Field(
        default=None, description="Contains the lifecycle state such as: Active, Closed, Suspended and so on."
    )
    accountBalance: list[AccountBalance] = Field(default=None)
    accountRelationship: list[AccountRelationship] = Field(default=None)
    contact: list[Contact] = Field(default=None)
    creditLimit: Money = Field(
        default=None, description="The maximum amount of money that may be charged on an account"
    )
    relatedParty: Annotated[list[RelatedParty], Linked("id", "@referredType")] = Field(default=None)
    taxExemption: list[AccountTaxExemption] = Field(default=None)
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: Annotated[str, Defaulted("FinancialAccount")] = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


class BillingCycleSpecification(TmfModel):
    """A detailed description of when to initiate a billing cycle and the various sub steps of a billing
    cycle."""

    id: Annotated[str, ServerOwned(), Indexed("id")] = Field(
        default=None, description="Unique identifier of the billing cycle specification"
    )
    href: Annotated[str, ServerOwned()] = Field(
        default=None, description="Reference of the billing cycle specification"
    )
    billingDateShift: int = Field(
        default=None,
        description=(
            "An offset of a billing/settlement date. The offset is expressed as number of "
            "days with regard to the start of the billing/settlement period."
        ),
    )
    billingPeriod: str = Field(
        default=None,
        description=(
            "A billing time period. It can be recurring, for example: week, month, quarter of year, year ."
        ),
    )
    chargeDateOffset: int = Field(
        default=None,
        description=(
            "An offset of a date through which charges previously received by the billing "
            "system will appear on the bill. The offset is expressed as number of days with "
            "regard to the start of the BillingPeriod."
        ),
    )
    creditDateOffset: int = Field(
        default=None,
        description=(
            "An offset of a date through which credits previously received by the billing "
            "system will appear on the bill. The offset is expressed as number of days with "
            "regard to the start of the BillingPeriod."
        ),
    )
    description: str = Field(
        default=None, description="An explanation regarding this billing cycle specification"
    )
    frequency: str = Field(default=None, description="Frequency of the billing cycle (monthly for instance)")
    mailingDateOffset: int = Field(
        default=None,
        description=(
            "An offset of a customer bill mailing date. The offset is expressed as number of "
            "days with regard to the start of the BillingPeriod."
        ),
    )
    name: Annotated[NonBlank, Indexed("name")] = Field(description="A short descriptive name")
    paymentDueDateOffset: int = Field(
        default=None,
        description=(
            "An offset of a payment due date. The offset is expressed as number of days with "
            "regard to the start of the BillingPeriod."
        ),
    )
    validFor: TimePeriod = Field(
        default=None, description="The period for which the billing specification cycle is valid"
    )
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: Annotated[str, Defaulted("BillingCycleSpecification")] = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


class BillFormat(TmfModel):
    """A detailed description of the way in which a bill is presented."""

    id: Annotated[str, ServerOwned(), Indexed("id")] = Field(
        default=None, description="Unique identifier of the bill format"
    )
    href: Annotated[str, ServerOwned()] = Field(default=None, description="Reference of the bill format")
    description: str = Field(default=None, description="An explanatory text for this bill format")
    name: Annotated[NonBlank, Indexed("name")] = Field(description="A short descriptive name")
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: Annotated[str, Defaulted("BillFormat")] = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


class BillPresentationMedia(TmfModel):
    """A mean of communicating a bill, supported by the associated bill format. For example, post mail,
    email, web page."""

    id: Annotated[str, ServerOwned(), Indexed("id")] = Field(
        default=None, description="Unique identifier of the bill presentation media"
    )
    href: Annotated[str, ServerOwned()] = Field(
        default=None, description="Reference of the bill presentation media"
    )
    description: str = Field(
        default=None, description="An explanatory text describing this bill presentation media"
    )
    name: Annotated[NonBlank, Indexed("name")] = Field(description="A short descriptive name")
    baseType: str = Field(
        default=None, alias="@baseType", description="When sub-classing, this defines the super-class"
    )
    schemaLocation: Uri = Field(
        default=None,
        alias="@schemaLocation",
        description="A URI to a JSON-Schema file that defines additional attributes and relationships",
    )
    type_: Annotated[str, Defaulted("BillPresentationMedia")] = Field(
        default=None, alias="@type", description="When sub-classing, this defines the sub-class entity name"
    )


# The members every account (party, billing, settlement, financial) answers to: GraphQL's `Account`
# interface. The financial account has no `paymentStatus` of its own and answers it from its extensions.
ACCOUNT_COMMON = (
    "id",
    "href",
    "name",
    "accountType",
    "description",
    "state",
    "paymentStatus",
    "lastModified",
    "relatedParty",
    "contact",
    "accountBalance",
    "creditLimit",
    "@type",
)
