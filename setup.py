"""Build glue: the compiled hot paths (the packages come from pyproject.toml).

Each hot path is written once, as plain Python (`components/knpy/runtime/hotpath/<name>_py.py`).
`cext/<name>_c.pxd` adds C types to that same source, and Cython compiles the pair into
`knpy.runtime.hotpath.<name>_c`. The plain module stays importable as the reference twin, so
there is one program, not two that can drift (see docs/hotpaths.md).

Set KNPY_NO_EXTENSIONS=1 to build and run without the compiled modules.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from setuptools import Extension, setup

ROOT = Path(__file__).parent
HOTPATH = ROOT / "components" / "knpy" / "runtime" / "hotpath"
CEXT = ROOT / "cext"
STAGE = ROOT / "build" / "cext" / "knpy" / "runtime" / "hotpath"


def extensions() -> list[Extension]:
    if os.environ.get("KNPY_NO_EXTENSIONS"):
        return []
    from Cython.Build import cythonize

    STAGE.mkdir(parents=True, exist_ok=True)
    for pkg in (STAGE.parent.parent, STAGE.parent, STAGE):
        (pkg / "__init__.py").touch()
    exts = []
    for pxd in sorted(CEXT.glob("*_c.pxd")):
        stem = pxd.name.removesuffix("_c.pxd")
        twin = HOTPATH / f"{stem}_py.py"
        if not twin.exists():
            raise SystemExit(f"cext/{pxd.name} has no pure-Python twin at {twin.relative_to(ROOT)}")
        # Cython pairs foo_c.py with foo_c.pxd when they sit side by side.
        shutil.copyfile(twin, STAGE / f"{stem}_c.py")
        shutil.copyfile(pxd, STAGE / f"{stem}_c.pxd")
        exts.append(
            Extension(
                f"knpy.runtime.hotpath.{stem}_c",
                [str((STAGE / f"{stem}_c.py").relative_to(ROOT))],
                extra_compile_args=["-O3"],
            )
        )
    return cythonize(
        exts,
        language_level=3,
        annotate=True,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


setup(ext_modules=extensions())
