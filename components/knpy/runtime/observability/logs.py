"""Structured JSON logs on stderr, one object per line, the same keys in every component.

Keys follow Knative's zap output (timestamp, severity, logger, message), so the same log
queries work for both; `error` carries a traceback when there is one.
"""

from __future__ import annotations

import json
import logging
import sys
import time

HANDLER_NAME = "knpy-json"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "severity": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc)


def setup_logging(level: str = "INFO") -> None:
    """Send every logger to stderr as JSON at `level` (a name such as "info" or "DEBUG")."""
    root = logging.getLogger()
    root.setLevel(level.upper())  # first: an unknown level raises before anything changes
    for h in list(root.handlers):
        if h.get_name() == HANDLER_NAME:  # called again: replace ours, keep others'
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
