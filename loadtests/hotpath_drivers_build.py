"""Compile loadtests/hotpath_drivers.py into loadtests.hotpath_drivers_c, on demand.

Only the micro-benchmarks need it, so it is built here rather than by setup.py: the wheel
the images install carries the hot paths, not their benchmark loops. Staged under
build/bench/ beside copies of cext/*_c.pxd, so the drivers cimport the compiled hot paths.

    python loadtests/hotpath_drivers_build.py     # build (or rebuild) now
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HOTPATH = ROOT / "components" / "knpy" / "runtime" / "hotpath"
STAGE = ROOT / "build" / "bench"
NAME = "hotpath_drivers_c"


def _inputs() -> list[Path]:
    """What the compiled drivers depend on, the hot paths' own builds included (their
    C layout is compiled into the drivers)."""
    return [HERE / "hotpath_drivers.py", HERE / f"{NAME}.pxd", *(ROOT / "cext").glob("*_c.pxd"),
            *HOTPATH.glob("*_c.*.so")]


def _stale() -> bool:
    built = sorted(HERE.glob(f"{NAME}.*.so"))
    return not built or built[0].stat().st_mtime < max(p.stat().st_mtime for p in _inputs())


def build() -> None:
    from Cython.Build import cythonize
    from setuptools import Extension, setup

    pkg = STAGE / "knpy" / "runtime" / "hotpath"
    pkg.mkdir(parents=True, exist_ok=True)
    (STAGE / "loadtests").mkdir(exist_ok=True)
    for d in (STAGE / "knpy", pkg.parent, pkg, STAGE / "loadtests"):
        (d / "__init__.py").touch()
    for pxd in (ROOT / "cext").glob("*_c.pxd"):
        shutil.copyfile(pxd, pkg / pxd.name)
    # Cython pairs <name>.py with <name>.pxd when they sit side by side.
    shutil.copyfile(HERE / "hotpath_drivers.py", STAGE / "loadtests" / f"{NAME}.py")
    shutil.copyfile(HERE / f"{NAME}.pxd", STAGE / "loadtests" / f"{NAME}.pxd")
    ext = Extension(f"loadtests.{NAME}", [f"loadtests/{NAME}.py"], extra_compile_args=["-O3"])
    # --inplace puts the module in loadtests/ (package_dir), not in the stage.
    setup(
        name="knpy-bench-drivers",
        ext_modules=cythonize([ext], language_level=3, include_path=[str(STAGE)], quiet=True,
                              compiler_directives={"boundscheck": False, "wraparound": False,
                                                   "cdivision": True}),
        package_dir={"loadtests": str(HERE)},
        script_args=["-q", "build_ext", "--inplace", "--build-temp", str(STAGE / "tmp")],
    )


def compiled() -> ModuleType:
    """loadtests.hotpath_drivers_c, compiled first if it is missing or older than its inputs.

    Exits with a message if the hot paths themselves are not built.
    """
    missing = [p.name for p in (ROOT / "cext").glob("*_c.pxd")
               if not list(HOTPATH.glob(p.name.replace(".pxd", ".*.so")))]
    if missing:
        sys.exit(f"the compiled hot paths are not built ({', '.join(missing)}): run `make ext`")
    if _stale():
        # A child process: setuptools' setup() is not meant to run twice in one interpreter.
        subprocess.run([sys.executable, __file__], check=True, timeout=600,
                       stdin=subprocess.DEVNULL)
    return importlib.import_module(f"loadtests.{NAME}")


if __name__ == "__main__":
    STAGE.mkdir(parents=True, exist_ok=True)
    os.chdir(STAGE)  # no pyproject.toml here for setuptools to pick up
    build()
