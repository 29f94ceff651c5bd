"""One model: the resource is described once (app/domain/customer.py) and everything else is derived.

Each distinctive attribute name is written in one source file; tests/test_domain_model.py shows a throwaway
model getting every derived piece from one class.
"""

import re
from pathlib import Path
from typing import Any

from app.domain.catalogue import Arr, Obj
from app.domain.customer import Customer

ROOT = Path(__file__).resolve().parents[1]
DOORS_AND_DOMAIN = ("app", "rest", "schema", "resolvers")


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def attribute_names(node: Obj) -> set[str]:
    names: set[str] = set()
    for name, member in node.members.items():
        names.add(name.lstrip("@"))
        inner = member.item if isinstance(member, Arr) else member
        if isinstance(inner, Obj):
            names |= attribute_names(inner)
    return names


def test_each_distinctive_attribute_name_is_written_in_one_source_file() -> None:
    """Names that are also everyday words (`name`, `id`, `status`...) are left out: the check is about the
    attribute names only the resource uses, in camelCase or snake_case."""
    from app.domain.resource import CUSTOMER
    from app.domain.tmf666 import ACCOUNT_MANAGEMENT

    distinctive = {n for n in attribute_names(CUSTOMER) if re.search(r"[A-Z]", n)}
    # TMF666 describes its own resources once, in app/domain/account.py, with members of the same names.
    described_by_tmf666 = set().union(
        *(attribute_names(r.type.catalogue) for r in ACCOUNT_MANAGEMENT.resources)
    )
    assert {"socialNetworkId", "creditRiskRating", "stateOrProvince", "statusReason"} <= distinctive
    sources = [p for package in DOORS_AND_DOMAIN for p in (ROOT / package).rglob("*.py")]
    texts = {path: path.read_text() for path in sources}
    spread = {}
    for name in sorted(distinctive):
        pattern = re.compile(rf"\b({re.escape(name)}|{re.escape(snake(name))})\b")
        files = sorted(str(p.relative_to(ROOT)) for p, text in texts.items() if pattern.search(text))
        if name in described_by_tmf666 and "app/domain/account.py" in files:
            files.remove("app/domain/account.py")
        if len(files) != 1:
            spread[name] = files
    assert spread == {}


def test_the_customer_model_is_the_one_description() -> None:
    """Every schema member of the Customer's swagger definition is a model field (spot check)."""
    fields: dict[str, Any] = {f.alias or n: f for n, f in Customer.model_fields.items()}
    assert {"engagedParty", "contactMedium", "@type", "@referredType"} - set(fields) == {"@referredType"}
    assert fields["engagedParty"].is_required()
