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
    The pure twin is imported only when it is used: it pulls in Cython's shadow module,
    which would add to every queue-proxy's start-up for nothing.
    """
    if not NO_EXTENSIONS:
        try:
            return importlib.import_module(f"knpy.runtime.hotpath.{name}_c"), True
        except ImportError:
            pass
    return importlib.import_module(f"knpy.runtime.hotpath.{name}_py"), False
