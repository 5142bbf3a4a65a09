"""A bounded HTTP load from the host: a few threads GET one URL until a deadline or a request
count, whichever comes first, and every outcome is counted (status codes, and 0 for a
connection error or timeout), so a test can assert there were no failures."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Load:
    """GET `url` from `workers` threads until `duration` s or `max_requests` have passed."""

    url: str
    workers: int
    duration: float
    max_requests: int
    headers: dict[str, str] = field(default_factory=dict)
    request_timeout: float = 30.0
    outcomes: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _in_flight: int = 0

    def start(self) -> Load:
        deadline = time.monotonic() + self.duration
        self._threads = [threading.Thread(target=self._run, args=(deadline,), daemon=True)
                         for _ in range(self.workers)]
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self) -> Counter[int]:
        """Wait for the workers (each ends by the deadline plus one request's timeout)."""
        for t in self._threads:
            t.join(self.duration + self.request_timeout + 5)
        assert not any(t.is_alive() for t in self._threads), "load workers did not stop"
        return self.outcomes

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    @property
    def failed(self) -> int:
        return sum(n for code, n in self.outcomes.items() if code != 200)

    def _take(self) -> bool:
        with self._lock:
            if sum(self.outcomes.values()) + self._in_flight >= self.max_requests:
                return False
            self._in_flight += 1
            return True


    def _run(self, deadline: float) -> None:
        req = urllib.request.Request(self.url, headers=self.headers)
        while not self._stop.is_set() and time.monotonic() < deadline and self._take():
            code, error = 0, ""
            try:
                with urllib.request.urlopen(req, timeout=self.request_timeout) as r:
                    r.read()
                    code = r.status
            except urllib.error.HTTPError as e:
                code, error = e.code, e.read().decode(errors="replace")[:200]
            except OSError as e:  # URLError, ConnectionError, TimeoutError
                error = repr(e)
            with self._lock:
                self._in_flight -= 1
                self.outcomes[code] += 1
                if code != 200 and len(self.errors) < 20:
                    self.errors.append(f"{time.strftime('%H:%M:%S')} {code} {error}")
