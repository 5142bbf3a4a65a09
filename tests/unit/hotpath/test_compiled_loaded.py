"""Fail CI when a hot path silently runs on its pure twin.

For every cext/<stem>_c.pxd, `knpy.runtime.hotpath.<stem>_c` must import and the public module
`knpy.runtime.hotpath.<stem>` must export that compiled build. The list comes from a glob, so a
new hot path is covered the moment its .pxd lands. Skipped only with KNPY_NO_EXTENSIONS set
(the pure-twin run of the suite).
"""

from __future__ import annotations

import importlib
import inspect
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
STEMS = sorted(p.name.removesuffix("_c.pxd") for p in (ROOT / "cext").glob("*_c.pxd"))

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("KNPY_NO_EXTENSIONS")),
    reason="KNPY_NO_EXTENSIONS is set: the pure twins are meant to run",
)


def test_every_pxd_is_found() -> None:
    assert STEMS, f"no cext/*_c.pxd under {ROOT}"


@pytest.mark.parametrize("stem", STEMS)
def test_compiled_build_imports(stem: str) -> None:
    try:
        mod = importlib.import_module(f"knpy.runtime.hotpath.{stem}_c")
    except ImportError as e:
        pytest.fail(f"knpy.runtime.hotpath.{stem}_c is not built (run `make ext`): {e}")
    # A compiled extension, not a stray .py copy of the twin.
    assert Path(mod.__file__ or "").suffix in {".so", ".pyd"}, mod.__file__


@pytest.mark.parametrize("stem", STEMS)
def test_public_module_exports_compiled_build(stem: str) -> None:
    public = importlib.import_module(f"knpy.runtime.hotpath.{stem}")
    compiled = importlib.import_module(f"knpy.runtime.hotpath.{stem}_c")
    pure = importlib.import_module(f"knpy.runtime.hotpath.{stem}_py")
    assert getattr(public, "COMPILED", None) is True, f"{public.__name__}.COMPILED is not True"
    # Every class and function the public module re-exports from the twin is the compiled one.
    exported = [
        name
        for name, obj in vars(public).items()
        if not name.startswith("_")
        and (inspect.isclass(obj) or callable(obj))
        and getattr(obj, "__module__", None) in {pure.__name__, compiled.__name__}
    ]
    assert exported, f"{public.__name__} re-exports nothing from its twin"
    for name in exported:
        obj = getattr(public, name)
        assert obj.__module__ == compiled.__name__, f"{public.__name__}.{name} is the pure twin"
        assert obj is getattr(compiled, name)
