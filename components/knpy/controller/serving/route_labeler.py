"""Which Revisions a Route routes to, written on them (Knative's route/labeler v2), pure:

- a routed Revision lists the Route in its `serving.knative.dev/routes` annotation
  (comma-separated, sorted) and is labelled `serving.knative.dev/routingState: active`;
- a Revision the Route no longer routes drops it from that list, and with no Route left
  turns `reserve`;
- `serving.knative.dev/routingStateModified` is stamped whenever the state changes.

Revision GC keeps `active` Revisions, and a PodAutoscaler's reachability follows the state
(active: Reachable, reserve: Unreachable). The result is merge patches, one per Revision
that needs one.
"""

from __future__ import annotations

from typing import Any

from knpy.apis.serving.v1.register import (
    ROUTES_ANNOTATION,
    ROUTING_STATE_LABEL,
    ROUTING_STATE_MODIFIED_ANNOTATION,
)

__all__ = ["routing_patches"]

Obj = dict[str, Any]


def _routes(rev: Obj) -> set[str]:
    text = ((rev["metadata"].get("annotations") or {}).get(ROUTES_ANNOTATION) or "")
    return {r for r in text.split(",") if r}


def routing_patches(route: str, routed: set[str], revisions: list[Obj], now: str
                    ) -> list[tuple[str, Obj]]:
    """(revision name, merge patch) for the Revisions of one namespace that change."""
    out = []
    for rev in revisions:
        md = rev["metadata"]
        have = _routes(rev)
        if md["name"] not in routed and route not in have:
            continue  # another Route's (a Configuration creates it `pending` for that one)
        want = have | {route} if md["name"] in routed else have - {route}
        state = (md.get("labels") or {}).get(ROUTING_STATE_LABEL)
        want_state = "active" if want else ("reserve" if have or state == "active" else state)
        if want == have and want_state == state:
            continue
        ann: dict[str, str | None] = {ROUTES_ANNOTATION: ",".join(sorted(want)) or None}
        patch: Obj = {"metadata": {"annotations": ann}}
        if want_state != state:
            patch["metadata"]["labels"] = {ROUTING_STATE_LABEL: want_state}
            ann[ROUTING_STATE_MODIFIED_ANNOTATION] = now
        out.append((md["name"], patch))
    return out
