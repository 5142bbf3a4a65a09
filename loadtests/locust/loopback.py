"""The scenarios' processes on 127.0.0.1: the real knpy components, as `make run-local` starts
them (hack/run_local.py), each on a free port, logging under the results dir, and all
stopped by PID when the scenario ends."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from hack.run_local import HELLO, LOOPBACK, PY, Stack, wait_for
from loadtests.locust.targets import Target, wait_200
from tests.support.procs import free_port, nats_server_argv, python_module

NS = "loadtest"


def revision_headers(name: str) -> dict[str, str]:
    """What the activator routes by on 127.0.0.1 (the ingress adds these in a cluster)."""
    return {"Knative-Serving-Namespace": NS, "Knative-Serving-Revision": name}


class Loopback:
    """One scenario's processes (a context manager: leaving it stops every one)."""

    def __init__(self, run_dir: Path) -> None:
        self.stack = Stack(run_dir)
        self.dir = run_dir

    def __enter__(self) -> Loopback:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stack.down()

    # ------------------------------------------------------------ Serving
    def app(self, name: str) -> int:
        port = free_port()
        self.stack.start(name, [PY, "-c", LOOPBACK, str(HELLO)], port,
                         env={"PORT": str(port), "TARGET": "loadtest"})
        return port

    def queue_proxy(self, name: str, user_port: int) -> int:
        ports = {k: free_port() for k in ("QUEUE_SERVING_PORT", "QUEUE_ADMIN_PORT",
                                          "QUEUE_METRICS_PORT", "QUEUE_USER_METRICS_PORT")}
        env = {**{k: str(v) for k, v in ports.items()}, "USER_PORT": str(user_port),
               "QUEUE_LISTEN_HOST": "127.0.0.1", "SERVING_NAMESPACE": NS,
               "SERVING_REVISION": name, "SERVING_POD": f"{name}-1",
               "QUEUE_DRAIN_QUIET_PERIOD_SECONDS": "0"}
        self.stack.start(f"{name}-queue-proxy", python_module("knpy.queue_proxy"),
                         ports["QUEUE_SERVING_PORT"], env)
        return ports["QUEUE_SERVING_PORT"]

    def activator(self, *args: str) -> int:
        port = free_port()
        self.stack.start(f"activator-{port}", python_module(
            "knpy.activator", "--host", "127.0.0.1", "--port", str(port), "--metrics-port", "0",
            "--log-level", "warning", *args), port)
        return port

    def dataplane(self, name: str = "probe") -> dict[str, Target]:
        """The app, a queue-proxy in front of it, and an activator in front of that (one
        static backend, containerConcurrency 0): the three paths of dataplane-probe."""
        app = self.app(name)
        qp = self.queue_proxy(name, app)
        act = self.activator("--revision", f"{NS}/{name}", "--container-concurrency", "0",
                             "--backend", f"127.0.0.1:{qp}")
        targets = {"direct": Target(f"http://127.0.0.1:{app}", name="direct"),
                   "queue-proxy": Target(f"http://127.0.0.1:{qp}", name="queue-proxy"),
                   "activator": Target(f"http://127.0.0.1:{act}", revision_headers(name),
                                       "activator")}
        for t in targets.values():
            wait_200(t, timeout=30)
        return targets

    def at_zero(self, names: list[str]) -> list[Target]:
        """Revisions at zero pods behind the autoscaler's process scale target, and the
        activator following its endpoints: the first request to each scales it from zero."""
        act_port, as_port = free_port(), free_port()
        endpoints, config = self.dir / "endpoints.json", self.dir / "autoscaler.yaml"
        process = {"user": [PY, "-c", LOOPBACK, str(HELLO)], "env": {"TARGET": "loadtest"},
                   "queueProxyEnv": {"QUEUE_DRAIN_QUIET_PERIOD_SECONDS": "1"},
                   "stopTimeoutSeconds": 5, "logDir": str(self.dir / "logs" / "pods")}
        config.write_text(yaml.safe_dump({
            "config": {"initial-scale": "0", "allow-zero-initial-scale": "true",
                       "stable-window": "6s", "scale-to-zero-grace-period": "6s"},
            "revisions": [{"namespace": NS, "name": n,
                           "activatorProbeUrl": f"http://127.0.0.1:{act_port}/",
                           "process": process} for n in names]}, sort_keys=False))
        autoscaler = self.stack.start("autoscaler", python_module(
            "knpy.autoscaler", "--host", "127.0.0.1", "--port", str(as_port), "--config",
            str(config), "--endpoints-file", str(endpoints)), as_port)
        wait_for(endpoints.exists, "the autoscaler's endpoints file", proc=autoscaler)
        self.stack.start("activator", python_module(
            "knpy.activator", "--host", "127.0.0.1", "--port", str(act_port),
            "--metrics-port", "0", "--log-level", "warning", "--config", str(endpoints),
            "--autoscaler-url", f"ws://127.0.0.1:{as_port}/"), act_port)
        wait_for(lambda: "stats stream connected" in self.stack.log("autoscaler"),
                 "the activator's stats stream to the autoscaler", proc=autoscaler)
        return [Target(f"http://127.0.0.1:{act_port}", revision_headers(n), n) for n in names]

    # ------------------------------------------------------------ Eventing
    def broker(self) -> tuple[Target, str, str]:
        """nats-server, the counting sink, `knpy.broker --role all` with broker
        loadtest/default and a trigger to the sink: (the broker's ingress, the broker's
        path there, the sink's stats URL)."""
        nats, sink, broker = free_port(), free_port(), free_port()
        self.stack.start("nats-server", nats_server_argv(self.dir / "jetstream", nats), nats)
        self.stack.start("sink", [sys.executable, "-m", "loadtests.locust.sink", "--port",
                                  str(sink)], sink)
        contract = self.dir / "broker-contract.yaml"
        contract.write_text(yaml.safe_dump({
            "brokers": [{"namespace": NS, "name": "default"}],
            "triggers": [{"namespace": NS, "name": "sink", "broker": "default",
                          "subscriber": {"uri": f"http://127.0.0.1:{sink}/"}}]}))
        proc = self.stack.start("broker", python_module(
            "knpy.broker", "--role", "all", "--contract", str(contract), "--nats",
            f"nats://127.0.0.1:{nats}", "--host", "127.0.0.1", "--port", str(broker)), broker)
        wait_for(lambda: "contract applied" in self.stack.log("broker"),
                 "the broker's contract", proc=proc)
        return (Target(f"http://127.0.0.1:{broker}", name="broker"), f"/{NS}/default",
                f"http://127.0.0.1:{sink}/stats")
