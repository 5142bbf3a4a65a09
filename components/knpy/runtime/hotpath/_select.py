"""The switch between the compiled hot paths and their pure twins.

Each public module (breaker.py, windowed.py, reqstats.py) imports its names statically, the
way aiohttp does, so type checkers and go-to-definition see the pure twin:

    if TYPE_CHECKING or NO_EXTENSIONS:
        from <name>_py import ...         # what type checkers read
    else:
        try:
            from <name>_c import ...      # the compiled build wins
        except ImportError:
            from <name>_py import ...     # a missing build falls back

tests/unit/hotpath/test_compiled_loaded.py fails CI if the fallback happens where the build
should be there. The pure twin is imported only when it is used: it pulls in Cython's shadow
module, which would add to every queue-proxy's start-up for nothing.
"""

from __future__ import annotations

import os

NO_EXTENSIONS = bool(os.environ.get("KNPY_NO_EXTENSIONS"))
