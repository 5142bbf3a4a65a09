"""Tell the controller which contract generation this pod serves.

The broker pod writes `eventing.knpy.dev/contract-generation: <n>` onto its own Pod once
it has applied generation n (streams and consumers ensured, ingress routes and dispatcher
consumers switched). The Broker and Trigger reconcilers read it from their Pod informer and
keep Ready from running ahead of the data plane (controller/eventing/dataplane.py). A Pod
annotation needs no object of its own to create or clean up (it goes with the pod), and
the controller already watches pods; the cost is `patch` on pods in the system namespace.
"""

from __future__ import annotations

import logging

import aiohttp

from knpy.runtime.contract.eventing import GENERATION_ANNOTATION, SOURCE_ANNOTATION
from knpy.runtime.k8s import ApiError, Client, Resource

__all__ = ["PodReport"]

log = logging.getLogger("knpy.broker.report")

PODS = Resource("", "v1", "pods", "Pod")


class PodReport:
    def __init__(self, client: Client, namespace: str, pod: str) -> None:
        self.client, self.namespace, self.pod = client, namespace, pod
        self.reported: tuple[int, str] | None = None
        self._failed = -1

    async def serving(self, generation: int, uid: str) -> bool:
        """Report `generation` of ConfigMap `uid` (once); False if the write failed (the
        caller retries)."""
        if (generation, uid) == self.reported:
            return True
        patch = {"metadata": {"annotations": {GENERATION_ANNOTATION: str(generation),
                                              SOURCE_ANNOTATION: uid}}}
        try:
            await self.client.patch(PODS, self.namespace, self.pod, patch)
        except (ApiError, aiohttp.ClientError, OSError, TimeoutError) as e:
            # retried every loop turn: say it once per generation, not once a second
            level = logging.DEBUG if self._failed == generation else logging.WARNING
            self._failed = generation
            log.log(level, "could not report contract generation %d on pod %s/%s (Ready "
                    "waits for it): %s", generation, self.namespace, self.pod, e)
            return False
        self.reported = (generation, uid)
        log.info("serving contract generation %d", generation)
        return True
