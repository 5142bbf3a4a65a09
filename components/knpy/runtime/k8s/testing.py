"""Table-test support for reconcilers (knative.dev/pkg/reconciler/testing in spirit).

For unit tests only: `FakeClient` is an in-memory object store with the verbs of `Client`
that records every write, can inject failures (`fail`) and answer a verb itself (`react`,
e.g. a SubjectAccessReview's verdict), and `run_row` drives one reconcile of one key against
a seeded world:

    row = Row("ready broker", objects=[broker, cm], key="ns/b",
              want_status_updates=[...], want_events=["Normal BrokerReconciled ..."])
    await run_row(row, make_reconciler)

A row states every write it expects, like knative's TableRow: creates, updates, status
updates, patches and deletes; any write a row does not list fails it.

Real API behaviour that matters to reconcilers is kept: resourceVersion conflicts, 404s,
AlreadyExists, and the status subresource (PUT /status writes only .status; PUT writes
everything but .status).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from knpy.runtime.k8s.errors import ApiError
from knpy.runtime.k8s.events import MemoryRecorder
from knpy.runtime.k8s.informer import Lister
from knpy.runtime.k8s.resources import Obj, Resource

__all__ = ["FAKE_SERVER", "Action", "FakeClient", "Reactor", "Row", "World", "run_row",
           "strip_volatile"]


@dataclass
class Action:
    verb: str  # create, update, update_status, patch, delete, get, list
    resource: str  # plural
    namespace: str | None
    name: str
    obj: Any = None


@dataclass
class _Failure:
    verb: str
    plural: str
    error: Exception
    times: int


# A reactor answers a verb on a plural instead of the store (None: the store answers).
Reactor = Callable[[Action], Obj | None]

FAKE_SERVER = "https://kube.test"


class FakeClient:
    def __init__(self) -> None:
        self.store: dict[tuple[str, str | None, str], Obj] = {}
        self.actions: list[Action] = []
        self._failures: list[_Failure] = []
        self._reactors: list[tuple[str, str, Reactor]] = []
        self._rv = itertools.count(1)
        self._uid = itertools.count(1)
        # what code reads off the real client's ApiClient: the server's URL
        self.api = SimpleNamespace(configuration=SimpleNamespace(host=FAKE_SERVER))

    # ------------------------------------------------------------------ seeding
    def seed(self, res: Resource, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        md = obj.setdefault("metadata", {})
        md.setdefault("resourceVersion", str(next(self._rv)))
        md.setdefault("uid", f"uid-{next(self._uid)}")
        obj.setdefault("apiVersion", res.api_version)
        obj.setdefault("kind", res.kind)
        self.store[(res.plural, md.get("namespace"), md["name"])] = obj
        return obj

    def fail(self, verb: str, plural: str, error: Exception | None = None,
             times: int = 1) -> None:
        """The next `times` calls of verb on plural raise error (default: a 500)."""
        self._failures.append(_Failure(verb, plural, error or ApiError(500, "InternalError",
                                                                       {"message": "injected"}),
                                       times))

    def react(self, verb: str, plural: str, fn: Reactor) -> None:
        """fn(action) answers verb on plural (e.g. a review's status); None falls through."""
        self._reactors.append((verb, plural, fn))

    def _check(self, verb: str, res: Resource) -> None:
        for f in self._failures:
            if f.verb == verb and f.plural == res.plural and f.times > 0:
                f.times -= 1
                raise f.error

    def _reaction(self, action: Action) -> Obj | None:
        for verb, plural, fn in self._reactors:
            if verb == action.verb and plural == action.resource:
                got = fn(action)
                if got is not None:
                    return copy.deepcopy(got)
        return None

    def writes(self, verb: str | None = None) -> list[Action]:
        return [a for a in self.actions if a.verb not in ("get", "list")
                and (verb is None or a.verb == verb)]

    # ------------------------------------------------------------------ verbs
    async def get(self, res: Resource, namespace: str | None, name: str) -> Obj:
        self.actions.append(Action("get", res.plural, namespace, name))
        self._check("get", res)
        obj = self.store.get((res.plural, namespace or None, name))
        if obj is None:
            raise ApiError(404, "NotFound", {"reason": "NotFound",
                                             "message": f"{res.plural} {name!r} not found"})
        return copy.deepcopy(obj)

    async def list(self, res: Resource, namespace: str | None = None, **_: Any) -> Obj:
        self.actions.append(Action("list", res.plural, namespace, ""))
        self._check("list", res)
        items = [copy.deepcopy(o) for (p, ns, _n), o in self.store.items()
                 if p == res.plural and (namespace is None or ns == namespace)]
        return {"items": items, "metadata": {"resourceVersion": str(next(self._rv))}}

    async def create(self, res: Resource, obj: Obj) -> Obj:
        md = obj.get("metadata") or {}
        action = Action("create", res.plural, md.get("namespace"), md.get("name", ""),
                        copy.deepcopy(obj))
        self.actions.append(action)
        self._check("create", res)
        reply = self._reaction(action)
        if reply is not None:
            return reply
        k = (res.plural, md.get("namespace"), md["name"])
        if k in self.store:
            raise ApiError(409, "AlreadyExists", {"reason": "AlreadyExists"})
        new = copy.deepcopy(obj)
        new["metadata"]["resourceVersion"] = str(next(self._rv))
        new["metadata"].setdefault("uid", f"uid-{next(self._uid)}")
        new["metadata"].setdefault("generation", 1)
        self.store[k] = new
        return copy.deepcopy(new)

    async def _put(self, verb: str, res: Resource, obj: Obj) -> Obj:
        md = obj["metadata"]
        action = Action(verb, res.plural, md.get("namespace"), md["name"], copy.deepcopy(obj))
        self.actions.append(action)
        self._check(verb, res)
        k = (res.plural, md.get("namespace"), md["name"])
        cur = self.store.get(k)
        if cur is None:
            raise ApiError(404, "NotFound", {"reason": "NotFound"})
        if md.get("resourceVersion") and md["resourceVersion"] != \
                cur["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", {"reason": "Conflict",
                                             "message": "the object has been modified"})
        reply = self._reaction(action)
        if reply is not None:
            return reply
        new = copy.deepcopy(cur)
        if verb == "update_status":
            new["status"] = copy.deepcopy(obj.get("status"))
        else:
            status = new.get("status")
            new = copy.deepcopy(obj)
            if status is not None:
                new["status"] = status
            if new.get("spec") != cur.get("spec"):
                new["metadata"]["generation"] = cur["metadata"].get("generation", 1) + 1
        new["metadata"]["resourceVersion"] = str(next(self._rv))
        self.store[k] = new
        return copy.deepcopy(new)

    async def update(self, res: Resource, obj: Obj) -> Obj:
        return await self._put("update", res, obj)

    async def update_status(self, res: Resource, obj: Obj) -> Obj:
        return await self._put("update_status", res, obj)

    async def patch(self, res: Resource, namespace: str | None, name: str, patch: Any,
                    **_: Any) -> Obj:
        self.actions.append(Action("patch", res.plural, namespace, name, copy.deepcopy(patch)))
        self._check("patch", res)
        cur = self.store.get((res.plural, namespace, name))
        if cur is None:
            raise ApiError(404, "NotFound", {"reason": "NotFound"})
        _merge(cur, patch)
        cur["metadata"]["resourceVersion"] = str(next(self._rv))
        return copy.deepcopy(cur)

    async def delete(self, res: Resource, namespace: str | None, name: str) -> None:
        self.actions.append(Action("delete", res.plural, namespace, name))
        self._check("delete", res)
        if self.store.pop((res.plural, namespace, name), None) is None:
            raise ApiError(404, "NotFound", {"reason": "NotFound"})

    async def request(self, method: str, path: str, **_: Any) -> Any:
        raise ApiError(404, "NotFound", {"message": f"FakeClient does not serve {path}"})


def _merge(dst: dict, patch: dict) -> None:
    for k, v in patch.items():
        if v is None:
            dst.pop(k, None)
        elif isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)


def strip_volatile(obj: Any) -> Any:
    """Drop what changes run to run (lastTransitionTime, resourceVersion, uid)."""
    if type(obj) is dict:  # subclasses are matchers (e.g. "any ConfigMap"): keep them
        return {k: strip_volatile(v) for k, v in obj.items()
                if k not in ("lastTransitionTime", "resourceVersion", "uid",
                             "creationTimestamp")}
    if type(obj) is list:
        return [strip_volatile(v) for v in obj]
    return obj


@dataclass
class Row:
    """One table row: the world, the key, what should happen."""

    name: str
    key: str
    objects: list[tuple[Resource, Obj]] = field(default_factory=list)
    want_creates: list[Obj] = field(default_factory=list)
    want_updates: list[Obj] = field(default_factory=list)
    want_status_updates: list[Obj] = field(default_factory=list)  # compared on .status
    want_patches: list[tuple[str, Any]] = field(default_factory=list)  # ("plural/ns/name", body)
    want_deletes: list[str] = field(default_factory=list)  # "plural/ns/name"
    want_events: list[str] = field(default_factory=list)
    want_err: type[BaseException] | None = None
    failures: list[tuple[str, str, Exception | None]] = field(default_factory=list)
    reactors: list[tuple[str, str, Reactor]] = field(default_factory=list)


def _path(a: Action) -> str:
    return f"{a.resource}/{a.namespace}/{a.name}"


@dataclass
class World:
    client: FakeClient
    listers: dict[str, Lister]
    recorder: MemoryRecorder


async def run_row(row: Row, factory: Callable[[World], Any],
                  after: Callable[[World], Awaitable[None] | None] | None = None) -> World:
    """Seed client and listers with row.objects, reconcile row.key, check the wants."""
    client = FakeClient()
    listers: dict[str, Lister] = {}
    for res, obj in row.objects:
        seeded = client.seed(res, obj)
        listers.setdefault(res.plural, Lister(res)).put(copy.deepcopy(seeded))
    for verb, plural, exc in row.failures:
        client.fail(verb, plural, exc)
    for verb, plural, fn in row.reactors:
        client.react(verb, plural, fn)
    world = World(client, listers, MemoryRecorder())
    rec = factory(world)
    err: BaseException | None = None
    try:
        await rec.reconcile(row.key)
    except Exception as exc:
        err = exc
    ctx = f"row {row.name!r}"
    if row.want_err is None:
        assert err is None, f"{ctx}: unexpected error {err!r}"
    else:
        assert isinstance(err, row.want_err), f"{ctx}: want {row.want_err}, got {err!r}"
    creates = [strip_volatile(a.obj) for a in client.writes("create")]
    assert creates == [strip_volatile(o) for o in row.want_creates], f"{ctx}: creates {creates}"
    updates = [strip_volatile(a.obj) for a in client.writes("update")]
    assert updates == [strip_volatile(o) for o in row.want_updates], f"{ctx}: updates {updates}"
    got_status = [(a.namespace, a.name, strip_volatile(a.obj.get("status")))
                  for a in client.writes("update_status")]
    want_status = [(o["metadata"].get("namespace"), o["metadata"]["name"],
                    strip_volatile(o.get("status"))) for o in row.want_status_updates]
    assert got_status == want_status, (
        f"{ctx}: status updates\n got {got_status}\nwant {want_status}")
    patches = [(_path(a), strip_volatile(a.obj)) for a in client.writes("patch")]
    assert patches == [(p, strip_volatile(b)) for p, b in row.want_patches], (
        f"{ctx}: patches {patches}")
    deletes = [_path(a) for a in client.writes("delete")]
    assert deletes == row.want_deletes, f"{ctx}: deletes {deletes}"
    assert world.recorder.events == row.want_events, f"{ctx}: events {world.recorder.events}"
    if after is not None:
        r = after(world)
        if r is not None:
            await r
    return world

