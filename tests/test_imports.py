"""The import graph of the `sidecar` package: no cycles, and a self-contained protocol layer.

The graph is read from the source with `ast` (nothing is imported), so a cycle that Python
tolerates at run time because one side imports late is still found: an import inside a
function counts like one at the top of the module (it is the same dependency, deferred).
Imports under `if TYPE_CHECKING:` are left out of the cycle check (they never run; they are
how annotations name a type without depending on its module) but not out of the protocol
check: `sidecar/protocol/` names nothing else of the sidecar, not even for a type.
Implicit parent-package imports (`sidecar.protocol.ops` loads `sidecar/__init__.py` first)
are Python's mechanics, not a dependency written in the code, and are not edges.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sidecar"
PACKAGE = "sidecar"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, *, type_checking: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in `tree`, at any depth (functions, classes, try blocks); the
    body of `if TYPE_CHECKING:` only when `type_checking`."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test) and not type_checking:
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _targets(name: str, node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """The `sidecar` modules one import statement of module `name` depends on."""
    if isinstance(node, ast.Import):
        bases = [alias.name for alias in node.names]
        found: set[str] = set()
        for base in bases:
            while base and base not in known:
                base = base.rpartition(".")[0]
            if base:
                found.add(base)
        return found
    if node.level:
        package = name if (ROOT.parent / Path(*name.split(".")) / "__init__.py").exists() else name.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    if base != PACKAGE and not base.startswith(PACKAGE + "."):
        return set()
    found = set()
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        if sub in known:  # `from sidecar.engine import goals`: the submodule itself
            found.add(sub)
        else:
            found.add(base)
    return {m for m in found if m in known}


def graph(*, type_checking: bool) -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    edges: dict[str, set[str]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        deps: set[str] = set()
        for node in _imports(tree, type_checking=type_checking):
            deps |= _targets(name, node, known)
        deps.discard(name)
        edges[name] = deps
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_graph_reader_sees_the_package() -> None:
    edges = graph(type_checking=False)
    assert {"sidecar.cli", "sidecar.server.app", "sidecar.protocol.ops", "sidecar.errors"} <= set(edges)
    assert "sidecar.protocol.codes" in edges["sidecar.errors"]
    # A function-level import is an edge: cli imports the server only inside `_serve`.
    assert "sidecar.server.app" in edges["sidecar.cli"]


def test_cycle_finder_finds_a_cycle_through_a_function_level_import() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_sidecar_has_no_import_cycles() -> None:
    found = cycles(graph(type_checking=False))
    assert found == [], "import cycles (imports inside functions count): " + "; ".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("module", sorted(m for m in modules() if m.startswith("sidecar.protocol")))
def test_protocol_imports_nothing_else_from_sidecar(module: str) -> None:
    deps = graph(type_checking=True)[module]
    outside = sorted(d for d in deps if not (d == "sidecar.protocol" or d.startswith("sidecar.protocol.")))
    assert outside == [], f"{module} imports {outside}"
