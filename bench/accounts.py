"""The TMF666 scenarios of `make bench`: GET /billingAccount/{id} against the bare-Litestar ceiling, and a
GraphQL page of 20 customers with their accounts against the same page without them.

Accounts are created through the service's own REST door (one billing account per customer of the first
page, each naming its customer as a related party), so the links are the ones real writes keep.
"""

from __future__ import annotations

from typing import Any

import httpx

from bench.checks import CheckFailed, _expect

ACCOUNT_PATH = "/tmf-api/accountManagement/v4"
PAGE_WITHOUT = "{ customers(first: 20) { nodes { id name status } } }"
PAGE_WITH = (
    "{ customers(first: 20) { nodes { id name status accounts { id name"
    " ... on BillingAccount { paymentStatus accountBalance { amount { value unit } } } } } } }"
)


def account_body(customer_id: str, index: int) -> dict[str, Any]:
    return {
        "name": f"Billing account {index}",
        "paymentStatus": "inArrears" if index % 10 == 0 else "paid",
        "relatedParty": [{"id": customer_id, "name": f"Customer {index}", "@referredType": "Customer"}],
        "accountBalance": [
            {
                "balanceType": "receivable",
                "amount": {"value": -12.5 if index % 10 == 0 else 0, "unit": "EUR"},
                "validFor": {"startDateTime": "2026-01-01T00:00:00Z"},
            }
        ],
        "creditLimit": {"value": 500, "unit": "EUR"},
    }


def seed_accounts(base: str, customer_ids: list[str]) -> list[str]:
    """One billing account per customer, created over REST; their ids."""
    ids = []
    with httpx.Client(base_url=f"{base}{ACCOUNT_PATH}", timeout=30) as http:
        for index, customer_id in enumerate(customer_ids):
            response = http.post("/billingAccount", json=account_body(customer_id, index))
            _expect(response, 201)
            ids.append(response.json()["id"])
    return ids


def billing_account(base: str, account_id: str) -> None:
    response = httpx.get(f"{base}{ACCOUNT_PATH}/billingAccount/{account_id}", timeout=10)
    _expect(response, 200)
    if response.json().get("id") != account_id:
        raise CheckFailed(f"GET /billingAccount/{account_id} answered another account: {response.text[:300]}")


def graphql_page(base: str, with_accounts: bool) -> None:
    """The page holds 20 customers, and (with accounts) each of them its billing account."""
    query = PAGE_WITH if with_accounts else PAGE_WITHOUT
    response = httpx.post(f"{base}/graphql", json={"query": query}, timeout=30)
    _expect(response, 200)
    body = response.json()
    if body.get("errors"):
        raise CheckFailed(f"GraphQL answered errors: {body['errors'][0].get('message')}")
    nodes = body["data"]["customers"]["nodes"]
    if len(nodes) != 20 or (with_accounts and not all(len(node["accounts"]) == 1 for node in nodes)):
        raise CheckFailed(
            f"the GraphQL page is not 20 customers with one account each: {response.text[:300]}"
        )
