"""dataplane-probe: the same paced GET directly, through the queue-proxy and through the
activator, all at once (so the machine's other work falls on the three paths alike).

Config: targets.{direct,queue-proxy,activator} = {url, headers}, path, rate (requests/s
per path), users (per path; each paces itself at rate/users).
"""

from __future__ import annotations

from typing import Any

from locust import FastHttpUser, constant_throughput, task

from loadtests.locust.recorder import CONFIG, random_phase

TARGETS: dict[str, dict[str, Any]] = CONFIG.get("targets", {})
PER_USER = CONFIG.get("rate", 1.0) / max(1, CONFIG.get("users", 1))


def probe_user(path_name: str) -> type[FastHttpUser]:
    target = TARGETS.get(path_name, {"url": "http://127.0.0.1:9", "headers": {}})

    class Probe(FastHttpUser):
        host = target["url"]
        fixed_count = CONFIG.get("users", 1)
        wait_time = constant_throughput(PER_USER)

        def on_start(self) -> None:
            random_phase(PER_USER)

        @task
        def probe(self) -> None:
            self.client.get(CONFIG.get("path", "/"), headers=target["headers"], name=path_name)

    Probe.__name__ = Probe.__qualname__ = path_name.replace("-", "_").title().replace("_", "")
    return Probe


Direct = probe_user("direct")
QueueProxy = probe_user("queue-proxy")
Activator = probe_user("activator")
