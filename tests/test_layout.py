"""The house rules a reader relies on: imports point one way, and the library never imports
Streamlit (pages call the library, not the other way round)."""

from __future__ import annotations

import ast
from pathlib import Path

LIB = Path(__file__).resolve().parent.parent / "lib"


def imports() -> dict[str, set[str]]:
    """Each rekon module and the rekon modules it imports (at any depth of its code)."""
    modules = {
        ".".join(p.relative_to(LIB).with_suffix("").parts).removesuffix(".__init__"): p
        for p in LIB.rglob("*.py")
    }
    found: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                deps.add(node.module)
                deps |= {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        found[name] = deps
    return found


def test_no_two_modules_import_each_other() -> None:
    graph = imports()
    pairs = sorted(
        (a, b) for a, deps in graph.items() for b in deps if b in graph and a < b and a in graph[b]
    )
    assert pairs == []


def test_the_library_never_imports_streamlit() -> None:
    users = sorted(
        m for m, deps in imports().items() if any(d.startswith("streamlit") for d in deps)
    )
    assert users == []
