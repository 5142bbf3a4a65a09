"""The per-component dependency sets in pyproject.toml, as the image tests read them.

Each components/knpy/<pkg>/Dockerfile installs `knpy[<pkg with dashes>]`: the base
`dependencies` plus that extra (docs/images.md).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = REPO / "pyproject.toml"
# Extras that are not an image's set.
NOT_COMPONENTS = frozenset({"all", "dev", "load", "tracing"})


def _project() -> dict:
    with PYPROJECT.open("rb") as f:
        return tomllib.load(f)["project"]


def components() -> list[str]:
    """Package names (queue_proxy, ...) of the components that have an image."""
    return sorted(d.parent.name for d in (REPO / "components" / "knpy").glob("*/Dockerfile"))


def extra_of(component: str) -> str:
    return component.replace("_", "-")


def component_extras() -> dict[str, list[str]]:
    extras = _project()["optional-dependencies"]
    return {k: v for k, v in extras.items() if k not in NOT_COMPONENTS}


def requirements(extra: str) -> list[str]:
    """What `pip install knpy[extra]` asks for: the base plus the extra."""
    project = _project()
    return [*project["dependencies"], *project["optional-dependencies"][extra]]


def dist_name(requirement: str) -> str:
    """The canonical distribution name a requirement names (PEP 503)."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()
