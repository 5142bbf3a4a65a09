"""Standalone backends: the YAML/JSON file, re-read whenever it changes.

The file is polled (stat every 100 ms: cheap, and works for editors and for the
autoscaler's atomic rename alike). A bad version is logged and ignored, keeping what runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from knpy.activator.config import Standalone, load_file
from knpy.activator.revisions import Revisions
from knpy.runtime.config import FieldError

log = logging.getLogger("knpy.activator.file")

POLL_INTERVAL = 0.1


def apply(revisions: Revisions, sa: Standalone) -> None:
    revisions.set_activator_ips(sa.activators)
    revisions.replace_all(sa.revisions)


class FileSource:
    def __init__(self, path: Path, revisions: Revisions) -> None:
        self.path = path
        self.revisions = revisions
        self.loads = 0
        self._sig: tuple[int, int, int] | None = None

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def load(self) -> None:
        """Read now; raises FieldError/OSError (used at start, where errors are fatal)."""
        self._sig = self._signature()
        apply(self.revisions, load_file(self.path))
        self.loads += 1

    async def run(self) -> None:
        while True:
            await asyncio.sleep(POLL_INTERVAL)
            sig = self._signature()
            if sig is None or sig == self._sig:
                continue
            try:
                self.load()
            except (FieldError, OSError) as exc:
                log.error("reload of %s rejected, keeping the running set: %s", self.path, exc)
                continue
            log.info("reloaded %s", self.path)
