"""load ramp: rising steps of rate through one path (LoadTestShape).

Config: target = {url, headers}, path, user_rate (requests/s each user paces itself at),
steps = [[seconds, users], ...]. Each request is named after its step ("step1 10rps"), so
the CSV, the HTML report and the raw samples split by step.
"""

from __future__ import annotations

from typing import Any

from locust import FastHttpUser, LoadTestShape, constant_throughput, task

from loadtests.locust.recorder import CONFIG

TARGET: dict[str, Any] = CONFIG.get("target", {"url": "http://127.0.0.1:9", "headers": {}})
USER_RATE: float = CONFIG.get("user_rate", 1.0)
STEPS: list[list[float]] = CONFIG.get("steps", [[1, 1]])


def step_name(index: int) -> str:
    return f"step{index + 1} {STEPS[index][1] * USER_RATE:g}rps"


class Ramp(LoadTestShape):
    current = 0

    def tick(self) -> tuple[int, float] | None:
        t = self.get_run_time()
        end = 0.0
        for i, (seconds, users) in enumerate(STEPS):
            end += seconds
            if t < end:
                Ramp.current = i
                return int(users), 100.0
        return None


class RampUser(FastHttpUser):
    host = TARGET["url"]
    wait_time = constant_throughput(USER_RATE)

    @task
    def probe(self) -> None:
        self.client.get(CONFIG.get("path", "/"), headers=TARGET["headers"],
                        name=step_name(Ramp.current))
