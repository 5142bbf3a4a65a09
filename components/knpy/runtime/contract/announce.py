"""A new pod's announcement to the activators: "revision R is served at my address".

Why: on a cold start the pod's IP reaches the API (and so the Endpoints the activator
watches) only at the kubelet's next PLEG relist, up to a second after its containers
started (docs/serving-api.md). The queue-proxy knows its IP at once; once the user container
passes its readiness probe it tells every activator, which then probes the pod as it
probes any new address and sends the held requests to it.

The wire: `POST /announce/<namespace>/<revision>` with no body, to each activator's
announce port, with
- `K-Announce-Token`: HMAC-SHA256 of `<namespace>/<revision>` under a key only the controller
  and the activators hold (a Secret in the system namespace); the controller puts each
  revision's token in its queue-proxy's env;
- `K-Announce-Port`: the queue-proxy's serving port.
The address announced is the connection's source IP at that port, never one the caller
names, so a token opens no way to send a revision's traffic anywhere but the caller's own
pod, and that pod must still pass the activator's probe. Whoever can read the revision's
Deployment can read its token; they can also make pods with its labels, which the private
Service selects anyway, so the token widens no one's reach.
Answers: 202 taken, 400 malformed, 403 bad token, 404 unknown revision.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

__all__ = ["DEFAULT_PORT", "KEY_ENV", "PATH_PREFIX", "PORT_HEADER", "SERVICE",
           "TOKEN_HEADER", "headers", "key_from_env", "parse_path", "path", "token", "verify"]

PATH_PREFIX = b"/announce/"
TOKEN_HEADER = "K-Announce-Token"
PORT_HEADER = "K-Announce-Port"
DEFAULT_PORT = 8014  # the activator's announce listener (next to 8012 http, 8013 h2c)
SERVICE = "activator-announce"  # headless: its DNS name resolves to every activator
KEY_ENV = "KNPY_ANNOUNCE_KEY"


def key_from_env(env: Mapping[str, str]) -> bytes | None:
    """The shared key, or None when announcing is off (no key set)."""
    raw = env.get(KEY_ENV, "").strip()
    return raw.encode() if raw else None


def token(key: bytes, namespace: str, revision: str) -> str:
    return hmac.new(key, f"{namespace}/{revision}".encode(), hashlib.sha256).hexdigest()


def verify(key: bytes, namespace: str, revision: str, presented: bytes) -> bool:
    return hmac.compare_digest(token(key, namespace, revision).encode(), presented)


def parse_path(path: bytes) -> tuple[str, str] | None:
    """(namespace, revision) from `/announce/<ns>/<rev>`, or None."""
    if not path.startswith(PATH_PREFIX):
        return None
    ns, sep, rev = path[len(PATH_PREFIX):].partition(b"/")
    if not sep or not ns or not rev or b"/" in rev:
        return None
    try:
        return ns.decode("ascii"), rev.decode("ascii")
    except UnicodeDecodeError:
        return None


def path(namespace: str, revision: str) -> str:
    return f"{PATH_PREFIX.decode()}{namespace}/{revision}"


def headers(presented: str, serving_port: int) -> tuple[tuple[str, str], ...]:
    """The announcement's headers (it has no body)."""
    return ((TOKEN_HEADER, presented), (PORT_HEADER, str(serving_port)),
            ("Content-Length", "0"))
