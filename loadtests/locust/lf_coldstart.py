"""scale-from-zero: one user per service, all released at once when every user has spawned;
each GETs its service until the first 200 and reports the time from the release to it as a
request of type COLD named after the service. The run quits when every service answered.

Config: url (one front door for every service), services = [{name, path, headers}],
deadline (s per service).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import gevent
from gevent.event import Event
from locust import FastHttpUser, constant, events, task

from loadtests.locust.recorder import CONFIG, quit_soon

SERVICES: list[dict[str, Any]] = CONFIG.get("services", [])
DEADLINE: float = CONFIG.get("deadline", 30.0)
_next = itertools.count()
_release = Event()
_released_at = [0.0]
_done: set[str] = set()


@events.spawning_complete.add_listener
def _all_spawned(**_kw: Any) -> None:
    _released_at[0] = time.perf_counter()
    _release.set()


class ColdUser(FastHttpUser):
    host = CONFIG.get("url", "http://127.0.0.1:9")
    fixed_count = len(SERVICES)
    network_timeout = DEADLINE
    connection_timeout = DEADLINE
    wait_time = constant(3600)  # one measurement per user, then idle until the quit

    def on_start(self) -> None:
        self.service = SERVICES[next(_next) % len(SERVICES)]

    @task
    def first_200(self) -> None:
        _release.wait()
        t0 = _released_at[0]
        error: str | None = "no 200 before the deadline"
        while time.perf_counter() - t0 < DEADLINE:
            with self.client.get(self.service["path"], headers=self.service["headers"],
                                 name="cold GET", catch_response=True) as r:
                if r.status_code == 200:
                    error = None
                    break
                r.failure(f"status {r.status_code}")
            gevent.sleep(0.05)
        self.environment.events.request.fire(
            request_type="COLD", name=self.service["name"],
            response_time=(time.perf_counter() - t0) * 1000, response_length=0,
            exception=None if error is None else RuntimeError(error), context={})
        _done.add(self.service["name"])
        if len(_done) >= len(SERVICES):
            quit_soon()
