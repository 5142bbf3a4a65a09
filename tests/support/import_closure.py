"""Import a knpy component's entry module and everything its code can import; print the
third-party distributions that got loaded (a JSON list on stdout).

Run it with the interpreter under test (a venv holding only one extra's set):
    python tests/support/import_closure.py knpy.queue_proxy
A plain import misses imports inside functions (`import uvloop` in main()), so every knpy
module that gets loaded is also parsed and each module it names in an import statement,
at any depth, is imported too, until nothing new appears. `__main__` is parsed, never run.
Imports under `if TYPE_CHECKING:` are skipped; those inside `try: ... except ImportError`
are optional: tried, and a missing one is not an error. Any other ImportError is the
failure being tested. Standard library only.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.metadata
import importlib.util
import json
import sys


def _guard(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    """"typing", "optional" or "" for the block an import statement sits in."""
    while node in parents:
        node, child = parents[node], node
        if isinstance(node, ast.If) and child in node.body and ast.unparse(
                node.test).endswith("TYPE_CHECKING"):
            return "typing"
        if isinstance(node, ast.Try) and child in node.body and any(
                h.type is not None and "ImportError" in ast.unparse(h.type)
                for h in node.handlers):
            return "optional"
    return ""


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def imports_of(module: str) -> dict[str, bool]:
    """Module name -> optional?, for every import statement in `module`'s source."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return {}  # a compiled twin: its pure-Python source is parsed under its own name
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    package = module if spec.submodule_search_locations else module.rpartition(".")[0]
    found: dict[str, bool] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        guard = _guard(node, parents)
        if guard == "typing":
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            # `from knpy.x import y` may import the module knpy.x.y, not just a name
            names = [base] + [f"{base}.{a.name}" for a in node.names
                              if base.split(".")[0] == "knpy" and _is_module(f"{base}.{a.name}")]
        for name in names:
            found[name] = found.get(name, True) and guard == "optional"
    return found


def closure(entry: str) -> None:
    seen: set[str] = set()
    todo: list[tuple[str, bool]] = [(entry, False)]
    while todo:
        name, optional = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if not name.endswith("__main__"):
            if optional:
                with contextlib.suppress(ImportError):
                    importlib.import_module(name)
                continue
            importlib.import_module(name)
        if name.split(".")[0] == "knpy":
            todo.extend(imports_of(name).items())


def loaded_distributions() -> list[str]:
    owners = importlib.metadata.packages_distributions()
    tops = {m.split(".")[0] for m in sys.modules} - {"knpy"}
    return sorted({d for t in tops for d in owners.get(t, [])})


if __name__ == "__main__":
    closure(sys.argv[1] + ".__main__")
    print(json.dumps(loaded_distributions()))
