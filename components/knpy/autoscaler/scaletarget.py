"""Where decisions go: the scale target of a revision.

The autoscaler only needs three things from whatever runs a revision's pods: set the
desired replica count, list the ready pods (they are the scrape targets), and say how many
more are started but not ready (a metric). `ProcessScaleTarget` (processtarget.py) runs
pods as local processes; `StaticScaleTarget` scrapes a fixed set of pods and only records
the decision. The control-plane plugs a Deployment-backed target in through the same
protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Pod", "ScaleTarget", "StaticScaleTarget"]


@dataclass(frozen=True, slots=True)
class Pod:
    name: str
    address: str        # host:port where the pod serves requests (queue-proxy :8012)
    metrics_url: str    # the queue-proxy's autoscaler metrics endpoint (:9090/metrics)


@runtime_checkable
class ScaleTarget(Protocol):
    @property
    def desired(self) -> int:
        """The replica count last asked for (-1 before any decision)."""
        ...

    def ready_pods(self) -> Sequence[Pod]:
        """Pods ready to serve, in a stable order."""
        ...

    def not_ready_count(self) -> int:
        """Pods started (not terminating) but not ready yet."""
        ...

    async def set_scale(self, replicas: int) -> None:
        """Ask for `replicas` pods; returns once the request is recorded, not when met."""
        ...

    async def close(self) -> None:
        """Release everything the target started."""
        ...


OnChange = Callable[[], None]


class StaticScaleTarget:
    """A fixed set of pods: scraped, never started or stopped by us."""

    def __init__(self, pods: Sequence[Pod], initial: int = -1) -> None:
        self._pods = list(pods)
        self._desired = initial

    @property
    def desired(self) -> int:
        return self._desired

    def ready_pods(self) -> Sequence[Pod]:
        return self._pods

    def not_ready_count(self) -> int:
        return 0  # every pod listed is taken as ready

    def set_pods(self, pods: Sequence[Pod]) -> None:
        """Replace the pod list (e.g. the controller re-registers with new endpoints)."""
        self._pods = list(pods)

    async def set_scale(self, replicas: int) -> None:
        self._desired = replicas

    async def close(self) -> None:
        return None
