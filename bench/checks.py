"""One request per scenario before it is measured: a fast wrong answer must not pass for a fast one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from bench.data import API_PATH, GRAPHQL_PAGE_QUERY, GRAPHQL_QUERY, POSTED_NAME


class CheckFailed(RuntimeError):
    pass


class Skip(Exception):
    pass


def _expect(response: httpx.Response, *statuses: int) -> None:
    if response.status_code not in statuses:
        raise CheckFailed(
            f"{response.request.method} {response.request.url.raw_path.decode()} answered "
            f"{response.status_code}, expected {'/'.join(map(str, statuses))}: {response.text[:300]}"
        )


def customer(base: str, customer_id: str, headers: dict[str, str] | None = None) -> None:
    response = httpx.get(f"{base}{API_PATH}/customer/{customer_id}", headers=headers, timeout=10)
    _expect(response, 200)
    body = response.json()
    if body.get("id") != customer_id or not body.get("engagedParty"):
        raise CheckFailed(f"GET /customer/{customer_id} answered another customer: {response.text[:300]}")


def refused_without_credential(base: str, customer_id: str) -> None:
    """With authentication on, the same GET without a credential is a 401: the JWT is really checked."""
    _expect(httpx.get(f"{base}{API_PATH}/customer/{customer_id}", timeout=10), 401)


def page(base: str, party: str, expected_total: int) -> None:
    """The filtered page: 20 customers of that engaged party, and their total in X-Total-Count."""
    response = httpx.get(
        f"{base}{API_PATH}/customer", params={"engagedParty.id": party, "limit": "20"}, timeout=30
    )
    _expect(response, 200, 206)
    items = response.json()
    total = response.headers.get("x-total-count")
    if total != str(expected_total):
        raise CheckFailed(f"X-Total-Count is {total!r}, expected {expected_total} (1% of the customers)")
    if len(items) != min(20, expected_total) or any(c["engagedParty"]["id"] != party for c in items):
        raise CheckFailed(f"the page does not hold {min(20, expected_total)} customers of {party}")


def email_page(base: str, email: str) -> None:
    """The filtered page on a dotted path into an array: the one customer with that e-mail address."""
    response = httpx.get(
        f"{base}{API_PATH}/customer",
        params={"contactMedium.characteristic.emailAddress": email, "limit": "20"},
        timeout=60,
    )
    _expect(response, 200)
    items = response.json()
    emails = [m["characteristic"].get("emailAddress") for c in items for m in c.get("contactMedium", [])]
    if len(items) != 1 or email not in emails or response.headers.get("x-total-count") != "1":
        raise CheckFailed(f"contactMedium.characteristic.emailAddress={email} answered {response.text[:300]}")


def create(base: str, body_file: Path) -> None:
    """A created customer answers 201 with its id, and is there to read at once (the POST committed)."""
    response = httpx.post(
        f"{base}{API_PATH}/customer",
        content=body_file.read_bytes().strip(),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    _expect(response, 201)
    created = response.json()
    if created.get("name") != POSTED_NAME or not created.get("id"):
        raise CheckFailed(f"POST /customer answered {response.text[:300]}")
    customer(base, created["id"])


def graphql(base: str, customer_id: str) -> None:
    """The GraphQL query answers that customer; Skip while the service has no /graphql yet."""
    response = httpx.post(
        f"{base}/graphql", json={"query": GRAPHQL_QUERY, "variables": {"id": customer_id}}, timeout=10
    )
    if response.status_code == 404:
        raise Skip("SKIP: the service has no /graphql endpoint yet (404)")
    _expect(response, 200)
    body: dict[str, Any] = response.json()
    if body.get("errors"):
        raise CheckFailed(f"GraphQL answered errors: {body['errors'][0].get('message')}")
    found = (body.get("data") or {}).get("customer") or {}
    if found.get("id") != customer_id:
        raise CheckFailed(f"GraphQL customer(id) answered {response.text[:300]}")


def graphql_page(base: str, expected_total: int) -> None:
    """customers(first: 20): 20 customers with their nested objects, and the total."""
    response = httpx.post(
        f"{base}/graphql", json={"query": GRAPHQL_PAGE_QUERY, "variables": {"first": 20}}, timeout=30
    )
    _expect(response, 200)
    body: dict[str, Any] = response.json()
    if body.get("errors"):
        raise CheckFailed(f"GraphQL answered errors: {body['errors'][0].get('message')}")
    found = (body.get("data") or {}).get("customers") or {}
    nodes = found.get("nodes") or []
    if found.get("totalCount") != expected_total or len(nodes) != 20:
        raise CheckFailed(
            f"customers(first: 20) answered totalCount {found.get('totalCount')} and {len(nodes)} nodes"
        )
    for node in nodes:
        mediums = node.get("contactMedium") or []
        if not node.get("engagedParty", {}).get("id") or not any(
            (m.get("characteristic") or {}).get("emailAddress") for m in mediums
        ):
            raise CheckFailed(f"customers(first: 20) answered a node without its nested fields: {node}")
