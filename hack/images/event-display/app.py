"""CloudEvents sink for tests (like Knative's event_display), standard library only.

POST (any path) accepts a CloudEvent in binary mode (ce-* headers) or structured mode
(application/cloudevents+json), or a batch (application/cloudevents-batch+json). Each event
is printed and kept (the last MAX_EVENTS) for `GET /events` (a JSON list of structured
events; `DELETE /events` clears it). A request that is not a valid CloudEvent gets 400
naming the missing attribute. With ECHO=true the sink replies with the event it received
(binary mode; REPLY_TYPE overrides the reply's type, so a broker trigger does not loop).
"""

from __future__ import annotations

import base64
import collections
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REQUIRED = ("specversion", "id", "source", "type")
MAX_EVENTS = int(os.environ.get("MAX_EVENTS", "1000"))
EVENTS: collections.deque[dict] = collections.deque(maxlen=MAX_EVENTS)
LOCK = threading.Lock()


class BadEvent(ValueError):
    pass


def from_binary(headers: dict[str, str], body: bytes) -> dict:
    event: dict = {k[3:]: v for k, v in headers.items() if k.startswith("ce-")}
    if "content-type" in headers:
        event["datacontenttype"] = headers["content-type"]
    if body:
        try:
            is_json = "json" in headers.get("content-type", "")
            event["data"] = json.loads(body) if is_json else body.decode()
        except (ValueError, UnicodeDecodeError):
            event["data_base64"] = base64.b64encode(body).decode()
    return event


def check(event: object) -> dict:
    if not isinstance(event, dict):
        raise BadEvent("a CloudEvent must be a JSON object")
    missing = [a for a in REQUIRED if not event.get(a)]
    if missing:
        raise BadEvent(f"missing required CloudEvents attribute(s): {', '.join(missing)}")
    return event


def parse(headers: dict[str, str], body: bytes) -> list[dict]:
    ctype = headers.get("content-type", "")
    if ctype.startswith("application/cloudevents-batch+json"):
        batch = json.loads(body)
        if not isinstance(batch, list):
            raise BadEvent("a batch must be a JSON array")
        return [check(e) for e in batch]
    if ctype.startswith("application/cloudevents+json"):
        return [check(json.loads(body))]
    return [check(from_binary(headers, body))]


def display(event: dict) -> None:
    lines = ["☁️  cloudevents.Event", "Context Attributes,"]
    lines += [f"  {k}: {v}" for k, v in event.items() if k not in ("data", "data_base64")]
    if "data" in event or "data_base64" in event:
        lines += ["Data,", f"  {json.dumps(event.get('data', event.get('data_base64')))}"]
    print("\n".join(lines), flush=True)


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/events"):
            with LOCK:
                body = json.dumps(list(EVENTS)).encode()
            self.reply(200, body, {"Content-Type": "application/json"})
        else:
            self.reply(200, b"ok\n", {"Content-Type": "text/plain"})

    def do_DELETE(self) -> None:
        with LOCK:
            EVENTS.clear()
        self.reply(204)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            events = parse(headers, body)
        except (BadEvent, ValueError) as e:
            self.reply(400, f"{e}\n".encode(), {"Content-Type": "text/plain"})
            return
        with LOCK:
            EVENTS.extend(events)
        for event in events:
            display(event)
        if os.environ.get("ECHO", "").lower() in ("1", "true", "yes") and len(events) == 1:
            out = {f"ce-{k}": str(v) for k, v in events[0].items()
                   if k not in ("data", "data_base64", "datacontenttype")}
            if os.environ.get("REPLY_TYPE"):
                out["ce-type"] = os.environ["REPLY_TYPE"]
            out["Content-Type"] = headers.get("content-type", "application/json")
            data = body if "ce-id" in headers else json.dumps(events[0].get("data")).encode()
            self.reply(200, data, out)
            return
        self.reply(202)

    def log_message(self, fmt: str, *args: object) -> None:
        pass


def main() -> None:
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("", port), Sink)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"event-display listening on :{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
