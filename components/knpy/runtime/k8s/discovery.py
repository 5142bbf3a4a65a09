"""API discovery: which groups/versions/kinds the server serves, and its version.

Used where Kubernetes releases differ (1.20 here vs current ones): resolving the plural of
an arbitrary Addressable `ref` kind, and choosing between API versions. Results are cached;
`invalidate()` forgets them (e.g. after a CRD is installed).
"""

from __future__ import annotations

from knpy.runtime.k8s.client import Client
from knpy.runtime.k8s.errors import ApiError
from knpy.runtime.k8s.resources import Resource

__all__ = ["Discovery"]


class Discovery:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._gv: dict[str, list[dict]] = {}
        self._version: tuple[int, int] | None = None
        self._pinned: list[Resource] = []

    def invalidate(self) -> None:
        self._gv.clear()
        for res in self._pinned:
            self.register(res)

    def register(self, res: Resource) -> None:
        """Pin a resource as served (tests; kinds known without asking the server)."""
        if res not in self._pinned:
            self._pinned.append(res)
        entry = {"name": res.plural, "kind": res.kind, "namespaced": res.namespaced}
        lst = self._gv.setdefault(res.api_version, [])
        if entry not in lst:
            lst.append(entry)

    async def server_version(self) -> tuple[int, int]:
        if self._version is None:
            v = await self.client.request("GET", "/version")
            minor = "".join(ch for ch in v.get("minor", "0") if ch.isdigit()) or "0"
            self._version = (int(v.get("major", "1")), int(minor))
        return self._version

    async def resources(self, api_version: str) -> list[dict]:
        """The APIResourceList of a group/version ([] if the server does not serve it)."""
        if api_version not in self._gv:
            path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
            try:
                body = await self.client.request("GET", path)
                self._gv[api_version] = body.get("resources") or []
            except ApiError as exc:
                if exc.status not in (404, 503):
                    raise
                return []  # not cached: the group may appear later (CRD installed)
        return self._gv[api_version]

    async def resource_for(self, api_version: str, kind: str) -> Resource | None:
        group, _, version = api_version.rpartition("/")
        for r in await self.resources(api_version):
            if r.get("kind") == kind and "/" not in r.get("name", ""):
                return Resource(group, version, r["name"], kind, bool(r.get("namespaced")))
        return None

    async def serves(self, api_version: str, plural: str) -> bool:
        return any(r.get("name") == plural for r in await self.resources(api_version))

    async def preferred(self, group: str, versions: list[str]) -> str | None:
        """The first of `versions` (best first) that the server serves for `group`."""
        for v in versions:
            if await self.resources(f"{group}/{v}" if group else v):
                return v
        return None
