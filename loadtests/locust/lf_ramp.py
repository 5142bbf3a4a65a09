"""load ramp: rising steps of rate (LoadTestShape). Each user takes turns with its paced
GETs over the paths under test ("activator": activator -> queue-proxy -> app, and
"queue-proxy") and the app directly ("direct"), so every step has its own baseline
measured under the same load.

Config: targets.{direct,queue-proxy,activator} = {url, headers}, path, user_rate
(requests/s each user paces itself at, all paths together), steps = [[seconds, users], ...].
Each request is named after its step and path ("step1 activator"), so the CSV, the HTML
report and the raw samples split by step. A user's first GET on each path ("warm-up": its
new connections) and anything sent after the last step (while Locust stops) are not counted
in a step. Users start at random phases of their pacing interval (recorder.random_phase).
"""

from __future__ import annotations

from typing import Any

from locust import FastHttpUser, LoadTestShape, constant_throughput, task

from loadtests.locust.recorder import CONFIG, random_phase

TARGETS: dict[str, dict[str, Any]] = CONFIG.get("targets", {})
PATHS = ("activator", "queue-proxy", "direct")
USER_RATE: float = CONFIG.get("user_rate", 1.0)
STEPS: list[list[float]] = CONFIG.get("steps", [[1, 1]])


class Ramp(LoadTestShape):
    current = 0
    done = False

    def tick(self) -> tuple[int, float] | None:
        t = self.get_run_time()
        end = 0.0
        for i, (seconds, users) in enumerate(STEPS):
            end += seconds
            if t < end:
                Ramp.current = i
                return int(users), 100.0
        Ramp.done = True
        return None


class RampUser(FastHttpUser):
    host = "http://127.0.0.1"  # each request names its path's full URL
    wait_time = constant_throughput(USER_RATE)
    sent = 0

    def get(self, path: str, name: str) -> None:
        target = TARGETS.get(path, {"url": "http://127.0.0.1:9", "headers": {}})
        self.client.get(target["url"] + CONFIG.get("path", "/"), headers=target["headers"],
                        name=name)

    def on_start(self) -> None:
        for path in PATHS:
            self.get(path, "warm-up")
        random_phase(USER_RATE)

    @task
    def probe(self) -> None:
        if Ramp.done:
            return
        path = PATHS[self.sent % len(PATHS)]
        self.sent += 1
        self.get(path, f"step{Ramp.current + 1} {path}")
