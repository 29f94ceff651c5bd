"""Imports flow one way: rest/ -> app/, resolvers/ -> schema/ -> app/, the composition root (app/main.py,
app/cli.py) -> the doors; inside app/ the floors read domain -> store -> query -> services -> events; no
module imports itself back through others, inside a package or across."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "rest", "schema", "resolvers")
COMPOSITION_ROOT = {"app.main", "app.cli"}
DOORS = {"litestar", "strawberry", "rest", "resolvers", "schema"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function, absolute names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def imported_roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    paths = {module_name(path): path for package in PACKAGES for path in modules(package)}
    return {
        name: {m for m in imported_modules(path) if m in paths and m != name} for name, path in paths.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_anywhere() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_check_sees_a_cycle() -> None:
    assert cycles({"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "b": {"a.x"}}) == [["a.x", "a.y", "a.z"]]


def test_domain_imports_no_door_framework() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & DOORS)
        for path in modules("app")
        if module_name(path) not in COMPOSITION_ROOT
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_nothing_imports_the_composition_root() -> None:
    graph = import_graph()
    offenders = {name for name, targets in graph.items() if targets & COMPOSITION_ROOT}
    assert offenders <= COMPOSITION_ROOT


def test_floors_of_app_point_down() -> None:
    """domain -> store -> query -> services -> events: a floor imports only the floors below it."""
    floors = [
        "app.settings",
        "app.domain",
        "app.store",
        "app.query",
        "app.services",
        "app.resources",  # the generic service of registered resources (TMF666), beside the customer's
        "app.links",
        "app.urls",
        "app.events",
    ]

    def floor(name: str) -> int | None:
        return next((i for i, f in enumerate(floors) if name == f or name.startswith(f + ".")), None)

    upward = [
        (source, target)
        for source, targets in import_graph().items()
        for target in targets
        if floor(source) is not None and floor(target) is not None and floor(target) > floor(source)  # type: ignore[operator]
    ]
    assert upward == []


def test_store_backends_import_the_interface_not_the_factory() -> None:
    graph = import_graph()
    assert "app.store.factory" not in graph["app.store.sqlite"] | graph["app.store.postgres"]
    assert "app.store.base" in graph["app.store.sqlite"] and "app.store.base" in graph["app.store.postgres"]


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
