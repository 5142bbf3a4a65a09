"""Each component's extra is what its code imports: the entry module, and everything its
code can import, load in a venv that holds only `knpy[<component>]`'s set, and every
distribution the set names gets loaded (no image carries a client it never imports).

The venvs are built offline from build/wheels/ (hack/images.sh wheels, the wheels the
images install) and cached under build/extra-venvs/ until pyproject.toml changes; knpy
itself comes from components/ on PYTHONPATH.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.extras import REPO, components, dist_name, extra_of, requirements

CLOSURE = REPO / "tests" / "support" / "import_closure.py"
VENVS = REPO / "build" / "extra-venvs"
# Read by zoneinfo as data files, never imported.
DATA_ONLY = frozenset({"tzdata"})


@pytest.fixture(scope="module")
def wheels() -> Path:
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run([REPO / "hack" / "images.sh", "wheels"], check=True, timeout=900, env=env)
    return REPO / "build" / "wheels"


def extra_venv(extra: str, wheels: Path) -> Path:
    reqs = requirements(extra)
    key = hashlib.sha256(json.dumps(reqs).encode() + (wheels / ".inputs").read_bytes())
    venv = VENVS / f"{extra}-{key.hexdigest()[:12]}"
    if (venv / ".ready").exists():
        return venv
    for old in VENVS.glob(f"{extra}-*"):
        shutil.rmtree(old)
    # no pip, no setuptools: nothing in the venv but the set itself
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True,
                   timeout=120)
    subprocess.run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install",
                    "-q", "--no-index", "--find-links", wheels, *reqs], check=True, timeout=300,
                   env={**os.environ, "PIP_FIND_LINKS": ""})
    (venv / ".ready").touch()
    return venv


@pytest.mark.parametrize("component", components())
def test_component_imports_exactly_its_extra(component: str, wheels: Path) -> None:
    extra = extra_of(component)
    venv = extra_venv(extra, wheels)
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO / "components"),
           "PYTHONNOUSERSITE": "1"}
    run = subprocess.run([venv / "bin" / "python", CLOSURE, f"knpy.{component}"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, (
        f"knpy.{component} imports something outside knpy[{extra}]:\n{run.stderr[-3000:]}")
    loaded = {dist_name(d) for d in json.loads(run.stdout)}
    declared = {dist_name(r) for r in requirements(extra)} - DATA_ONLY
    assert declared - loaded == set(), f"knpy[{extra}] names distributions never imported"
