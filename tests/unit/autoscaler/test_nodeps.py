"""The autoscaler serves its API on the proxy core, not on aiohttp's server (issue 9: one
server core, so the core's head limits hold on every listener). import-linter cannot ban
a subpackage of an external package, so this is checked at run time."""

from __future__ import annotations

import json
import subprocess
import sys


def test_autoscaler_loads_no_aiohttp_server() -> None:
    code = ("import sys, json, knpy.autoscaler.main; "
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    loaded = json.loads(out)
    assert "knpy.runtime.proxy.app" in loaded
    assert [m for m in loaded if m == "aiohttp.web" or m.startswith("aiohttp.web_")] == []
    # its spans (multiscaler -> spans) load OpenTelemetry only when tracing is on
    assert "knpy.autoscaler.spans" in loaded
    assert [m for m in loaded if m.startswith("opentelemetry")] == []
