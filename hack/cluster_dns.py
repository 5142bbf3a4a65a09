"""Cluster DNS for the local cluster: a small responder that watches Services and Endpoints.

Debian has no CoreDNS, and Knative-style components use `<svc>.<ns>.svc.cluster.local`
names. The harness runs this on the bridge address (port 53) and the kubelet's clusterDNS
points at it, so pods resolve Service names as on any cluster. It answers:

- `<svc>.<ns>.svc.<domain>` A: the ClusterIP; for a headless Service the ready endpoints;
  for an ExternalName Service a CNAME (plus its A records when the target is in-cluster);
- `<hostname>.<svc>.<ns>.svc.<domain>` A: that endpoint (StatefulSet pods);
- `<a-b-c-d>.<ns>.pod.<domain>` A: the address in the name.
Anything else gets NXDOMAIN (there is no upstream to forward to here); a known name asked
for another type (AAAA, ...) gets an empty NOERROR answer, so resolvers move on at once.

Standard library only: it runs with the system python3, outside any venv.
`--query NAME --server IP` is a tiny client used by the harness to wait for readiness.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import ipaddress
import json
import os
import re
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time

TTL = 5
A, CNAME = 1, 5
NOERROR, SERVFAIL, NXDOMAIN = 0, 2, 3


# ---------------------------------------------------------------- Kubernetes side
def load_kubeconfig(path: str) -> tuple[str, ssl.SSLContext]:
    """Server URL and TLS context from a kubeconfig with embedded *-data fields."""
    with open(path) as f:
        text = f.read()

    def field(name: str) -> str:
        m = re.search(rf"^\s*{name}:\s*(\S+)\s*$", text, re.M)
        if not m:
            raise SystemExit(f"cluster_dns: {path} has no {name}")
        return m.group(1)

    ca = base64.b64decode(field("certificate-authority-data")).decode()
    ctx = ssl.create_default_context(cadata=ca)
    with tempfile.TemporaryDirectory() as d:
        cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
        with open(cert, "wb") as f:
            f.write(base64.b64decode(field("client-certificate-data")))
        with open(key, "wb") as f:
            f.write(base64.b64decode(field("client-key-data")))
        ctx.load_cert_chain(cert, key)
    return field("server"), ctx


class Store:
    """The latest Services and Endpoints, keyed by (namespace, name)."""

    def __init__(self) -> None:
        self.services: dict[tuple[str, str], dict] = {}
        self.endpoints: dict[tuple[str, str], dict] = {}


def watch_forever(server: str, ctx: ssl.SSLContext, store: Store, resource: str) -> None:
    """List then watch /api/v1/<resource>; relist on any error (e.g. 410 Gone)."""
    url = server.removeprefix("https://")
    host, _, port = url.partition(":")
    while True:
        try:
            conn = http.client.HTTPSConnection(host, int(port or 443), context=ctx, timeout=30)
            conn.request("GET", f"/api/v1/{resource}")
            resp = conn.getresponse()
            if resp.status != 200:
                raise RuntimeError(f"list {resource}: HTTP {resp.status}")
            body = json.loads(resp.read())
            fresh = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in body["items"]}
            into = fresh
            setattr(store, resource, into)  # swap whole: readers never see a half list
            rv = body["metadata"]["resourceVersion"]
            conn.close()
            conn = http.client.HTTPSConnection(host, int(port or 443), context=ctx, timeout=330)
            conn.request("GET", f"/api/v1/{resource}?watch=true&resourceVersion={rv}"
                                "&allowWatchBookmarks=true&timeoutSeconds=300")
            resp = conn.getresponse()
            if resp.status != 200:
                raise RuntimeError(f"watch {resource}: HTTP {resp.status}")
            while line := resp.readline():
                event = json.loads(line)
                obj, kind = event["object"], event["type"]
                if kind == "ERROR":
                    break
                if kind == "BOOKMARK":
                    continue
                key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
                if kind == "DELETED":
                    into.pop(key, None)
                else:
                    into[key] = obj
            conn.close()
        except Exception as e:  # keep serving stale data; retry the watch
            print(f"cluster_dns: {resource}: {e}", file=sys.stderr, flush=True)
            time.sleep(1)


# ---------------------------------------------------------------- resolution
def ready_addresses(ep: dict | None, hostname: str | None = None) -> list[str]:
    out = []
    for subset in (ep or {}).get("subsets") or []:
        for addr in subset.get("addresses") or []:
            if hostname is None or addr.get("hostname") == hostname:
                out.append(addr["ip"])
    return out


def resolve(store: Store, name: str, domain: str) -> tuple[int, list[str], str | None]:
    """(rcode, A addresses, CNAME target) for a name."""
    labels = name.lower().rstrip(".").split(".")
    dom = domain.split(".")
    if labels[-len(dom):] != dom:
        return NXDOMAIN, [], None
    rest = labels[: -len(dom)]
    if len(rest) == 3 and rest[2] == "pod":
        try:
            return NOERROR, [str(ipaddress.IPv4Address(rest[0].replace("-", ".")))], None
        except ValueError:
            return NXDOMAIN, [], None
    if len(rest) not in (3, 4) or rest[-1] != "svc":
        return NXDOMAIN, [], None
    host = rest[0] if len(rest) == 4 else None
    svc_name, ns = rest[-3], rest[-2]
    svc = store.services.get((ns, svc_name))
    if svc is None:
        return NXDOMAIN, [], None
    spec = svc.get("spec", {})
    ep = store.endpoints.get((ns, svc_name))
    if host is not None:
        ips = ready_addresses(ep, host)
        return (NOERROR, ips, None) if ips else (NXDOMAIN, [], None)
    if spec.get("type") == "ExternalName":
        target = spec.get("externalName", "").rstrip(".")
        _, ips, _ = resolve(store, target, domain) if target.endswith(domain) else (0, [], None)
        return NOERROR, ips, target
    ip = spec.get("clusterIP")
    if ip and ip != "None":
        return NOERROR, [ip], None
    return NOERROR, ready_addresses(ep), None


def encode_name(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".") if p) + b"\0"


def parse_question(msg: bytes) -> tuple[str, int, int]:
    """(qname, qtype, end offset of the question)."""
    i, labels = 12, []
    while msg[i]:
        n = msg[i]
        labels.append(msg[i + 1: i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    qtype, _ = struct.unpack("!HH", msg[i + 1: i + 5])
    return ".".join(labels), qtype, i + 5


def answer(store: Store, msg: bytes, domain: str) -> bytes:
    txid, flags = struct.unpack("!HH", msg[:4])
    try:
        qname, qtype, end = parse_question(msg)
    except (IndexError, struct.error):
        return struct.pack("!HHHHHH", txid, 0x8000 | 1, 0, 0, 0, 0)  # FORMERR
    rcode, ips, cname = resolve(store, qname, domain)
    records = b""
    count = 0
    owner = b"\xc0\x0c"  # pointer to the question's name
    if rcode == NOERROR and cname and qtype in (A, CNAME):
        target = encode_name(cname)
        records += owner + struct.pack("!HHIH", CNAME, 1, TTL, len(target)) + target
        count += 1
        owner = target
    if rcode == NOERROR and qtype == A:
        for ip in ips:
            records += owner + struct.pack("!HHIH", A, 1, TTL, 4) + socket.inet_aton(ip)
            count += 1
    out_flags = 0x8000 | 0x0400 | (flags & 0x0100) | rcode  # QR, AA, copy RD
    return struct.pack("!HHHHHH", txid, out_flags, 1, count, 0, 0) + msg[12:end] + records


def serve(listen: str, port: int, store: Store, domain: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # No SO_REUSEADDR: a stray responder left on the port must make this one fail loudly
    # rather than share the port and answer with stale data.
    sock.bind((listen, port))
    print(f"cluster_dns: serving {domain} on {listen}:{port}", file=sys.stderr, flush=True)
    while True:
        msg, peer = sock.recvfrom(1500)
        if len(msg) < 17:
            continue
        try:
            sock.sendto(answer(store, msg, domain), peer)
        except Exception as e:  # one bad packet must not stop the server
            print(f"cluster_dns: {peer}: {e}", file=sys.stderr, flush=True)


def query(name: str, server: str, port: int, timeout: float = 2.0) -> list[str]:
    """Resolve `name` (A) against server; raise if there is no address."""
    header = struct.pack("!HHHHHH", 0x4B4E, 0x0100, 1, 0, 0, 0)
    msg = header + encode_name(name) + struct.pack("!HH", A, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(msg, (server, port))
        resp = s.recv(1500)
    _, flags, _, ancount, _, _ = struct.unpack("!HHHHHH", resp[:12])
    if flags & 0xF:
        raise LookupError(f"{name}: rcode {flags & 0xF}")
    _, _, i = parse_question(resp)
    ips = []
    for _ in range(ancount):
        if resp[i] & 0xC0 == 0xC0:
            i += 2
        else:
            while resp[i]:
                i += 1 + resp[i]
            i += 1
        rtype, _, _, rdlen = struct.unpack("!HHIH", resp[i: i + 10])
        i += 10
        if rtype == A:
            ips.append(socket.inet_ntoa(resp[i: i + 4]))
        i += rdlen
    if not ips:
        raise LookupError(f"{name}: no A records")
    return ips


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--kubeconfig")
    p.add_argument("--domain", default="cluster.local")
    p.add_argument("--query", help="client mode: resolve this name and print its addresses")
    p.add_argument("--server", default="127.0.0.1", help="client mode: DNS server address")
    a = p.parse_args()
    if a.query:
        try:
            print(" ".join(query(a.query, a.server, a.port)))
        except (OSError, LookupError) as e:
            sys.exit(f"cluster_dns: {e}")
        return
    if not a.kubeconfig:
        sys.exit("cluster_dns: --kubeconfig is required to serve")
    server, ctx = load_kubeconfig(a.kubeconfig)
    store = Store()
    for resource in ("services", "endpoints"):
        threading.Thread(target=watch_forever, args=(server, ctx, store, resource),
                         daemon=True).start()
    serve(a.listen, a.port, store, a.domain)


if __name__ == "__main__":
    main()
