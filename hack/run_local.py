#!/usr/bin/env python3
"""`make run-local`: the standalone knpy stack on 127.0.0.1, with both samples, in the foreground.

Serving: `knpy.autoscaler` whose process scale target runs the helloworld sample behind
`knpy.queue_proxy` as the first revision of a Knative Service (KNPY_RUN_NAME, default
helloworld-go, in `default`; 0 pods at start), and `knpy.activator` following the
autoscaler's endpoints file, so the first request scales from zero. Eventing: nats-server
(JetStream) and `knpy.broker --role all` with broker default/default and one trigger
delivering to the event-display sample. In front: `knpy.ingress` on a fixed port
(KNPY_RUN_PORT, default 8080) routing by Host (hack/local_routes.py). Every other process
gets a free loopback port and logs under the run directory; all of them are stopped by PID
on exit (Ctrl-C, SIGTERM, KNPY_RUN_SECONDS, or an error). A machine-readable
`KNPY_RUN {json}` line is printed once everything is ready. See docs/run.md.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from hack import local_routes as routes

# One way to start and stop processes: the helpers the integration tests use.
from tests.support.procs import free_port, nats_server_argv, spawn, stop, wait_port

REPO = Path(__file__).resolve().parents[1]

PY = sys.executable
HELLO = REPO / "hack/images/helloworld/app.py"
DISPLAY = REPO / "hack/images/event-display/app.py"
NAMESPACE = "default"
DEFAULT_NAME = "helloworld-go"
DEFAULT_PORT = 8080
READY_TIMEOUT = 30.0

# The samples are the images' apps, unchanged; they bind every interface (as a container
# should). This runs one with its server bound to 127.0.0.1 instead.
LOOPBACK = (
    "import http.server, runpy, sys\n"
    "class Loopback(http.server.ThreadingHTTPServer):\n"
    "    def __init__(self, addr, handler):\n"
    "        super().__init__(('127.0.0.1', addr[1]), handler)\n"
    "http.server.ThreadingHTTPServer = Loopback\n"
    "runpy.run_path(sys.argv[1], run_name='__main__')\n"
)


class Stopped(Exception):
    """SIGINT or SIGTERM arrived."""


def check_port_free(port: int) -> None:
    """Fail before starting anything when the gateway's fixed port is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            raise RuntimeError(f"127.0.0.1:{port} (the gateway's port) is taken: {e.strerror}; "
                               "pick another with KNPY_RUN_PORT=<port>") from None


def _on_signal(signum: int, _frame: object) -> None:
    raise Stopped(signal.Signals(signum).name)


def wait_for(pred: Any, what: str, timeout: float = READY_TIMEOUT,
             proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


class Stack:
    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir
        self.logs = run_dir / "logs"
        (self.logs / "pods").mkdir(parents=True, exist_ok=True)  # the process target's
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], port: int | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen:
        proc = spawn(argv, env=env, log_path=self.logs / f"{name}.log", cwd=REPO)
        self.procs[name] = proc
        if port is not None:
            wait_port(port, timeout=READY_TIMEOUT, proc=proc)
        return proc

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def up(self, name: str = DEFAULT_NAME, gateway_port: int = DEFAULT_PORT) -> dict[str, Any]:
        check_port_free(gateway_port)
        revision = routes.revision_of(name)
        port = {k: free_port() for k in ("nats", "sink", "broker", "autoscaler", "activator")}

        # ---- Eventing: nats-server, the event-display sink, the broker
        self.start("nats-server", nats_server_argv(self.dir / "jetstream", port["nats"]),
                   port["nats"])
        self.start("event-display", [PY, "-c", LOOPBACK, str(DISPLAY)], port["sink"],
                   env={"PORT": str(port["sink"])})
        contract = self.dir / "broker-contract.yaml"
        contract.write_text(yaml.safe_dump({
            "brokers": [{"namespace": "default", "name": "default"}],
            "triggers": [{"namespace": "default", "name": "display", "broker": "default",
                          "subscriber": {"uri": f"http://127.0.0.1:{port['sink']}/"}}],
        }, sort_keys=False))
        broker = self.start("broker", [
            PY, "-m", "knpy.broker", "--role", "all", "--contract", str(contract),
            "--nats", f"nats://127.0.0.1:{port['nats']}", "--host", "127.0.0.1",
            "--port", str(port["broker"])], port["broker"])
        wait_for(lambda: "contract applied" in self.log("broker"), "the broker's contract",
                 proc=broker)

        # ---- Serving: the autoscaler (with its process scale target) and the activator
        endpoints = self.dir / "endpoints.json"
        config = self.dir / "autoscaler.yaml"
        config.write_text(yaml.safe_dump({
            "config": {"initial-scale": "0", "allow-zero-initial-scale": "true",
                       "stable-window": "6s", "scale-to-zero-grace-period": "6s"},
            "revisions": [{
                "namespace": NAMESPACE, "name": revision,
                "activatorProbeUrl": f"http://127.0.0.1:{port['activator']}/",
                "process": {"user": [PY, "-c", LOOPBACK, str(HELLO)],
                            "env": {"TARGET": "World"},
                            "queueProxyEnv": {"QUEUE_DRAIN_QUIET_PERIOD_SECONDS": "1"},
                            "stopTimeoutSeconds": 5, "logDir": str(self.logs / "pods")}}],
        }, sort_keys=False))
        autoscaler = self.start("autoscaler", [
            PY, "-m", "knpy.autoscaler", "--host", "127.0.0.1", "--port",
            str(port["autoscaler"]), "--config", str(config),
            "--endpoints-file", str(endpoints)], port["autoscaler"])
        wait_for(endpoints.exists, "the autoscaler's endpoints file", proc=autoscaler)
        self.start("activator", [
            PY, "-m", "knpy.activator", "--host", "127.0.0.1", "--port",
            str(port["activator"]), "--metrics-port", "0", "--config", str(endpoints),
            "--autoscaler-url", f"ws://127.0.0.1:{port['autoscaler']}/"], port["activator"])
        wait_for(lambda: "stats stream connected" in self.log("autoscaler"),
                 "the activator's stats stream to the autoscaler", proc=autoscaler)

        # ---- In front: the ingress gateway, routing by Host on the fixed port
        gateway_config = self.dir / "ingress.yaml"
        routes.write_routes(gateway_config, name, NAMESPACE, routes.Ports(
            activator=port["activator"], broker=port["broker"], sink=port["sink"]))
        self.start("ingress", [
            PY, "-m", "knpy.ingress", "--config", str(gateway_config), "--host", "127.0.0.1",
            "--port", str(gateway_port), "--internal-port", "0", "--probe-port", "0"],
            gateway_port)

        gateway = f"http://127.0.0.1:{gateway_port}"
        host = routes.service_host(name, NAMESPACE)
        return {
            "run_dir": str(self.dir),
            "gateway": gateway,
            "service": {"name": name, "namespace": NAMESPACE, "revision": revision},
            "hello": {"url": f"{gateway}/", "headers": {"Host": host}},
            "autoscaler": f"http://127.0.0.1:{port['autoscaler']}/api/v1/revisions/"
                          f"{NAMESPACE}/{revision}",
            "broker": {"url": f"{gateway}/default/default",
                       "headers": {"Host": routes.BROKER_HOST}},
            "sink": {"url": f"{gateway}/events", "headers": {"Host": routes.SINK_HOST}},
            "nats": f"nats://127.0.0.1:{port['nats']}",
            "pids": {n: p.pid for n, p in self.procs.items()},
        }

    def watch(self, seconds: float | None) -> None:
        """Stay in the foreground until a signal, the deadline, or a process dies."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while deadline is None or time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} (pid {proc.pid}) exited with "
                                       f"{proc.returncode}; see {self.logs / name}.log")
            time.sleep(0.5)

    def down(self) -> None:
        # Front to back; the autoscaler stops the pods it started (SIGTERM, then SIGKILL
        # after stopTimeoutSeconds), so it gets longer than that.
        for name in reversed(list(self.procs)):
            t0 = time.monotonic()
            code = stop(self.procs[name], timeout=20 if name == "autoscaler" else 10)
            print(f"  {name} (pid {self.procs[name].pid}) exited {code} after "
                  f"{time.monotonic() - t0:.1f}s", flush=True)


def _headers(target: dict[str, Any]) -> str:
    return " ".join(f"-H '{k}: {v}'" for k, v in target["headers"].items())


def commands(info: dict[str, Any]) -> dict[str, str]:
    """The copy-pasteable commands, all through the gateway's fixed port."""
    broker = info["broker"]
    return {
        "hello": f"curl {_headers(info['hello'])} {info['hello']['url']}",
        "event": (f"curl -i -X POST {broker['url']} {_headers(broker)} "
                  "-H 'ce-specversion: 1.0' -H 'ce-id: 1' -H 'ce-source: /curl' "
                  "-H 'ce-type: com.example.hello' -H 'content-type: application/json' "
                  """-d '{"msg": "hi"}'"""),
        "events": f"curl {_headers(info['sink'])} {info['sink']['url']}",
        "scale": f"curl {info['autoscaler']}",
    }


def _wrap(cmd: str, width: int = 88) -> str:
    """A long command on several lines, still one shell command."""
    first, *headers = cmd.split(" -H ")
    lines = [first]
    for h in headers:
        if len(lines[-1]) + len(h) + 4 > width:
            lines.append("     -H " + h)
        else:
            lines[-1] += " -H " + h
    return " \\\n  ".join(lines)


def describe(info: dict[str, Any]) -> str:
    cmd = info["commands"]
    svc = info["service"]
    pids = ", ".join(f"{n} {p}" for n, p in info["pids"].items())
    return f"""
knpy local stack is up (all on 127.0.0.1). Logs: {info['run_dir']}/logs
  processes: {pids}
  the ingress gateway routes by Host on {info['gateway']}

Serving: Knative Service {svc['namespace']}/{svc['name']}, revision {svc['revision']},
0 pods until the first request
  {cmd['hello']}
  # -> Hello World!
  {cmd['scale']}      # pods, pids, desiredScale
  (idle for ~15 s -> back to 0 pods: stable window 6 s + scale-to-zero grace 6 s)

Eventing: broker default/default, trigger "display" -> event-display
  {_wrap(cmd['event'])}
  # -> 202; the trigger delivers it to the display (its log: logs/event-display.log):
  {cmd['events']}

Ctrl-C stops everything.
"""


def _settings() -> tuple[float | None, str, int] | str:
    """(KNPY_RUN_SECONDS, KNPY_RUN_NAME, KNPY_RUN_PORT), or what is wrong with one."""
    env = os.environ.get
    seconds_env, name = env("KNPY_RUN_SECONDS", ""), env("KNPY_RUN_NAME") or DEFAULT_NAME
    port_env = env("KNPY_RUN_PORT") or str(DEFAULT_PORT)
    try:
        seconds = float(seconds_env) if seconds_env else None
    except ValueError:
        return f"KNPY_RUN_SECONDS: want a number of seconds, got {seconds_env!r}"
    if (why := routes.check_name(name)) is not None:
        return f"KNPY_RUN_NAME: {why}"
    if not port_env.isdigit() or not 0 < int(port_env) < 65536:
        return f"KNPY_RUN_PORT: want a TCP port (1-65535), got {port_env!r}"
    return seconds, name, int(port_env)


def main() -> int:
    settings = _settings()
    if isinstance(settings, str):
        print(settings, file=sys.stderr)
        return 2
    seconds, name, port = settings
    run_dir = Path(os.environ.get("KNPY_RUN_DIR") or tempfile.mkdtemp(prefix="knpy-run-"))
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    stack = Stack(run_dir)
    print(f"starting the knpy local stack; logs in {stack.logs}", flush=True)
    code = 0
    try:
        info = stack.up(name, port)
        info["commands"] = commands(info)
        print(describe(info), flush=True)
        print("KNPY_RUN " + json.dumps(info), flush=True)
        stack.watch(seconds)
    except Stopped as e:
        print(f"{e}: stopping", flush=True)
    except (RuntimeError, TimeoutError, OSError) as e:
        print(f"error: {e}\nlogs: {stack.logs}", file=sys.stderr, flush=True)
        code = 1
    finally:
        # No second signal may cut the teardown short; it is bounded by the stop timeouts.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.down()
        print(f"stopped {len(stack.procs)} process(es); logs kept in {stack.logs}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
