"""`python -m knpy.controller`: run the reconcilers against the cluster.

Flags (and env): --kubeconfig ($KUBECONFIG; in-cluster config when unset),
--namespace ($SYSTEM_NAMESPACE, default knpy-system), --contract-configmap,
--no-leader-elect, --lease-name, --identity ($POD_NAME), --workers,
--probe-port ($KNPY_PROBE_PORT, 8080; 0 turns the /healthz and /readyz server off).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal

from knpy.controller.main import ControllerApp, Options
from knpy.runtime.k8s import connect
from knpy.runtime.observability.logs import setup_logging


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, Options]:
    p = argparse.ArgumentParser(prog="python -m knpy.controller")
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"))
    p.add_argument("--namespace", default=os.environ.get("SYSTEM_NAMESPACE", "knpy-system"))
    p.add_argument("--contract-configmap", default=os.environ.get(
        "KNPY_CONTRACT_CONFIGMAP", "knpy-broker-contract"))
    p.add_argument("--no-leader-elect", action="store_true")
    p.add_argument("--lease-name", default="knpy-controller")
    p.add_argument("--lease-duration", type=float, default=15.0)
    p.add_argument("--renew-deadline", type=float, default=10.0)
    p.add_argument("--retry-period", type=float, default=2.0)
    p.add_argument("--identity", default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--probe-port", type=int, default=int(os.environ.get("KNPY_PROBE_PORT", 8080)),
                   help="GET /healthz and /readyz (0: off)")
    p.add_argument("--log-level", default=os.environ.get("KNPY_LOG_LEVEL", "INFO"))
    a = p.parse_args(argv)
    opts = Options(namespace=a.namespace, contract_configmap=a.contract_configmap,
                   leader_election=not a.no_leader_elect, lease_name=a.lease_name,
                   lease_duration=a.lease_duration, renew_deadline=a.renew_deadline,
                   retry_period=a.retry_period, identity=a.identity, workers=a.workers,
                   probe_port=a.probe_port)
    return a, opts


async def amain(argv: list[str] | None = None) -> None:
    a, opts = parse_args(argv)
    setup_logging(a.log_level)
    # the field manager in managedFields names the replica that wrote (leader checks)
    agent = f"knpy-controller-{opts.identity}/0.1" if opts.identity else "knpy-controller/0.1"
    client = await connect(a.kubeconfig, user_agent=agent)
    app = ControllerApp(client, opts)
    task = asyncio.create_task(app.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        await client.close()


def main() -> None:
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(amain())


if __name__ == "__main__":
    main()
