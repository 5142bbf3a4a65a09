"""Knative-style helloworld: GET / answers "Hello <TARGET>!" (TARGET defaults to World).

`?sleep=<ms>` holds the answer that long (at most 10 s), so tests can keep requests in
flight: concurrency above an autoscaling target, or requests open while pods drain."""

from __future__ import annotations

import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_SLEEP_MS = 10_000


class Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per answer (flushed after each request). Unbuffered, the head and the body
    # go out as two small writes, and Nagle holds the body until the proxy in front ACKs
    # the head, which a delayed ACK puts off by 40 ms (docs/loadtest.md).
    wbufsize = 64 * 1024

    def do_GET(self) -> None:
        sleep = parse_qs(urlsplit(self.path).query).get("sleep", ["0"])[0]
        if sleep.isdigit():
            time.sleep(min(int(sleep), MAX_SLEEP_MS) / 1000)
        body = f"Hello {os.environ.get('TARGET', 'World')}!\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {fmt % args}\n")


def main() -> None:
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("", port), Hello)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"helloworld listening on :{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
