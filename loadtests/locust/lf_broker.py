"""broker throughput: paced binary-mode CloudEvents POSTed to a broker's ingress, each with
an id unique in the run and its send time (ce-sentns) for the sink's latency.

Config: target = {url, headers}, rate (events/s in all), users, events (stop after that
many have been sent: the budget), run_id.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from locust import FastHttpUser, constant_throughput, task

from loadtests.locust.recorder import CONFIG, random_phase

TARGET: dict[str, Any] = CONFIG.get("target", {"url": "http://127.0.0.1:9", "headers": {}})
BODY = b'{"pad":"' + b"x" * 500 + b'"}'
_ids = itertools.count()


class EventSender(FastHttpUser):
    host = TARGET["url"]
    fixed_count = CONFIG.get("users", 1)
    wait_time = constant_throughput(CONFIG.get("rate", 1.0) / max(1, CONFIG.get("users", 1)))

    def on_start(self) -> None:
        random_phase(CONFIG.get("rate", 1.0) / max(1, CONFIG.get("users", 1)))

    @task
    def send(self) -> None:
        headers = {**TARGET["headers"], "ce-specversion": "1.0",
                   "ce-id": f"{CONFIG.get('run_id', 'run')}-{next(_ids)}",
                   "ce-source": "/knpy/loadtest", "ce-type": "dev.knpy.loadtest",
                   "ce-sentns": str(time.time_ns()), "content-type": "application/json"}
        self.client.post(CONFIG.get("path", "/"), data=BODY, headers=headers, name="event")
