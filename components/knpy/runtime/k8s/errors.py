"""Errors: API-server failures, and the ones a reconciler returns to steer the work queue.

Steering (knative.dev/pkg/controller): return normally -> forget the key;
`PermanentError` -> log, forget, no retry; `RequeueAfter(s)` -> forget, re-add after s
seconds; `SkipKey` -> nothing; any other exception -> rate-limited retry (per-key backoff).
"""

from __future__ import annotations

import json

__all__ = ["ApiError", "PermanentError", "RequeueAfter", "SkipKey"]


class ApiError(Exception):
    """A non-2xx answer from the API server, with its Status body when there is one."""

    def __init__(self, status: int, reason: str = "", body: object = None) -> None:
        self.status = status
        self.body = body
        msg = reason
        if isinstance(body, dict):
            msg = body.get("message") or reason
            self.reason = body.get("reason") or reason
        else:
            self.reason = reason
        self.message = msg
        super().__init__(f"{status} {self.reason}: {msg}")

    @classmethod
    def from_response(cls, status: int, reason: str, raw: bytes) -> ApiError:
        try:
            body: object = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        return cls(status, reason, body)

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def already_exists(self) -> bool:
        return self.status == 409 and self.reason == "AlreadyExists"

    @property
    def gone(self) -> bool:
        """410: the resourceVersion we asked for has been compacted away; relist."""
        return self.status == 410


class PermanentError(Exception):
    """Retrying will not help (bad spec, owned by someone else...): do not requeue."""


class RequeueAfter(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"requeue after {seconds:.3f}s")
        self.seconds = seconds


class SkipKey(Exception):
    """The key is not ours to handle here; drop it silently."""
