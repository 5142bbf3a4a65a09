"""What the full local cluster leaves on this machine: processes, mounts, netns, links,
iptables chains. Used to prove `hack/cluster.sh down` leaves the machine as it found it."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.cluster import CACHE, CLUSTER_DIR

RUN_DIR = "/run/knpy"
MARKERS = (str(CLUSTER_DIR), RUN_DIR, str(CACHE / "containerd"))


def _cmdline(pid_dir: Path) -> str:
    try:
        return (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def cluster_processes() -> list[str]:
    """Processes of this cache's full cluster: their argv names one of its paths (its
    dir, kubeconfigs, the containerd socket)."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        cmd = _cmdline(p)
        if any(m in cmd for m in MARKERS):
            out.append(f"{p.name} {cmd[:200]}")
    return out


def cluster_mounts() -> list[str]:
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    return [m for m in mounts
            if any(x in m.split()[1] for x in (*MARKERS, "/netns/cni-", "/kubelet/"))]


def cluster_netns() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    return [line.split()[0] for line in out.stdout.splitlines() if line.startswith("cni-")]


def cluster_links() -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                         timeout=10).stdout
    return [m.group(1) for m in re.finditer(r"^\d+: ([^:@]+)", out, re.M)
            if m.group(1) == "cni0" or m.group(1).startswith("veth")]


def cluster_iptables_chains() -> list[str]:
    chains = []
    for cmd in ("iptables-save", "ip6tables-save"):
        out = subprocess.run([cmd], capture_output=True, text=True, timeout=30).stdout
        chains += [f"{cmd}: {line}" for line in out.splitlines()
                   if line.startswith(":KUBE-") or line.startswith(":CNI-")]
    return chains


def cluster_paths() -> list[str]:
    """Runtime dirs the cluster creates at fixed paths (absent on a clean machine here)."""
    return [p for p in (RUN_DIR, "/var/log/pods", "/var/log/containers", "/var/lib/cni",
                        str(CLUSTER_DIR / "etcd"), str(CLUSTER_DIR / "kubelet"))
            if Path(p).exists()]


@dataclass
class HostState:
    processes: list[str]
    mounts: list[str]
    netns: list[str]
    links: list[str]
    iptables: list[str]
    paths: list[str]

    @classmethod
    def now(cls) -> HostState:
        return cls(cluster_processes(), cluster_mounts(), cluster_netns(), cluster_links(),
                   cluster_iptables_chains(), cluster_paths())

    def leftovers(self) -> dict[str, list[str]]:
        return {k: v for k, v in vars(self).items() if v}
