"""Cron schedules as Knative's PingSource accepts them (robfig/cron's standard parser).

- five fields: minute hour day-of-month month day-of-week; `*`, `?` (dom/dow), lists
  `a,b`, ranges `a-b`, steps `*/n` and `a-b/n` / `a/n` (a to the field's maximum), month
  names JAN-DEC and weekday names SUN-SAT (case-insensitive), 7 is Sunday too;
- macros: @yearly/@annually, @monthly, @weekly, @daily/@midnight, @hourly, and
  `@every <Go duration>` (a constant delay, whole seconds, at least 1s);
- an optional `CRON_TZ=<zone>` or `TZ=<zone>` prefix (an IANA zone via zoneinfo).

Day matching follows cron (and robfig): when both day-of-month and day-of-week are
restricted (neither starts with `*` or `?`), a day matches if either does; otherwise both
must. Wall-clock times that do not exist in the zone (a DST spring-forward gap) are skipped;
times that occur twice (fall-back) fire once, at the first occurrence.

Pure: `parse(text)` raises CronError (a ValueError) naming the bad part; `next_after(t)`
is the first firing strictly after `t` (an aware datetime), so a fake clock drives it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from knpy.runtime.config.duration import parse_go_duration

__all__ = ["CronError", "Every", "Schedule", "Spec", "load_zone", "parse"]

UTC = dt.UTC

_MONTHS = {n: i + 1 for i, n in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"))}
_DAYS = {n: i for i, n in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}

_MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

# how far ahead to look for a matching day before calling a schedule impossible (Feb 30)
_MAX_YEARS = 8


class CronError(ValueError):
    pass


def load_zone(name: str) -> dt.tzinfo:
    """An IANA zone ("Europe/Paris", "UTC", "Local" is refused: it means the host's)."""
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        raise CronError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CronError(f"unknown time zone {name!r}") from None


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    lo: int
    hi: int
    names: dict[str, int] | None = None


_FIELDS = (_Field("minute", 0, 59), _Field("hour", 0, 23), _Field("day-of-month", 1, 31),
           _Field("month", 1, 12, _MONTHS), _Field("day-of-week", 0, 7, _DAYS))


def _value(f: _Field, text: str) -> int:
    if f.names and text.upper() in f.names:
        return f.names[text.upper()]
    if not text.isdigit():
        raise CronError(f"{f.name}: {text!r} is not a number"
                        + (" or a name" if f.names else ""))
    v = int(text)
    if not f.lo <= v <= f.hi:
        raise CronError(f"{f.name}: {v} is out of range [{f.lo}, {f.hi}]")
    return v


def _parse_field(f: _Field, text: str) -> tuple[frozenset[int], bool]:
    """The set of values, and whether the field is a star (unrestricted)."""
    if not text:
        raise CronError(f"{f.name}: empty field")
    out: set[int] = set()
    star = text.startswith(("*", "?"))
    for part in text.split(","):
        rng, _, step_s = part.partition("/")
        step = 1
        if _:
            if not step_s.isdigit() or int(step_s) == 0:
                raise CronError(f"{f.name}: bad step {step_s!r} in {part!r}")
            step = int(step_s)
        if rng in ("*", "?"):
            if rng == "?" and f.name not in ("day-of-month", "day-of-week"):
                raise CronError(f"{f.name}: '?' is only allowed in day fields")
            lo, hi = f.lo, f.hi
        elif "-" in rng:
            a, _, b = rng.partition("-")
            lo, hi = _value(f, a), _value(f, b)
            if lo > hi:
                raise CronError(f"{f.name}: range {rng!r} goes backwards")
        else:
            lo = _value(f, rng)
            hi = f.hi if _ else lo  # "a/n": from a to the maximum
        out.update(range(lo, hi + 1, step))
    if f.name == "day-of-week" and 7 in out:
        out.discard(7)
        out.add(0)
    return frozenset(out), star


@dataclass(frozen=True, slots=True)
class Spec:
    """A five-field schedule in a zone."""

    minutes: frozenset[int]
    hours: frozenset[int]
    doms: frozenset[int]
    months: frozenset[int]
    dows: frozenset[int]
    dom_star: bool
    dow_star: bool
    zone: dt.tzinfo = UTC

    def _day_matches(self, d: dt.date) -> bool:
        if d.month not in self.months:
            return False
        dom_ok = d.day in self.doms
        dow_ok = (d.isoweekday() % 7) in self.dows
        if self.dom_star or self.dow_star:
            return dom_ok and dow_ok
        return dom_ok or dow_ok

    def next_after(self, after: dt.datetime) -> dt.datetime:
        if after.tzinfo is None:
            raise ValueError("next_after needs an aware datetime")
        local = after.astimezone(self.zone)
        day = local.date()
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        for _ in range(366 * _MAX_YEARS):
            if self._day_matches(day):
                for h in hours:
                    for m in minutes:
                        cand = dt.datetime(day.year, day.month, day.day, h, m, tzinfo=self.zone)
                        if cand.astimezone(UTC) <= after.astimezone(UTC):
                            continue
                        # skip wall times that do not exist (DST gap): they do not round-trip
                        back = cand.astimezone(UTC).astimezone(self.zone)
                        if (back.hour, back.minute) != (h, m):
                            continue
                        return cand
            day += dt.timedelta(days=1)
        raise CronError("the schedule never fires")


@dataclass(frozen=True, slots=True)
class Every:
    """`@every <duration>`: a constant delay (whole seconds, as robfig rounds it)."""

    seconds: int

    def next_after(self, after: dt.datetime) -> dt.datetime:
        # robfig: t + delay, truncated to the second
        base = after.replace(microsecond=0)
        return base + dt.timedelta(seconds=self.seconds)


Schedule = Spec | Every


def parse(text: str, timezone: str | None = None) -> Schedule:
    """Parse a schedule; `timezone` (spec.timezone) applies unless the text names one."""
    if not isinstance(text, str) or not text.strip():
        raise CronError("empty schedule")
    s = text.strip()
    zone: dt.tzinfo = UTC
    if timezone:
        zone = load_zone(timezone)
    if s.startswith(("CRON_TZ=", "TZ=")):
        head, _, rest = s.partition(" ")
        zone = load_zone(head.split("=", 1)[1])
        s = rest.strip()
        if not s:
            raise CronError("nothing after the time zone prefix")
    if s.startswith("@every"):
        arg = s[len("@every"):].strip()
        try:
            secs = parse_go_duration(arg)
        except ValueError as exc:
            raise CronError(f"@every: {exc}") from None
        if secs < 1:
            raise CronError(f"@every: {arg!r} is shorter than one second")
        return Every(math.floor(secs))
    if s.startswith("@"):
        if s not in _MACROS:
            raise CronError(f"unknown descriptor {s!r}")
        s = _MACROS[s]
    parts = s.split()
    if len(parts) != 5:
        raise CronError(f"expected 5 fields (minute hour day-of-month month day-of-week), "
                        f"got {len(parts)}")
    parsed = [_parse_field(f, p) for f, p in zip(_FIELDS, parts, strict=True)]
    return Spec(minutes=parsed[0][0], hours=parsed[1][0], doms=parsed[2][0],
                months=parsed[3][0], dows=parsed[4][0], dom_star=parsed[2][1],
                dow_star=parsed[4][1], zone=zone)
