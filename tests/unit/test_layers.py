"""The architecture has one source: the `layers` contract in .importlinter. The diagram in
docs/architecture.md must list the same modules group for group, and the stdlib-only
contract of runtime.hotpath must ban every runtime dependency of the project."""

from __future__ import annotations

import configparser
import importlib.metadata
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _linter() -> configparser.ConfigParser:
    cp = configparser.ConfigParser()
    cp.read(ROOT / ".importlinter")
    return cp


def _contract_layers() -> list[set[str]]:
    raw = _linter()["importlinter:contract:layers"]["layers"]
    return [{m.strip() for m in line.split("|")} for line in raw.strip().splitlines()]


def _diagram_layers() -> list[set[str]]:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    block = doc.split("components: one image each", 1)[1].split("```", 1)[0]
    groups: list[set[str]] = [set()]
    for line in block.splitlines():
        if line.startswith("----"):
            groups.append(set())
        elif m := re.match(r"\s+(knpy\.[\w.]+)", line):
            groups[-1].add(m.group(1))
    return groups


def test_diagram_matches_the_layers_contract() -> None:
    assert _diagram_layers() == _contract_layers()


def test_every_layer_exists() -> None:
    for layer in _contract_layers():
        for module in layer:
            path = ROOT / "components" / Path(*module.split("."))
            assert path.is_dir() or path.with_suffix(".py").is_file(), module


def _top_level_imports(requirement: str) -> set[str]:
    dist = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)  # type: ignore[union-attr]
    norm = re.sub(r"[-_.]+", "-", dist).lower()
    tops = {top for top, dists in importlib.metadata.packages_distributions().items()
            if any(re.sub(r"[-_.]+", "-", d).lower() == norm for d in dists)
            and not top.startswith("_")}
    return tops or {norm.replace("-", "_")}  # not installed here: its usual import name


def _runtime_requirements() -> list[str]:
    """What some image installs: the base dependencies and every extra but dev tools."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    return [*project["dependencies"],
            *(r for name, reqs in extras.items() if name not in ("dev", "load") for r in reqs
              if not r.startswith("knpy"))]


def test_hotpath_bans_every_runtime_dependency() -> None:
    contract = _linter()["importlinter:contract:hotpath-stdlib-only"]
    banned = set(contract["forbidden_modules"].split())
    missing = {d: sorted(_top_level_imports(d) - banned) for d in _runtime_requirements()}
    assert {d: m for d, m in missing.items() if m} == {}
