"""The sidecar is in every pod: importing it must not load heavy clients (Knative's
sharedmain/nodeps_test.go, checked at run time in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("aiohttp", "kubernetes_asyncio", "nats", "opentelemetry", "yaml",
             "knpy.runtime.k8s", "knpy.apis")


def test_queue_proxy_imports_no_heavy_packages() -> None:
    code = ("import sys, json, knpy.queue_proxy.main, knpy.runtime.process; "
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    loaded = json.loads(out)
    bad = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == []
