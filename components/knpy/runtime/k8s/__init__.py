"""The one controller runtime every knpy reconciler uses (Eventing's and Serving's).

informers (list+watch, bookmarks, relist on 410) -> Lister cache -> WorkQueue of
"namespace/name" keys (dedup, per-key backoff, slow resync lane) -> Controller workers ->
Reconciler[T].reconcile(key) -> reconcile_kind -> status via /status if changed.
LeaderElector (Lease) gates writes; ConfigStore applies ConfigMaps live; Discovery copes
with API differences between Kubernetes releases.

Independent of runtime.proxy (import-linter enforces it). See docs/controller.md.
"""

from knpy.runtime.k8s.client import Client, connect
from knpy.runtime.k8s.configstore import ConfigStore
from knpy.runtime.k8s.discovery import Discovery
from knpy.runtime.k8s.errors import ApiError, PermanentError, RequeueAfter, SkipKey
from knpy.runtime.k8s.events import NORMAL, WARNING, EventRecorder, MemoryRecorder, Recorder
from knpy.runtime.k8s.informer import Informer, Lister
from knpy.runtime.k8s.leaderelection import LeaderElector
from knpy.runtime.k8s.ownerrefs import is_controlled_by, owner_reference
from knpy.runtime.k8s.reconciler import Controller, Reconciler
from knpy.runtime.k8s.resources import (
    CONFIGMAPS,
    CRDS,
    EVENTS,
    LEASES,
    MUTATING_WEBHOOKS,
    SECRETS,
    SERVICES,
    VALIDATING_WEBHOOKS,
    Resource,
    key_of,
    split_key,
)
from knpy.runtime.k8s.tracker import Tracker
from knpy.runtime.k8s.workqueue import WorkQueue

__all__ = [
    "CONFIGMAPS", "CRDS", "EVENTS", "LEASES", "MUTATING_WEBHOOKS", "NORMAL", "SECRETS",
    "SERVICES", "VALIDATING_WEBHOOKS", "WARNING", "ApiError", "Client", "ConfigStore",
    "Controller", "Discovery", "EventRecorder", "Informer", "LeaderElector", "Lister",
    "MemoryRecorder", "PermanentError", "Reconciler", "Recorder", "RequeueAfter", "Resource",
    "SkipKey", "Tracker", "WorkQueue", "connect", "is_controlled_by", "key_of", "owner_reference",
    "split_key",
]
