"""AdmissionReview v1 handling: pure functions from a review request to a response.

Kinds are looked up by (group, kind) in a table of handlers; each gives `default(obj)` and
`validate(obj, old)` (old is None on CREATE). Validation errors are FieldErrors, so the API
server shows users every problem with its path, worded as Knative's webhook words it, e.g.

    admission webhook "validation.webhook.eventing.knpy.dev" denied the request:
    validation failed: missing field(s): spec.broker
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from knpy.apis.eventing.config import (
    BROKER_DEFAULTS_CONFIG,
    EVENTING_CONFIG,
    BrokerDefaults,
    parse_broker_defaults,
    parse_eventing_config,
)
from knpy.apis.eventing.v1 import (
    set_broker_defaults,
    set_trigger_defaults,
    validate_broker,
    validate_broker_update,
    validate_trigger,
    validate_trigger_update,
)
from knpy.runtime import eventfilter
from knpy.runtime.config import FieldError
from knpy.webhook.jsonpatch import diff

__all__ = ["Handler", "Handlers", "configmap_validator", "default_review", "eventing_handlers",
           "merge_handlers", "validate_review"]

Obj = dict[str, Any]


@dataclass(frozen=True)
class Handler:
    default: Callable[[Obj], Obj] | None
    validate: Callable[[Obj, Obj | None], FieldError]
    # defaults that need the request: (defaulted object, old object or None on CREATE,
    # the requesting user's name) -> object (Knative's creator/lastModifier annotations)
    default_user: Callable[[Obj, Obj | None, str], Obj] | None = None


Handlers = dict[tuple[str, str], Handler]


def configmap_validator(parsers: dict[str, Callable[[Any], Any]]
                        ) -> Callable[[Obj, Obj | None], FieldError]:
    """Validate a ConfigMap named in `parsers` by parsing its data; others pass."""
    def validate(obj: Obj, _old: Obj | None) -> FieldError:
        parser = parsers.get((obj.get("metadata") or {}).get("name", ""))
        if parser is None:
            return FieldError.none()
        try:
            parser(obj.get("data") or {})
        except FieldError as exc:
            return exc
        return FieldError.none()
    return validate


def eventing_handlers(defaults: Callable[[], BrokerDefaults] = BrokerDefaults) -> Handlers:
    """Broker, Trigger and the eventing ConfigMaps. `defaults` is read per request, so a
    live config-br-defaults change applies at once."""
    def default_broker(o: Obj) -> Obj:
        d = defaults()
        return set_broker_defaults(o, broker_class=d.broker_class, delivery=d.delivery())

    def validate_broker_any(o: Obj, old: Obj | None) -> FieldError:
        return validate_broker(o) if old is None else validate_broker_update(old, o)

    def validate_trigger_any(o: Obj, old: Obj | None) -> FieldError:
        f = eventfilter.validate
        return (validate_trigger(o, filters=f) if old is None
                else validate_trigger_update(old, o, filters=f))

    return {
        ("eventing.knative.dev", "Broker"): Handler(default_broker, validate_broker_any),
        ("eventing.knative.dev", "Trigger"): Handler(set_trigger_defaults,
                                                     validate_trigger_any),
        ("", "ConfigMap"): Handler(None, configmap_validator({
            EVENTING_CONFIG: parse_eventing_config,
            BROKER_DEFAULTS_CONFIG: parse_broker_defaults})),
    }


def merge_handlers(*tables: Handlers) -> Handlers:
    """One table from several (eventing, sources, serving...). A kind in two tables (the
    ConfigMap validators) gets both: every validator's errors, every defaulter in turn."""
    out: Handlers = {}
    for table in tables:
        for key, h in table.items():
            prev = out.get(key)
            out[key] = h if prev is None else _chain(prev, h)
    return out


def _chain(a: Handler, b: Handler) -> Handler:
    def validate(obj: Obj, old: Obj | None) -> FieldError:
        return a.validate(obj, old).also(b.validate(obj, old))
    if a.default is None or b.default is None:
        default = a.default or b.default
    else:
        da, db = a.default, b.default

        def default(obj: Obj) -> Obj:
            return db(da(obj))
    return Handler(default, validate, a.default_user or b.default_user)


def _response(uid: str, allowed: bool, message: str = "", code: int = 200,
              patch: list | None = None) -> Obj:
    resp: Obj = {"uid": uid, "allowed": allowed}
    if not allowed:
        resp["status"] = {"code": code, "message": message, "reason": "BadRequest"}
    if patch:
        resp["patchType"] = "JSONPatch"
        resp["patch"] = base64.b64encode(json.dumps(patch).encode()).decode()
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": resp}


def _parse(review: Obj) -> tuple[Obj, str]:
    if review.get("kind") != "AdmissionReview" or not isinstance(review.get("request"), dict):
        raise ValueError("not an AdmissionReview with a request")
    req = review["request"]
    return req, str(req.get("uid", ""))


def _handler(req: Obj, handlers: Handlers) -> Handler | None:
    kind = req.get("kind") or {}
    return handlers.get((kind.get("group", ""), kind.get("kind", "")))


def validate_review(review: Obj, handlers: Handlers) -> Obj:
    req, uid = _parse(review)
    h = _handler(req, handlers)
    if h is None or req.get("operation") not in ("CREATE", "UPDATE"):
        return _response(uid, True)
    obj = req.get("object") or {}
    old = req.get("oldObject") if req.get("operation") == "UPDATE" else None
    if old is not None and (old.get("spec") == obj.get("spec")
                            and (old.get("metadata") or {}).get("annotations")
                            == (obj.get("metadata") or {}).get("annotations")
                            and (old.get("data") == obj.get("data"))):
        return _response(uid, True)  # status / label-only updates are not re-validated
    errs = h.validate(obj, old)
    if errs:
        return _response(uid, False, f"validation failed: {errs.error()}", 400)
    return _response(uid, True)


def default_review(review: Obj, handlers: Handlers) -> Obj:
    req, uid = _parse(review)
    h = _handler(req, handlers)
    if h is None or h.default is None or req.get("operation") not in ("CREATE", "UPDATE"):
        return _response(uid, True)
    obj = req.get("object") or {}
    if req.get("operation") == "UPDATE" and (obj.get("metadata") or {}).get(
            "deletionTimestamp"):
        return _response(uid, True)
    out = h.default(obj)
    if h.default_user is not None:
        old = req.get("oldObject") if req.get("operation") == "UPDATE" else None
        out = h.default_user(out, old, str((req.get("userInfo") or {}).get("username", "")))
    return _response(uid, True, patch=diff(obj, out))
