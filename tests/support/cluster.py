"""Pytest fixtures for a real Kubernetes API server and the local single-node cluster.

Both fixtures are session-scoped and drive `hack/cluster.sh` (the one implementation; see
docs/cluster.md):

- `kube_apiserver`: etcd + kube-apiserver only, on 127.0.0.1 with free ports, in a private
  directory; a few seconds to start once the binaries are cached. For controller and webhook
  tests. Several sessions can each run one at the same time.
- `kube_cluster`: the full node (containerd, kubelet, kube-proxy, cluster DNS, ...); one per
  machine, so sessions take a lock file for as long as they use it.

With KNPY_REUSE_CLUSTER=1 an already-running cluster is used as it is (and left running);
whatever a fixture starts itself it always tears down.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.procs import REPO

HACK = REPO / "hack"
CACHE = Path(os.environ.get("KNPY_CACHE", Path.home() / ".cache" / "knpy"))
CLUSTER_DIR = CACHE / "cluster"          # the full cluster (`make cluster-up`)
APISERVER_DIR = CACHE / "apiserver"      # an optional long-lived API-server-only instance
TOOLS_BIN = CACHE / "tools" / "bin"
K8S_BIN = CACHE / "k8s" / "v1.20.2" / "bin"
IMAGE_PREFIX = os.environ.get("KNPY_IMAGE_PREFIX", "dev.local/knpy")
IMAGE_TAG = os.environ.get("KNPY_IMAGE_TAG", "dev")
UP_TIMEOUT = float(os.environ.get("KNPY_CLUSTER_UP_TIMEOUT", "420"))
LOCK_TIMEOUT = float(os.environ.get("KNPY_CLUSTER_LOCK_TIMEOUT", "1800"))


class KubeError(RuntimeError):
    """A kubectl/helm/harness command failed; the message carries its output."""


def reuse_requested() -> bool:
    return os.environ.get("KNPY_REUSE_CLUSTER", "").lower() in ("1", "true", "yes")


def image_ref(name: str) -> str:
    """The reference `make images` gives image `name` (e.g. dev.local/knpy/helloworld:dev)."""
    return f"{IMAGE_PREFIX}/{name}:{IMAGE_TAG}"


def run_hack(script: str, *args: str, cluster_dir: Path | None = None,
             timeout: float = 300, env: dict[str, str] | None = None) -> str:
    full_env = dict(os.environ, KNPY_CACHE=str(CACHE), **(env or {}))
    if cluster_dir is not None:
        full_env["KNPY_CLUSTER_DIR"] = str(cluster_dir)
    try:
        p = subprocess.run([str(HACK / script), *args], env=full_env, capture_output=True,
                           text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        raise KubeError(f"hack/{script} {' '.join(args)} timed out after {timeout}s") from e
    if p.returncode != 0:
        raise KubeError(f"hack/{script} {' '.join(args)} failed ({p.returncode}):\n"
                        f"{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p.stdout


def is_up(cluster_dir: Path) -> bool:
    """True if the API server recorded in cluster_dir runs and its kubeconfig exists."""
    pidfile = cluster_dir / "pids" / "kube-apiserver.pid"
    if not pidfile.exists() or not (cluster_dir / "admin.kubeconfig").exists():
        return False
    try:
        os.kill(int(pidfile.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


@dataclass
class KubeAPI:
    """A running API server: kubeconfig path, server URL and a kubectl/helm runner.

    `config` names a kubeconfig other than the harness's `<cluster_dir>/admin.kubeconfig`
    (a cluster `make run` installs into instead of the local one)."""

    cluster_dir: Path
    started_here: bool = False
    config: Path | None = None
    kubeconfig: str = field(init=False)
    server: str = field(init=False)

    def __post_init__(self) -> None:
        self.kubeconfig = str(self.config or self.cluster_dir / "admin.kubeconfig")
        self.server = self._server_from_kubeconfig()

    def _server_from_kubeconfig(self) -> str:
        for line in Path(self.kubeconfig).read_text().splitlines():
            if line.strip().startswith("server:"):
                return line.split(":", 1)[1].strip()
        raise KubeError(f"no server in {self.kubeconfig}")

    @property
    def etcd_url(self) -> str:
        """The etcd client URL behind this API server (e.g. to compact it in a test)."""
        ports = dict(line.split("=", 1) for line in
                     (self.cluster_dir / "ports").read_text().split())
        return f"http://127.0.0.1:{ports['ETCD_PORT']}"

    @property
    def env(self) -> dict[str, str]:
        """Environment for a client process: KUBECONFIG and the tools on PATH."""
        return {"KUBECONFIG": self.kubeconfig,
                "PATH": f"{TOOLS_BIN}:{os.environ.get('PATH', '')}"}

    def _run(self, tool: str, args: tuple[str, ...], input: str | None, timeout: float,
             check: bool) -> subprocess.CompletedProcess[str]:
        argv = [str(TOOLS_BIN / tool), "--kubeconfig", self.kubeconfig, *args]
        try:
            p = subprocess.run(argv, input=input, capture_output=True, text=True,
                               timeout=timeout, check=False, env=dict(os.environ, **self.env))
        except subprocess.TimeoutExpired as e:
            raise KubeError(f"{tool} {' '.join(args)} timed out after {timeout}s") from e
        if check and p.returncode != 0:
            raise KubeError(f"{tool} {' '.join(args)} failed ({p.returncode}): "
                            f"{p.stderr.strip() or p.stdout.strip()}")
        return p

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 60,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this API server (raises KubeError on failure if check)."""
        return self._run("kubectl", args, input, timeout, check)

    def helm(self, *args: str, timeout: float = 120,
             check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("helm", args, None, timeout, check)

    def apply(self, manifest: str, namespace: str | None = None) -> str:
        """kubectl apply a YAML/JSON manifest given as text."""
        ns = ("-n", namespace) if namespace else ()
        return self.kubectl("apply", *ns, "-f", "-", input=manifest).stdout


@dataclass
class KubeCluster(KubeAPI):
    """The full single-node cluster: KubeAPI plus image and pod helpers."""

    node_ip: str = "10.244.0.1"

    def build_images(self, *names: str, timeout: float = 1800) -> None:
        """Build (if changed) and import images by name (hack/images/<n>, components/knpy/<n>)."""
        run_hack("images.sh", "build", *names, timeout=timeout)

    def import_images(self) -> None:
        """Import every image already built (e.g. by `make images`) into containerd."""
        run_hack("images.sh", "import", timeout=600)

    def wait_for_pods(self, namespace: str, selector: str, timeout: float = 120) -> None:
        """Wait until at least one pod matches `selector` and all matching pods are Ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            names = self.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o",
                                 "name").stdout.split()
            if names:
                left = max(1, int(deadline - time.monotonic()))
                p = self.kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod",
                                 "-l", selector, f"--timeout={left}s", timeout=left + 10,
                                 check=False)
                if p.returncode == 0:
                    return
            time.sleep(0.5)
        pods = self.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "wide",
                            check=False).stdout
        events = self.kubectl("get", "events", "-n", namespace, "--sort-by=.lastTimestamp",
                              check=False).stdout[-3000:]
        raise KubeError(f"pods {selector!r} in {namespace} not Ready after {timeout}s\n"
                        f"{pods}\n{events}")

    def wait_for_rollout(self, namespace: str, deployment: str, timeout: float = 120) -> None:
        self.kubectl("rollout", "status", "-n", namespace, f"deployment/{deployment}",
                     f"--timeout={int(timeout)}s", timeout=timeout + 10)

    def run_to_completion(self, namespace: str, name: str, image: str, argv: list[str],
                          timeout: float = 120) -> str:
        """Run a one-off pod to its end and return its output; fail if it did not succeed.

        Not `kubectl run --rm -i`: its attach races a short-lived container, and when the
        container has already exited it can return success with no output at all."""
        self.kubectl("run", name, "-n", namespace, "--restart=Never", f"--image={image}",
                     "--image-pull-policy=Never", "--command", "--", *argv)
        try:
            deadline = time.monotonic() + timeout
            phase = ""
            while time.monotonic() < deadline:
                phase = self.kubectl("get", "pod", name, "-n", namespace, "-o",
                                     "jsonpath={.status.phase}").stdout.strip()
                if phase in ("Succeeded", "Failed"):
                    break
                time.sleep(0.5)
            logs = self.kubectl("logs", name, "-n", namespace, check=False).stdout
            if phase != "Succeeded":
                raise KubeError(f"pod {namespace}/{name} ended {phase or 'nowhere'} "
                                f"(waited {timeout}s):\n{logs}")
            return logs
        finally:
            self.kubectl("delete", "pod", name, "-n", namespace, "--wait=false", check=False)

    def http_get(self, url: str, timeout: float = 30,
                 headers: dict[str, str] | None = None) -> tuple[int, str]:
        """GET a pod/Service URL from the host, retrying while the path is still being set
        up (kube-proxy programs a new Service's rules a moment after its endpoints exist)."""
        deadline = time.monotonic() + timeout
        req = urllib.request.Request(url, headers=headers or {})
        while True:
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    return resp.status, resp.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def resolve(self, name: str) -> list[str]:
        """A records for `name` from the cluster DNS (what pods see)."""
        out = subprocess.run(["python3", str(HACK / "cluster_dns.py"), "--query", name,
                              "--server", self.node_ip], capture_output=True, text=True,
                             timeout=10, check=False)
        if out.returncode != 0:
            raise KubeError(out.stderr.strip())
        return out.stdout.split()


# ---------------------------------------------------------------- lifecycle helpers
def start_apiserver(cluster_dir: Path) -> KubeAPI:
    """Start an API-server-only instance in cluster_dir (free ports); returns its handle."""
    run_hack("cluster.sh", "up", "--apiserver-only", cluster_dir=cluster_dir, timeout=UP_TIMEOUT)
    return KubeAPI(cluster_dir, started_here=True)


def stop_cluster(cluster_dir: Path) -> None:
    run_hack("cluster.sh", "down", cluster_dir=cluster_dir, timeout=300)


@contextlib.contextmanager
def machine_lock(path: Path = Path("/run/lock/knpy-cluster.lock"),
                 timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the one-full-cluster-per-machine lock (other sessions wait for it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise KubeError(f"another session held {path} for {timeout}s") from None
                time.sleep(2)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def reap_stale_apiservers(root: Path = CACHE / "apiservers") -> None:
    """Stop API-server-only instances whose test session died without tearing down (their
    dir is named after the owning pytest's PID)."""
    if not root.is_dir():
        return
    for d in root.iterdir():
        try:
            owner = int(d.name.split("-", 1)[0])
        except ValueError:
            continue
        if Path(f"/proc/{owner}").exists():
            continue
        with contextlib.suppress(KubeError):
            stop_cluster(d)
        subprocess.run(["rm", "-rf", str(d)], check=False, timeout=60)


@contextlib.contextmanager
def teardown_on_sigterm() -> Iterator[None]:
    """`timeout`/CI send SIGTERM: turn it into KeyboardInterrupt so pytest still runs the
    fixtures' teardown (which stops what they started)."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, previous)


def _need(path: Path, hint: str) -> None:
    if not path.exists():
        pytest.fail(f"{path} is missing: run `{hint}` first (make test does it)", pytrace=False)


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def kube_apiserver() -> Iterator[KubeAPI]:
    """A real kube-apiserver + etcd (no node). `.kubeconfig`, `.server`, `.kubectl(...)`."""
    if reuse_requested():
        for d in (APISERVER_DIR, CLUSTER_DIR):
            if is_up(d):
                yield KubeAPI(d)
                return
    _need(K8S_BIN / "kube-apiserver", "make cluster-prereqs")
    _need(TOOLS_BIN / "kubectl", "make kube-tools")
    reap_stale_apiservers()
    d = CACHE / "apiservers" / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    with teardown_on_sigterm():
        try:
            yield start_apiserver(d)
        finally:
            with contextlib.suppress(KubeError):
                stop_cluster(d)
            subprocess.run(["rm", "-rf", str(d)], check=False, timeout=60)


@pytest.fixture(scope="session")
def kube_cluster() -> Iterator[KubeCluster]:
    """The full single-node cluster (node Ready, cluster DNS, sample images imported)."""
    if reuse_requested() and is_up(CLUSTER_DIR):
        cluster = KubeCluster(CLUSTER_DIR)
        cluster.build_images("pause", "helloworld", "event-display")
        yield cluster
        return
    _need(K8S_BIN / "kubelet", "make cluster-prereqs")
    _need(TOOLS_BIN / "kubectl", "make kube-tools")
    with machine_lock(), teardown_on_sigterm():
        if is_up(CLUSTER_DIR):
            pytest.fail(f"a cluster already runs in {CLUSTER_DIR}: set KNPY_REUSE_CLUSTER=1 to "
                        "use it, or `make cluster-down`", pytrace=False)
        try:
            run_hack("cluster.sh", "up", cluster_dir=CLUSTER_DIR, timeout=UP_TIMEOUT,
                     env={"KNPY_MACHINE_LOCK_HELD": "1"})
            cluster = KubeCluster(CLUSTER_DIR, started_here=True)
            cluster.build_images("pause", "helloworld", "event-display")
            yield cluster
        finally:
            stop_cluster(CLUSTER_DIR)
