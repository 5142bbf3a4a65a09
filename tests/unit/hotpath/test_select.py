"""How the public hot-path modules choose a build, checked in fresh interpreters.

The choice is made once, at import, so each case runs in its own `python -c`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

STEMS = ("breaker", "reqstats", "windowed")
HP = "knpy.runtime.hotpath."

# Imports the public modules, then prints which build each chose and which hot-path and
# Cython modules got loaded.
REPORT = "".join(f"import {HP}{s}\n" for s in STEMS) + (
    "print(json.dumps({\n"
    f"    'compiled': {{s: sys.modules[{HP!r} + s].COMPILED for s in {STEMS!r}}},\n"
    f"    'breaker': sys.modules[{HP!r} + 'breaker'].Breaker.__module__,\n"
    "    'loaded': sorted(m for m in sys.modules\n"
    f"                     if m.startswith({HP!r}) or m.split('.')[0] in ('cython', 'Cython')),\n"
    "}))\n"
)


def _run(prelude: str = "", **env: str) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if k != "KNPY_NO_EXTENSIONS"}
    out = subprocess.run(
        [sys.executable, "-c", "import json, sys\n" + prelude + REPORT],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return json.loads(out)


@pytest.mark.skipif(bool(os.environ.get("KNPY_NO_EXTENSIONS")), reason="needs the compiled build")
def test_compiled_build_leaves_the_pure_twins_unimported() -> None:
    # The pure twins pull in Cython's shadow module: queue-proxy start-up must not pay for it.
    got = _run()
    assert got["compiled"] == dict.fromkeys(STEMS, True)
    assert got["breaker"] == HP + "breaker_c"
    assert [m for m in got["loaded"] if m.endswith("_py") or not m.startswith(HP)] == []


def test_no_extensions_selects_the_pure_twins() -> None:
    got = _run(KNPY_NO_EXTENSIONS="1")
    assert got["compiled"] == dict.fromkeys(STEMS, False)
    assert got["breaker"] == HP + "breaker_py"
    assert [m for m in got["loaded"] if m.endswith("_c")] == []


def test_missing_build_falls_back_to_the_pure_twin() -> None:
    # A None entry in sys.modules makes `import ..._c` raise ImportError, as a missing .so does.
    block = "".join(f"sys.modules[{HP + s + '_c'!r}] = None\n" for s in STEMS)
    got = _run(block)
    assert got["compiled"] == dict.fromkeys(STEMS, False)
    assert got["breaker"] == HP + "breaker_py"
    assert {f"{HP}{s}_py" for s in STEMS} <= set(got["loaded"])
