"""The announce listener: new pods say where they serve before the API lists them.

The wire and why: knpy.runtime.contract.announce. A valid announcement makes the caller's
source IP, at the port it names, a backend of the revision, probed before it gets a request
(revisions.py). Served only when the activator has the key.
"""

from __future__ import annotations

import logging

from knpy.activator.revisions import Revisions
from knpy.runtime.contract import announce
from knpy.runtime.proxy import Exchange
from knpy.runtime.proxy.address import join_address

log = logging.getLogger("knpy.activator.announce")

_TOKEN = announce.TOKEN_HEADER.encode()
_PORT = announce.PORT_HEADER.encode()


class AnnounceHandler:
    def __init__(self, revisions: Revisions, key: bytes) -> None:
        self.revisions = revisions
        self.key = key
        self.counts: dict[str, int] = {}  # result -> announcements (for /metrics)

    def handle(self, ex: Exchange) -> None:
        status, body = self._answer(ex)
        result = {202: "accepted", 403: "forbidden", 404: "unknown"}.get(status, "invalid")
        self.counts[result] = self.counts.get(result, 0) + 1
        ex.reply(status, body.encode())

    def _answer(self, ex: Exchange) -> tuple[int, str]:
        if ex.method != b"POST":
            return 405, "announce: want POST\n"
        target = announce.parse_path(ex.path())
        if target is None:
            return 400, "announce: want POST /announce/<namespace>/<revision>\n"
        ns, rev = target
        raw_port = ex.header(_PORT) or b""
        port = int(raw_port) if raw_port.isdigit() else 0
        if not 0 < port < 65536:
            return 400, f"announce: {announce.PORT_HEADER}: want a port, got {raw_port!r}\n"
        if not announce.verify(self.key, ns, rev, ex.header(_TOKEN) or b""):
            log.warning("announce for %s/%s from %s: bad %s", ns, rev, ex.peer.decode(),
                        announce.TOKEN_HEADER)
            return 403, f"announce: {announce.TOKEN_HEADER} is not {ns}/{rev}'s\n"
        if not self.revisions.announce(f"{ns}/{rev}", join_address(ex.peer.decode(), port)):
            return 404, f"announce: revision {ns}/{rev} is not known here\n"
        return 202, ""
