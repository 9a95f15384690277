"""No import cycle between the packages of metaregistry (issue 21 point 2).

A node is a top-level module or package of ``metaregistry`` (``api``, ``log``, ``sync``,
``ingest``, ...); a package's command module (``log/cli.py``) is a node of its own, since
commands sit above every package they drive. Imports under ``if TYPE_CHECKING:`` are
annotations, not dependencies, and are left out; imports inside functions count (a lazy import
still ties two packages together).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import metaregistry

ROOT = Path(metaregistry.__file__).parent

#: Cycles known and being removed, each with the issue that removes it. Empty is the aim.
KNOWN: set[frozenset[str]] = set()


def _node(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "metaregistry":
        return None
    if not ((ROOT / parts[1]).is_dir() or (ROOT / f"{parts[1]}.py").is_file()):
        return None
    if len(parts) >= 3 and parts[2] == "cli" and (ROOT / parts[1]).is_dir():
        return f"{parts[1]}.cli"
    return parts[1]


def _imports(tree: ast.AST) -> Iterator[str]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (name for child in node.orelse for name in _imports_of(child))
            continue
        yield from _imports_of(node)


def _imports_of(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        yield node.module
        yield from (f"{node.module}.{alias.name}" for alias in node.names)
    else:
        yield from _imports(node)


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        source = _node(".".join(p for p in parts if p != "__init__"))
        if source is None:
            continue
        for name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            target = _node(name)
            # a package re-exporting its own command (bench/__init__.py) is one unit
            if target is not None and target not in (source, f"{source}.cli"):
                edges.setdefault(source, set()).add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_packages() -> None:
    unexpected = [sorted(c) for c in cycles(graph()) if c not in KNOWN]
    assert unexpected == [], f"import cycles between packages: {unexpected}"


def test_the_log_knows_nothing_of_http_or_detection() -> None:
    edges = graph()
    assert not edges["log"] & {"api", "feed", "detect", "sync"}, edges["log"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]
