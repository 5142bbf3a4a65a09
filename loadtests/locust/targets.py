"""What a scenario sends to: a URL and the headers that pick the service there."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Target:
    url: str                     # scheme://host:port, no path
    headers: dict[str, str] = field(default_factory=dict)
    name: str = ""

    def as_config(self) -> dict[str, Any]:
        return asdict(self)


def get_status(target: Target, path: str = "/", timeout: float = 5.0) -> int:
    req = urllib.request.Request(target.url + path, headers=target.headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def wait_200(target: Target, path: str = "/", timeout: float = 60.0) -> None:
    """Until a GET answers 200 (also warms the path's connections and caches)."""
    deadline = time.monotonic() + timeout
    while (status := get_status(target, path)) != 200:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{target.url}{path} {target.headers}: last status {status}")
        time.sleep(0.2)
