"""Imports flow one way: rest/ -> app/, resolvers/ -> schema/ -> app/, app/main.py -> rest/, resolvers/."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_domain_imports_no_door_framework() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            imported_roots(path) & {"litestar", "strawberry", "rest", "resolvers", "schema"}
        )
        for path in modules("app")
        if path.name != "main.py"
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_doors_do_not_import_each_other() -> None:
    for path in modules("rest"):
        assert not imported_roots(path) & {"strawberry", "schema", "resolvers"}, path
    for path in modules("schema"):
        assert not imported_roots(path) & {"litestar", "rest", "resolvers"}, path
    for path in modules("resolvers"):
        assert not imported_roots(path) & {"rest"}, path


def test_the_check_sees_imports() -> None:
    """The walker itself must find a framework import where there is one."""
    assert "litestar" in imported_roots(ROOT / "app" / "main.py")
