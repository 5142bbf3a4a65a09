"""Inside Locust: the scenario's config, raw per-request latencies, and the request budget.

Imported by the locustfiles only (importing locust patches the process with gevent).
The orchestrator passes the config as JSON in $KNPY_LOADTEST; every request Locust reports
is kept unbucketed (Locust's own percentiles are rounded into buckets) and written as JSON
lines to config["raw"] when the test stops. When config["max_requests"] requests have been
reported the runner quits, so a run is bounded in count as well as by --run-time.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import gevent
from locust import events
from locust.env import Environment

CONFIG: dict[str, Any] = json.loads(os.environ.get("KNPY_LOADTEST", "{}"))
_rows: list[dict[str, Any]] = []
_env: Environment | None = None


@events.init.add_listener
def _on_init(environment: Environment, **_kw: Any) -> None:
    global _env
    _env = environment


@events.request.add_listener
def _on_request(request_type: str, name: str, response_time: float, exception: Any = None,
                start_time: float | None = None, response: Any = None, **_kw: Any) -> None:
    status = getattr(response, "status_code", None) if response is not None else None
    _rows.append({"type": request_type, "name": name, "ms": response_time,
                  "start": start_time, "status": status,
                  "error": None if exception is None else str(exception)[:200]})
    budget = CONFIG.get("max_requests")
    if budget and len(_rows) == budget:
        quit_soon()


def quit_soon() -> None:
    """Stop the whole run (from a greenlet of its own: a user must not kill itself)."""
    if _env is not None and _env.runner is not None:
        gevent.spawn(_env.runner.quit)


@events.test_stop.add_listener
def _on_test_stop(**_kw: Any) -> None:
    raw = CONFIG.get("raw")
    if raw:
        with Path(raw).open("a") as f:
            for row in _rows:
                f.write(json.dumps(row) + "\n")
    _rows.clear()


def random_phase(rate: float) -> None:
    """Sleep a random part of one pacing interval, so that users started together do not
    all send at the same instants: a fixed rate, not synchronized bursts."""
    if rate > 0:
        gevent.sleep(random.uniform(0, 1 / rate))
