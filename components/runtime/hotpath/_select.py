"""Pick the compiled twin of a hot-path module, or the pure one."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

NO_EXTENSIONS = bool(os.environ.get("KNPY_NO_EXTENSIONS"))


def twin(name: str) -> tuple[ModuleType, bool]:
    """Return (module, compiled) for hot-path module `name`.

    The compiled build wins unless KNPY_NO_EXTENSIONS is set. A missing build falls back to
    the pure twin; tests/unit/hotpath/test_compiled_loaded.py fails CI if that happens.
    """
    pure = importlib.import_module(f"knpy.runtime.hotpath.{name}_py")
    if NO_EXTENSIONS:
        return pure, False
    try:
        return importlib.import_module(f"knpy.runtime.hotpath.{name}_c"), True
    except ImportError:
        return pure, False
