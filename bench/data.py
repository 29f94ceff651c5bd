"""The customers the benchmark stores, posts and serves from memory: one shape for all of them."""

from __future__ import annotations

from typing import Any

API_PATH = "/tmf-api/customerManagement/v4"
# engagedParty.id takes PARTY_COUNT values in turn, so `engagedParty.id=X` matches 1% of the customers.
PARTY_COUNT = 100
STATUSES = ("Approved", "Pending", "Validated")

GRAPHQL_QUERY = "query($id: ID!){ customer(id: $id){ id href name status engagedParty{ id referredType } } }"
# A page of customers with nested objects and arrays, and its total.
GRAPHQL_PAGE_QUERY = (
    "query($first: Int!){ customers(first: $first){ totalCount pageInfo{ hasNextPage endCursor } "
    "nodes{ id href name status engagedParty{ id name referredType } "
    "contactMedium{ mediumType preferred characteristic{ emailAddress city } } "
    "characteristic{ name value } validFor{ startDateTime } } } }"
)
# The name of every customer a measured POST creates: bench.seed deletes them between measurements.
POSTED_NAME = "Posted by the benchmark"


def party_id(index: int) -> str:
    return f"party-{index % PARTY_COUNT:03d}"


def customer_body(index: int) -> dict[str, Any]:
    """A valid TMF629 Customer as a client would POST it (~700 bytes of JSON)."""
    day = index % 28 + 1
    return {
        "name": f"Customer {index}",
        "status": STATUSES[index % len(STATUSES)],
        "statusReason": "Account details checked",
        "engagedParty": {
            "id": party_id(index),
            "name": f"Organization {index % PARTY_COUNT}",
            "role": "Owner",
            "@referredType": "Organization",
        },
        "contactMedium": [
            {
                "mediumType": "email",
                "preferred": True,
                "characteristic": {"emailAddress": email_of(index), "contactType": "work"},
            },
            {
                "mediumType": "postalAddress",
                "preferred": False,
                "characteristic": {
                    "street1": f"{index % 997 + 1} Main Street",
                    "city": "Lyon",
                    "postCode": "69001",
                    "country": "France",
                },
            },
        ],
        "characteristic": [
            {"name": "segment", "valueType": "string", "value": ("residential", "business")[index % 2]},
            {"name": "loyaltyPoints", "valueType": "integer", "value": index % 5000},
        ],
        "account": [{"id": f"acc-{index}", "name": f"Account {index}", "@referredType": "BillingAccount"}],
        "validFor": {"startDateTime": f"2024-01-{day:02d}T08:00:00Z"},
    }


def posted_body() -> dict[str, Any]:
    """The body of the measured POSTs (and the creates of the mixed load)."""
    return {**customer_body(1_000_003), "name": POSTED_NAME}


def email_of(index: int) -> str:
    return f"customer{index}@example.org"


def customer_resource(customer_id: str, base: str, index: int = 0) -> dict[str, Any]:
    """The wire form the service answers: id and href first, then the stored document."""
    return {
        "id": customer_id,
        "href": f"{base}/customer/{customer_id}",
        **customer_body(index),
        "@type": "Customer",
    }
