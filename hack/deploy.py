#!/usr/bin/env python3
"""`make deploy`: the current tree on the running local cluster (docs/cluster.md).

1. The cluster must be up (`make cluster-up`); if it is not, exit 2 saying so.
2. `hack/images.sh build`: every image whose inputs changed is rebuilt and imported.
3. The digest containerd holds for each image the chart runs becomes
   `image.digests.<name>` (a pod annotation): tags stay `dev`, so that is what rolls a
   component onto its rebuilt image, and only that component.
4. `helm upgrade --install` charts/knpy with those images (`image.pullPolicy=Never`,
   NATS without persistence: the local cluster has no StorageClass), unless the release
   is deployed and the upgrade would render the very manifest it already has.
5. Wait until every Deployment and StatefulSet of the release has rolled out, every pod of
   it is Ready and the webhook has set its caBundle.

Idempotent: a second run with nothing changed builds nothing, upgrades nothing and returns
once the pods are confirmed Ready. `python -m hack.deploy [--no-build] [--timeout S]
[-- HELM ARGS...]` (e.g. `-- --set serving.enabled=false`); the e2e fixtures call
`deploy()`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

# One kubectl/helm runner and one view of the harness: the test fixtures'.
from tests.support.cluster import (
    CACHE,
    IMAGE_PREFIX,
    IMAGE_TAG,
    KubeAPI,
    KubeError,
    is_up,
    run_hack,
)
from tests.support.procs import REPO

CHART = REPO / "charts" / "knpy"
CLUSTER_DIR = Path(os.environ.get("KNPY_CLUSTER_DIR", CACHE / "cluster"))
CONTAINERD_SOCK = "/run/knpy/containerd/containerd.sock"
RELEASE = "knpy"
NAMESPACE = "knpy-system"
# The images charts/knpy runs (tests/unit/chart checks this against the rendered chart).
CHART_IMAGES = ("controller", "webhook", "broker", "nats-server", "activator", "autoscaler",
                "ingress", "sources")
# The local cluster: nothing can be pulled, and there is no StorageClass.
LOCAL_VALUES = ("--set", "image.pullPolicy=Never", "--set", "nats.persistence.enabled=false",
                "--set", f"image.registry={IMAGE_PREFIX}", "--set", f"image.tag={IMAGE_TAG}")
WEBHOOK_CONFIGS = (("validatingwebhookconfiguration", "validation.webhook.eventing.knpy.dev"),
                   ("mutatingwebhookconfiguration", "defaulting.webhook.eventing.knpy.dev"))


class DeployError(KubeError):
    """Deploying failed; the message says what and, where it helps, what to do."""


class ClusterDown(DeployError):
    """The local cluster is not running (exit status 2)."""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}] deploy: {msg}", file=sys.stderr,
          flush=True)


# ---------------------------------------------------------------- pure parts
def parse_ctr_images(text: str) -> dict[str, str]:
    """`ctr images ls` -> {ref: manifest digest} (columns REF TYPE DIGEST ...)."""
    out = {}
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 3 and cols[2].startswith("sha256:"):
            out[cols[0]] = cols[2]
    return out


def digest_values(digests: dict[str, str], names: Iterable[str] = CHART_IMAGES,
                  prefix: str = IMAGE_PREFIX, tag: str = IMAGE_TAG) -> list[str]:
    """helm flags setting image.digests.<name> for each image containerd has."""
    args = []
    for name in names:
        d = digests.get(f"{prefix}/{name}:{tag}")
        if d:
            args += ["--set-string", f"image.digests.{name}={d}"]
    return args


def same_manifest(a: str, b: str) -> bool:
    """Whether two rendered release manifests apply the same objects (blank lines and
    trailing spaces aside)."""
    def norm(s: str) -> list[str]:
        return [line.rstrip() for line in s.strip().splitlines() if line.strip()]
    return norm(a) == norm(b)


def not_ready(workloads: Sequence[dict[str, Any]], pods: Sequence[dict[str, Any]]) -> list[str]:
    """Why the release is not ready yet: workloads still rolling out, pods not Ready.
    Empty when everything is. Terminating and finished pods are not counted."""
    why = []
    for w in workloads:
        md, spec, st = w["metadata"], w.get("spec") or {}, w.get("status") or {}
        want = spec.get("replicas", 1)
        name = f"{w['kind'].lower()}/{md['name']}"
        if st.get("observedGeneration", 0) < md.get("generation", 1):
            why.append(f"{name}: new spec not yet observed")
        elif st.get("updatedReplicas", 0) < want or st.get("readyReplicas", 0) < want:
            why.append(f"{name}: {st.get('readyReplicas', 0)}/{want} ready, "
                       f"{st.get('updatedReplicas', 0)} updated")
        elif st.get("replicas", 0) > want:
            why.append(f"{name}: {st['replicas'] - want} old pod(s) still there")
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    if not live:
        why.append("no knpy pod yet")
    for p in live:
        st = p.get("status") or {}
        conds = {c["type"]: c.get("status") for c in st.get("conditions") or []}
        if conds.get("Ready") != "True":
            waiting = [cs["state"]["waiting"].get("reason", "")
                       for cs in st.get("containerStatuses") or []
                       if "waiting" in (cs.get("state") or {})]
            why.append(f"pod/{p['metadata']['name']}: not Ready ({st.get('phase', '?')}"
                       + (f", {', '.join(filter(None, waiting))}" if any(waiting) else "")
                       + ")")
    return why


# ---------------------------------------------------------------- the cluster
def connect(cluster_dir: Path) -> KubeAPI:
    """The running local cluster in `cluster_dir`; ClusterDown if there is none."""
    mode = cluster_dir / "mode"
    if not mode.exists() or not is_up(cluster_dir):
        raise ClusterDown(f"no local cluster runs in {cluster_dir}: run `make cluster-up` first")
    if mode.read_text().strip() != "full":
        raise ClusterDown(f"{cluster_dir} runs an API server only (no node): "
                          "`make cluster-down`, then `make cluster-up`")
    try:
        run_hack("cluster.sh", "status", cluster_dir=cluster_dir, timeout=60)
    except KubeError as e:
        raise ClusterDown(f"the local cluster is not (fully) running: {e}\n"
                          "run `make cluster-up` first") from None
    c = KubeAPI(cluster_dir)
    p = c.kubectl("get", "--raw", "/readyz", timeout=30, check=False)
    if p.returncode != 0:
        raise ClusterDown(f"the local cluster's API server is not ready "
                          f"({p.stderr.strip()}): run `make cluster-up` first")
    return c


def get_json(c: KubeAPI, *args: str) -> Any:
    return json.loads(c.kubectl(*args, "-o", "json").stdout)


def containerd_digests() -> dict[str, str]:
    p = subprocess.run(["ctr", "--address", CONTAINERD_SOCK, "-n", "k8s.io", "images", "ls"],
                       capture_output=True, text=True, timeout=60, check=False)
    if p.returncode != 0:
        raise DeployError(f"ctr images ls failed: {p.stderr.strip()}")
    return parse_ctr_images(p.stdout)


def build_images() -> None:
    """hack/images.sh build: rebuilds what changed and imports it (the cluster runs)."""
    env = dict(os.environ, KNPY_CACHE=str(CACHE))
    env.setdefault("PYTHON", sys.executable)
    # its progress goes to our stderr; it runs long only when something changed
    p = subprocess.run([str(REPO / "hack" / "images.sh"), "build"], env=env,
                       stdout=sys.stderr, timeout=3600, check=False)
    if p.returncode != 0:
        raise DeployError(f"hack/images.sh build failed ({p.returncode}); see above")


def deployed_manifest(c: KubeAPI, release: str, namespace: str) -> str | None:
    """The release's manifest if it is deployed (not failed or pending), else None."""
    p = c.helm("status", release, "-n", namespace, "-o", "json", check=False)
    if p.returncode != 0 or json.loads(p.stdout).get("info", {}).get("status") != "deployed":
        return None
    return c.helm("get", "manifest", release, "-n", namespace).stdout


def upgrade_manifest(c: KubeAPI, release: str, namespace: str, values: list[str]) -> str | None:
    """The manifest `helm upgrade` would apply (a server dry run, so with the cluster's
    API versions); None if it cannot tell."""
    p = c.helm("upgrade", release, str(CHART), "-n", namespace, *values,
               "--dry-run=server", "-o", "json", check=False, timeout=180)
    if p.returncode != 0:
        return None
    try:
        return str(json.loads(p.stdout)["manifest"])
    except (ValueError, KeyError, TypeError):
        return None


def wait_ready(c: KubeAPI, release: str, namespace: str, timeout: float) -> None:
    selector = f"app.kubernetes.io/instance={release},app.kubernetes.io/part-of=knpy"
    deadline = time.monotonic() + timeout
    why: list[str] = []
    while time.monotonic() < deadline:
        try:
            workloads = get_json(c, "get", "deployments,statefulsets", "-n", namespace,
                                 "-l", selector)["items"]
            pods = get_json(c, "get", "pods", "-n", namespace, "-l", selector)["items"]
            why = not_ready(workloads, pods)
            for kind, name in WEBHOOK_CONFIGS:
                raw = c.kubectl("get", kind, name, "--ignore-not-found", "-o", "json",
                                timeout=30).stdout
                if raw.strip() and any(not h.get("clientConfig", {}).get("caBundle")
                                       for h in json.loads(raw).get("webhooks") or []):
                    why.append(f"{kind}/{name}: no caBundle yet")  # admission would fail
        except (KubeError, ValueError, KeyError) as e:
            why = [str(e)]
        if not why:
            return
        time.sleep(1)
    pods_wide = c.kubectl("get", "pods", "-n", namespace, "-o", "wide", check=False).stdout
    events = c.kubectl("get", "events", "-n", namespace, "--sort-by=.lastTimestamp",
                       check=False).stdout[-3000:]
    raise DeployError(f"not ready after {timeout:.0f}s:\n  " + "\n  ".join(why)
                      + f"\n{pods_wide}\n{events}")


def deploy(cluster_dir: Path = CLUSTER_DIR, helm_args: Sequence[str] = (),
           build: bool = True, timeout: float = 600, release: str = RELEASE,
           namespace: str = NAMESPACE) -> bool:
    """Build, import and install or upgrade; True if the release changed."""
    c = connect(cluster_dir)
    if build:
        build_images()
    values = [*LOCAL_VALUES, *digest_values(containerd_digests()), *helm_args]
    return install(c, values, timeout, release, namespace)


def install(c: KubeAPI, values: Sequence[str], timeout: float = 600, release: str = RELEASE,
            namespace: str = NAMESPACE) -> bool:
    """`helm upgrade --install` the chart with `values` unless the deployed release already
    has that manifest, then wait until it is ready; True if the release changed. (Also
    `make run`'s install into a cluster other than the local one.)"""
    t0 = time.monotonic()
    values = list(values)
    current = deployed_manifest(c, release, namespace)
    changed = True
    if current is not None:
        # Helm installs crds/ on the first install only; an upgrade applies them itself
        # (server-side, so a CRD new in this tree appears and changed schemas take effect)
        log("kubectl apply --server-side charts/knpy/crds (Helm never upgrades them)")
        c.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=knpy-deploy",
                  "-f", str(CHART / "crds"), timeout=120)
        wanted = upgrade_manifest(c, release, namespace, values)
        changed = wanted is None or not same_manifest(current, wanted)
    if changed:
        log(f"helm upgrade --install {release} ({'upgrade' if current else 'install'})")
        c.helm("upgrade", "--install", release, str(CHART), "-n", namespace,
               "--create-namespace", *values, "--timeout", f"{int(timeout)}s",
               timeout=timeout + 60)
    else:
        log(f"release {release} already has this tree's chart and images")
    wait_ready(c, release, namespace, timeout)
    log(f"every knpy pod in {namespace} is Ready ({time.monotonic() - t0:.1f}s)")
    return changed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hack.deploy", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--no-build", action="store_true", help="use the images already imported")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for Ready")
    p.add_argument("helm_args", nargs="*", help="after --: more helm flags")
    a = p.parse_args(argv)
    try:
        deploy(helm_args=a.helm_args, build=not a.no_build, timeout=a.timeout)
    except KubeError as e:
        print(f"deploy: {e}", file=sys.stderr)
        return 2 if isinstance(e, ClusterDown) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
