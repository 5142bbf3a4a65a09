#!/usr/bin/env python3
"""`make run`: the whole stack on a cluster, ending in a served sample (docs/run.md).

1. Where: if KUBECONFIG names a reachable cluster other than the local harness's, knpy is
   installed there with `helm upgrade --install` and the helm flags given after `--` (the
   images come from a registry: `--set image.registry=... --set image.tag=...`; nothing is
   built). Otherwise the local cluster is brought up (`hack/cluster.sh up`, a no-op when it
   runs) and `make deploy`'s code path (hack.deploy.deploy) builds, imports and installs
   the current tree.
2. The samples in `default`: the seed's helloworld ksvc `helloworld-go` (image swapped for
   the sample image), a Broker `default` and a Trigger to an event-display Deployment +
   Service.
3. Wait until all are Ready and the gateway answers `Hello World!`.
4. Print how to use them.

Each step prints what it does and, every 10 s, that it still does it; its detailed output
goes to ~/.cache/knpy/run/logs/<step>.log, named when the step fails. What was started is
recorded in ~/.cache/knpy/run/state.json so `make stop` (`python -m hack.run --stop`)
removes the samples, the release if this installed it, and the local cluster if this
started it. `--no-deploy` skips step 1's cluster-up and install (the stack must be there).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from hack.deploy import (
    CLUSTER_DIR,
    NAMESPACE,
    RELEASE,
    deploy,
    deployed_manifest,
    install,
)
from tests.support.cluster import (
    CACHE,
    IMAGE_PREFIX,
    IMAGE_TAG,
    TOOLS_BIN,
    KubeCluster,
    KubeError,
    is_up,
    run_hack,
    stop_cluster,
)
from tests.support.poll import wait_until
from tests.support.procs import REPO

RUN_DIR = CACHE / "run"
STATE_FILE = RUN_DIR / "state.json"
LOG_DIR = RUN_DIR / "logs"
SAMPLES_NS = "default"
KSVC = "helloworld-go"
SINK = "event-display"
BROKER = "default"
TRIGGER = "event-display"
GATEWAY_PORT = 31080  # the chart's knpy-ingress NodePort (docs/routing.md)
HEARTBEAT = 10.0
GREETING = "Hello World!"


class StepFailed(RuntimeError):
    """A step of `make run` failed; the message names the step and its log."""

    def __init__(self, msg: str, log: Path | None = None) -> None:
        super().__init__(msg)
        self.log = log


# ---------------------------------------------------------------- pure parts
def external_kubeconfig(env: Mapping[str, str], harness: Path) -> Path | None:
    """The kubeconfig KUBECONFIG names when it is not the local harness's (the first file
    of a list, as kubectl would start with); None when unset or the harness's own."""
    first = next((p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p), "")
    if not first:
        return None
    path = Path(first).expanduser()
    if path.resolve() == harness.resolve():
        return None
    return path


def helm_value(helm_args: Sequence[str], key: str) -> str | None:
    """The last value `--set`/`--set-string` give `key` in helm flags (comma lists too)."""
    found = None
    args = list(helm_args)
    for i, arg in enumerate(args):
        if arg in ("--set", "--set-string") and i + 1 < len(args):
            pairs = args[i + 1]
        elif arg.startswith(("--set=", "--set-string=")):
            pairs = arg.split("=", 1)[1]
        else:
            continue
        for pair in pairs.split(","):
            k, sep, v = pair.partition("=")
            if sep and k.strip() == key:
                found = v
    return found


@dataclass(frozen=True)
class Images:
    """Where the sample images come from: the chart's registry and tag."""

    registry: str = IMAGE_PREFIX
    tag: str = IMAGE_TAG
    pull_policy: str = "Never"  # the local cluster: imported, never pulled

    def ref(self, name: str) -> str:
        return f"{self.registry}/{name}:{self.tag}"

    @classmethod
    def from_helm_args(cls, helm_args: Sequence[str]) -> Images:
        """An external cluster pulls the samples from the registry the chart's images use."""
        return cls(helm_value(helm_args, "image.registry") or IMAGE_PREFIX,
                   helm_value(helm_args, "image.tag") or IMAGE_TAG, "IfNotPresent")


def samples(images: Images) -> list[dict[str, Any]]:
    """The seed's helloworld ksvc (image swapped), the event display, a Broker and a
    Trigger sending every event to the display."""
    hello = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
             "metadata": {"name": KSVC, "namespace": SAMPLES_NS},
             "spec": {"template": {"spec": {"containers": [{
                 "image": images.ref("helloworld"),
                 "ports": [{"name": "http1", "containerPort": 8080}],
                 "env": [{"name": "TARGET", "value": "World"}]}]}}}}
    labels = {"app": SINK}
    display = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": SINK, "namespace": SAMPLES_NS, "labels": labels},
               "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                            "name": "display", "image": images.ref("event-display"),
                            "imagePullPolicy": images.pull_policy,
                            "ports": [{"containerPort": 8080}],
                            "readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                               "periodSeconds": 1}}]}}}}
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": SINK, "namespace": SAMPLES_NS},
               "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]}}
    broker = {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
              "metadata": {"name": BROKER, "namespace": SAMPLES_NS}}
    trigger = {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
               "metadata": {"name": TRIGGER, "namespace": SAMPLES_NS},
               "spec": {"broker": BROKER, "subscriber": {
                   "ref": {"apiVersion": "v1", "kind": "Service", "name": SINK}}}}
    return [hello, display, service, broker, trigger]


def manifest(objs: Sequence[dict[str, Any]]) -> str:
    """One kubectl-appliable document (a List)."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}, indent=1)


def is_ready(obj: Mapping[str, Any]) -> bool:
    """Knative's Ready condition is True for the object's current generation."""
    st = obj.get("status") or {}
    seen = st.get("observedGeneration")
    if seen is not None and seen < (obj.get("metadata") or {}).get("generation", 0):
        return False  # the Ready condition is about an older spec
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in st.get("conditions") or [])


def via_ip(url: str, ip: str) -> tuple[str, str]:
    """(url with its host replaced by ip, the original host[:port] for the Host header):
    this host does not use the cluster DNS (docs/cluster.md)."""
    scheme, rest = url.split("://", 1)
    hostport, _, path = rest.partition("/")
    _, _, port = hostport.partition(":")
    return f"{scheme}://{ip}{':' + port if port else ''}/{path}", hostport


@dataclass(frozen=True)
class Endpoints:
    """What the instructions point at. Local: addresses this host reaches directly;
    external: None for the addresses (reached through `kubectl port-forward`)."""

    kubeconfig: str
    ksvc_host: str
    broker_url: str          # status.address.url of the Broker
    broker_ip: str | None    # its ClusterIP, local only
    sink_ip: str | None      # the display Service's ClusterIP, local only


def instructions(e: Endpoints) -> str:
    """The text `make run` ends with: serve, send an event, watch scale to zero."""
    env = f"export KUBECONFIG={e.kubeconfig}"
    if e.broker_ip is not None:
        env += f" PATH={TOOLS_BIN}:$PATH"
        gateway = f"http://127.0.0.1:{GATEWAY_PORT}/"
        broker, broker_host = via_ip(e.broker_url, e.broker_ip)
        forward = ""
        events = f"curl http://{e.sink_ip}/events   # the events it received, as JSON"
    else:
        gateway = "http://127.0.0.1:8080/"
        broker, broker_host = via_ip(e.broker_url, "127.0.0.1:8081")
        forward = (f"kubectl port-forward -n {NAMESPACE} svc/knpy-ingress 8080:80 &\n"
                   f"kubectl port-forward -n {NAMESPACE} svc/broker-ingress 8081:80 &\n")
        events = (f"kubectl port-forward -n {SAMPLES_NS} svc/{SINK} 8082:80 &\n"
                  f"curl http://127.0.0.1:8082/events   # the events it received, as JSON")
    hello = f"curl -H 'Host: {e.ksvc_host}' {gateway}"
    return f"""
knpy runs; the samples are Ready in namespace {SAMPLES_NS}.

{env}
{forward}
# Serving: the ksvc {KSVC} through the gateway
{hello}
# -> {GREETING}

# Eventing: send a CloudEvent to the broker ({e.broker_url}) ...
curl -i -X POST {broker} -H 'Host: {broker_host}' \\
     -H 'ce-specversion: 1.0' -H 'ce-id: 1' -H 'ce-source: /curl' \\
     -H 'ce-type: com.example.hello' -H 'content-type: application/json' -d '{{"msg": "hi"}}'
# -> 202; the trigger {TRIGGER} delivers it to the display:
kubectl logs -n {SAMPLES_NS} deploy/{SINK}
{events}

# Scale to zero and back: watch the revision's pods ...
kubectl get pods -n {SAMPLES_NS} -l serving.knative.dev/service={KSVC} -w
# ... after about a minute without requests (the 60 s stable window) the pod terminates;
# then, in another shell, the same request brings one back through the activator:
{hello}

`make stop` removes the samples and what `make run` started.
"""


@dataclass
class State:
    """What `make run` started, for `make stop` (STATE_FILE)."""

    kubeconfig: str
    local: bool
    started_cluster: bool = False
    installed_release: bool = False

    def merge(self, old: State | None) -> State:
        """A later run keeps what an earlier one started on the same cluster."""
        if old is None or old.kubeconfig != self.kubeconfig:
            return self
        return State(self.kubeconfig, self.local,
                     self.started_cluster or old.started_cluster,
                     self.installed_release or old.installed_release)


def save_state(state: State, path: Path = STATE_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=1) + "\n")
    tmp.replace(path)


def record(state: State, path: Path = STATE_FILE) -> None:
    """Save what this run started, keeping what earlier runs did."""
    save_state(state.merge(load_state(path)), path)


def load_state(path: Path = STATE_FILE) -> State | None:
    """The recorded state; None if there is none (or it is unreadable)."""
    try:
        return State(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


# ---------------------------------------------------------------- progress
def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}] run: {msg}", flush=True)


@contextlib.contextmanager
def step(name: str, log_dir: Path = LOG_DIR) -> Iterator[Path]:
    """Announce a step, beat every HEARTBEAT s while it runs, send its stderr (and that of
    the tools it runs) to its log file, and turn a failure into StepFailed naming both."""
    log_dir.mkdir(parents=True, exist_ok=True)
    label = name.split(":")[0]
    log = log_dir / f"{label.replace(' ', '-')}.log"
    t0 = time.monotonic()
    say(f"{name} ... (log: {log})")
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT):
            say(f"  ... {label}: {time.monotonic() - t0:.0f}s")

    threading.Thread(target=beat, daemon=True).start()
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        # both: Python's sys.stderr and the fd 2 the tools it starts inherit
        with open(log, "w", buffering=1) as f, contextlib.redirect_stderr(f):
            os.dup2(f.fileno(), 2)
            try:
                yield log
            except (KubeError, AssertionError, OSError, ValueError,
                    subprocess.SubprocessError) as e:
                print(f"FAILED: {e}", file=sys.stderr, flush=True)
                first = str(e).splitlines()[0] if str(e) else type(e).__name__
                raise StepFailed(f"step '{name}' failed after {time.monotonic() - t0:.0f}s: "
                                 f"{first}\n  log: {log}", log) from e
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)
        done.set()
    say(f"{label}: done ({time.monotonic() - t0:.1f}s)")


# ---------------------------------------------------------------- the cluster
def reachable(c: KubeCluster) -> str | None:
    """None if the API server answers /readyz, else why not."""
    try:
        p = c.kubectl("get", "--raw", "/readyz", timeout=15, check=False)
    except KubeError as e:
        return str(e)
    return None if p.returncode == 0 else (p.stderr.strip() or p.stdout.strip())


def external_cluster(kubeconfig: Path) -> KubeCluster:
    return KubeCluster(kubeconfig.parent, config=kubeconfig)


def pick_external(env: Mapping[str, str]) -> KubeCluster | None:
    """The cluster KUBECONFIG names when it is reachable and not the harness's."""
    path = external_kubeconfig(env, CLUSTER_DIR / "admin.kubeconfig")
    if path is None:
        return None
    try:
        c = external_cluster(path)
    except (OSError, KubeError) as e:
        say(f"KUBECONFIG={path} unusable ({e}): using the local cluster")
        return None
    why = reachable(c)
    if why is not None:
        say(f"KUBECONFIG={path} not reachable ({why.splitlines()[0]}): using the local cluster")
        return None
    return c


def install_external(c: KubeCluster, helm_args: Sequence[str], timeout: float) -> bool:
    """`make deploy`'s install with the given values (images from their registry, nothing
    built); True if the release was not there before."""
    new = deployed_manifest(c, RELEASE, NAMESPACE) is None
    install(c, helm_args, timeout)
    return new


def prerequisites() -> None:
    """What the local cluster needs, built once and cached (`make cluster-prereqs`)."""
    with step("prerequisites: make cluster-prereqs (cached; the first time builds Kubernetes, "
              "10+ min)"):
        p = subprocess.run(["make", "-C", str(REPO), "--no-print-directory", "cluster-prereqs"],
                           stdout=sys.stderr, timeout=7200, check=False)
        if p.returncode != 0:
            raise KubeError(f"make cluster-prereqs failed ({p.returncode})")


def install_local(helm_args: Sequence[str], timeout: float) -> tuple[KubeCluster, State]:
    """Prerequisites, cluster up (when down), then `make deploy`; the state says what this
    started."""
    prerequisites()
    state = State(str(CLUSTER_DIR / "admin.kubeconfig"), local=True)
    with step("cluster up: hack/cluster.sh up (minutes the first time)"):
        if not is_up(CLUSTER_DIR):
            # recorded first, so `make stop` downs even a cluster that came up half-way
            state.started_cluster = True
            record(state)
            print(run_hack("cluster.sh", "up", cluster_dir=CLUSTER_DIR, timeout=1200),
                  file=sys.stderr)
    c = KubeCluster(CLUSTER_DIR)
    state.installed_release = deployed_manifest(c, RELEASE, NAMESPACE) is None
    record(state)
    with step("deploy: images of this tree + helm upgrade --install (make deploy)"):
        deploy(CLUSTER_DIR, helm_args=helm_args, timeout=timeout)
    return c, state


def get(c: KubeCluster, kind: str, name: str) -> dict[str, Any]:
    return dict(json.loads(c.kubectl("get", kind, name, "-n", SAMPLES_NS, "-o",
                                     "json").stdout))


def ready_object(c: KubeCluster, kind: str, name: str) -> dict[str, Any] | None:
    obj = get(c, kind, name)
    return obj if is_ready(obj) else None


def apply_samples(c: KubeCluster, images: Images) -> None:
    with step("samples: apply helloworld-go, event-display, Broker and Trigger in default"):
        print(c.apply(manifest(samples(images))), file=sys.stderr, end="")


def wait_samples(c: KubeCluster, timeout: float) -> dict[str, dict[str, Any]]:
    """Each sample object once Ready (the display: rolled out)."""
    got: dict[str, dict[str, Any]] = {}
    with step("ready: wait for the samples"):
        c.wait_for_rollout(SAMPLES_NS, SINK, timeout=timeout)
        for kind, name in (("ksvc", KSVC), ("broker", BROKER), ("trigger", TRIGGER)):
            got[kind] = wait_until(partial(ready_object, c, kind, name), timeout,
                                   f"{kind} {SAMPLES_NS}/{name} Ready", every=1.0,
                                   ignore=(KubeError, ValueError),
                                   detail=partial(as_yaml, c, kind, name))
            say(f"  {kind} {name} Ready")
    return got


def as_yaml(c: KubeCluster, kind: str, name: str) -> str:
    """The object as it is, for a failure message (its status says why it is not Ready)."""
    return c.kubectl("get", kind, name, "-n", SAMPLES_NS, "-o", "yaml",
                     check=False).stdout[-3000:]


def gateway_get(host: str) -> tuple[int, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{GATEWAY_PORT}/", headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except OSError as e:
        return 0, repr(e)


def wait_served(host: str, timeout: float) -> None:
    with step(f"serve: the gateway answers {host}"):
        wait_until(lambda: gateway_get(host)[1].strip() == GREETING, timeout,
                   f"{GREETING!r} from 127.0.0.1:{GATEWAY_PORT} (Host: {host})", every=1.0,
                   detail=lambda: repr(gateway_get(host)))


def endpoints(c: KubeCluster, objs: Mapping[str, Mapping[str, Any]], local: bool) -> Endpoints:
    host = objs["ksvc"]["status"]["url"].split("://", 1)[1].split("/")[0]
    broker_url = objs["broker"]["status"]["address"]["url"]
    broker_ip = sink_ip = None
    if local:
        broker_ip = c.resolve(broker_url.split("://", 1)[1].split("/")[0].split(":")[0])[0]
        sink_ip = c.kubectl("get", "svc", SINK, "-n", SAMPLES_NS, "-o",
                            "jsonpath={.spec.clusterIP}").stdout.strip()
    return Endpoints(c.kubeconfig, host, broker_url, broker_ip, sink_ip)


# ---------------------------------------------------------------- the verbs
def run(helm_args: Sequence[str], no_deploy: bool, timeout: float) -> None:
    t0 = time.monotonic()
    external = pick_external(os.environ)
    if external is not None:
        c, images = external, Images.from_helm_args(helm_args)
        say(f"installing into KUBECONFIG={c.kubeconfig} ({c.server}), images from "
            f"{images.registry} tag {images.tag}")
        if helm_value(helm_args, "image.registry") is None:
            say(f"no image.registry given: the cluster must be able to pull {images.registry}")
        state = State(c.kubeconfig, local=False)
        if not no_deploy:
            with step(f"install: helm upgrade --install {RELEASE} ({c.server})"):
                state.installed_release = install_external(c, helm_args, timeout)
    elif no_deploy:
        if not is_up(CLUSTER_DIR):
            raise StepFailed(f"--no-deploy: no local cluster runs in {CLUSTER_DIR}")
        c, images = KubeCluster(CLUSTER_DIR), Images()
        state = State(c.kubeconfig, local=True)
    else:
        c, state = install_local(helm_args, timeout)
        images = Images()
    record(state)
    apply_samples(c, images)
    objs = wait_samples(c, timeout)
    e = endpoints(c, objs, local=state.local)
    if state.local:
        wait_served(e.ksvc_host, timeout)
    say(f"everything Ready in {time.monotonic() - t0:.0f}s")
    print(instructions(e))


def stop(state_file: Path = STATE_FILE) -> None:
    """Remove the samples, then the release and the cluster if `make run` started them."""
    state = load_state(state_file)
    if state is None:
        say(f"nothing to stop: no {state_file}")
        return
    c = KubeCluster(CLUSTER_DIR) if state.local else external_cluster(Path(state.kubeconfig))
    if not state.local or is_up(CLUSTER_DIR):
        with step("stop samples: delete them from default"):
            # Triggers and Brokers while the controller still runs
            # foreground: returns once the revisions and pods they own are gone too
            for kind, name in (("trigger", TRIGGER), ("broker", BROKER), ("ksvc", KSVC),
                               ("deployment", SINK), ("service", SINK)):
                print(c.kubectl("delete", kind, name, "-n", SAMPLES_NS, "--ignore-not-found",
                                "--cascade=foreground", "--wait=true", "--timeout=120s",
                                timeout=150).stdout, file=sys.stderr, end="")
        if state.installed_release:
            with step(f"stop release: helm uninstall {RELEASE}"):
                print(c.helm("uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout",
                             "180s", timeout=240).stdout, file=sys.stderr)
    if state.started_cluster:
        with step("stop cluster: hack/cluster.sh down"):
            stop_cluster(CLUSTER_DIR)
    state_file.unlink(missing_ok=True)
    say("stopped")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hack.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stop", action="store_true", help="tear down what `make run` started")
    p.add_argument("--no-deploy", action="store_true",
                   help="no cluster-up, no install: only the samples on the running stack")
    p.add_argument("--timeout", type=float, default=600, help="seconds per step")
    p.add_argument("helm_args", nargs="*", help="after --: more helm flags")
    a = p.parse_args(argv)
    try:
        if a.stop:
            stop()
        else:
            run(a.helm_args, a.no_deploy, a.timeout)
    except StepFailed as e:
        print(f"run: {e}", file=sys.stderr)
        if e.log is not None:
            tail = e.log.read_text(errors="replace").splitlines()[-20:]
            print("  " + "\n  ".join(tail), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
