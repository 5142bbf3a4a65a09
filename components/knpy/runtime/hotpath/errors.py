"""Exceptions the hot-path twins raise.

A plain module that both builds import, so callers catch one class whichever build runs
(the compiled `<name>_c` modules cannot define exceptions a pure twin could also raise).
"""

from __future__ import annotations


class QueueFullError(Exception):
    """The breaker's pending-request limit is reached; the request is rejected at once.

    Knative answers this with 503 "pending request queue full".
    """

    def __init__(self, message: str = "pending request queue full") -> None:
        super().__init__(message)
