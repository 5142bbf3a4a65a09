"""PingSource validation: schedule (cron), timezone, data xor dataBase64, sink, overrides."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from knpy.apis.sources.v1.source_duck import validate_ce_overrides, validate_sink
from knpy.runtime.config import FieldError, cron

__all__ = ["validate_pingsource"]


def validate_pingsource(raw: dict[str, Any], _old: dict[str, Any] | None = None) -> FieldError:
    spec = raw.get("spec")
    if not isinstance(spec, dict):
        return FieldError.missing("spec")
    ns = (raw.get("metadata") or {}).get("namespace", "")
    errs = FieldError.none()
    tz = spec.get("timezone")
    tz_ok = True
    if tz not in (None, ""):
        try:
            cron.load_zone(str(tz))
        except cron.CronError as exc:
            tz_ok = False
            errs = errs.also(FieldError.invalid(tz, "timezone", str(exc)))
    sched = spec.get("schedule")
    if not sched:
        errs = errs.also(FieldError.missing("schedule"))
    elif not isinstance(sched, str):
        errs = errs.also(FieldError.invalid(sched, "schedule", "want a string"))
    else:
        if tz and sched.strip().startswith(("CRON_TZ=", "TZ=")):
            errs = errs.also(FieldError.invalid(
                sched, "schedule", "names a time zone and spec.timezone is set too"))
        else:
            try:
                cron.parse(sched, str(tz) if tz and tz_ok else None)
            except cron.CronError as exc:
                errs = errs.also(FieldError.invalid(sched, "schedule", str(exc)))
    data, b64 = spec.get("data"), spec.get("dataBase64")
    if data and b64:
        errs = errs.also(FieldError.one_of("data", "dataBase64"))
    elif b64:
        try:
            base64.b64decode(str(b64), validate=True)
        except (binascii.Error, ValueError):
            errs = errs.also(FieldError.invalid(b64, "dataBase64", "not valid base64"))
    errs = errs.also(validate_sink(spec, ns), validate_ce_overrides(spec))
    return errs.via_field("spec")
