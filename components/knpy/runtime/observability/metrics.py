"""Prometheus metrics for every knpy component: a small registry and the text exposition.

One way for all components, the queue-proxy included, so the standard library only. Cheap
where it is hot: a counter increment is an attribute add (`c.value += 1`), a histogram
observation one `bisect` and two adds; a child (one label set) is looked up once and kept
by the caller. No locks: every component runs one asyncio loop, and the exposition reads
plain numbers. Values that already live elsewhere (autoscaler decisions, breaker depth)
are read at scrape time by a `collect` callback instead of being copied on every change.

Names follow Prometheus conventions (base units, `_total` counters, `_bucket/_sum/_count`
histograms); docs/observability.md lists every metric.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Request latencies, seconds: 1 ms to 60 s (a slow scale-from-zero is tens of seconds).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0, 60.0)
CODE_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")

Labels = tuple[str, ...]
Sample = tuple[Labels, float]


def code_class(status: int) -> str:
    """`2xx` for 200..299; anything outside 100..599 counts as `5xx` (a proxy failure)."""
    return CODE_CLASSES[min(max(status // 100, 1), 5) - 1] if status >= 100 else "5xx"


class Counter:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, n: float = 1.0) -> None:
        self.value += n


class Gauge:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def set(self, v: float) -> None:
        self.value = v


class Histogram:
    """Counts per bucket, not cumulative (cumulated only when rendered): `counts[i]` holds
    observations in (bounds[i-1], bounds[i]], the last slot those above every bound."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, v: float) -> None:
        self.counts[bisect_left(self.bounds, v)] += 1
        self.sum += v

    @property
    def count(self) -> int:
        return sum(self.counts)


C = TypeVar("C", Counter, Gauge, Histogram)


def class_histograms(bounds: Sequence[float] = LATENCY_BUCKETS) -> list[Histogram]:
    """One histogram per response code class, indexed by `status // 100` (capped at 5), so
    the request path picks its own with no branch; index 0 (a request that ended with no
    status) shares 5xx's. `CODE_CLASSES[i]` names index `i + 1`."""
    hs = [Histogram(bounds) for _ in CODE_CLASSES]
    return [hs[-1], *hs]


class Family(Generic[C]):
    """One metric name: its children by label values, or a `collect` callback."""

    def __init__(self, name: str, kind: str, help_text: str, labelnames: Labels,
                 make: Callable[[], C] | None = None,
                 collect: Callable[[], Iterable[Sample]] | None = None) -> None:
        self.name = name
        self.kind = kind
        self.help = help_text
        self.labelnames = labelnames
        self.make: Callable[[], C] | None = make
        self.collect = collect
        self.children: dict[Labels, C] = {}

    def labels(self, *values: str) -> C:
        """The child for these label values (created on first use): keep it, it is the
        hot-path handle."""
        child = self.children.get(values)
        if child is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name}: {len(self.labelnames)} label values expected")
            if self.make is None:
                raise ValueError(f"{self.name}: collected, it has no children")
            child = self.children[values] = self.make()
        return child

    def attach(self, child: C, *values: str) -> None:
        """Render `child`, made before this family (by code that must not wait for the
        registry, e.g. the queue-proxy's request path), under these label values."""
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name}: {len(self.labelnames)} label values expected")
        self.children[values] = child

    def remove(self, *values: str) -> None:
        """Forget one label set (a deleted revision), so cardinality stays bounded."""
        self.children.pop(values, None)

    def render(self, out: list[str]) -> None:
        out.append(f"# HELP {self.name} {_escape_help(self.help)}")
        out.append(f"# TYPE {self.name} {self.kind}")
        names = self.labelnames
        if self.collect is not None:
            for values, v in self.collect():
                out.append(f"{self.name}{_labels(names, values)} {_num(v)}")
            return
        for values, child in sorted(self.children.items()):
            if isinstance(child, Histogram):
                _render_histogram(out, self.name, names, values, child)
            else:
                out.append(f"{self.name}{_labels(names, values)} {_num(child.value)}")


class Registry:
    """The metric families of one process, rendered in registration order."""

    def __init__(self) -> None:
        self.families: dict[str, Family[Counter] | Family[Gauge] | Family[Histogram]] = {}

    def _add(self, fam: Family[C]) -> Family[C]:
        if fam.name in self.families:
            raise ValueError(f"metric {fam.name} registered twice")
        self.families[fam.name] = fam
        return fam

    def counter(self, name: str, help_text: str, labelnames: Labels = ()) -> Family[Counter]:
        if not name.endswith("_total"):
            raise ValueError(f"counter {name} must end in _total")
        return self._add(Family(name, "counter", help_text, labelnames, Counter))

    def gauge(self, name: str, help_text: str, labelnames: Labels = ()) -> Family[Gauge]:
        return self._add(Family(name, "gauge", help_text, labelnames, Gauge))

    def histogram(self, name: str, help_text: str, labelnames: Labels = (),
                  buckets: Sequence[float] = LATENCY_BUCKETS) -> Family[Histogram]:
        bounds = tuple(sorted(buckets))
        return self._add(Family(name, "histogram", help_text, labelnames,
                                lambda: Histogram(bounds)))

    def collected(self, name: str, kind: str, help_text: str, labelnames: Labels,
                  collect: Callable[[], Iterable[Sample]]) -> Family[Gauge]:
        """A counter or gauge whose samples `collect` yields at scrape time. Counter names
        are not checked for `_total` here: this also serves names Knative's dashboards
        expect (`revision_request_count`)."""
        return self._add(Family[Gauge](name, kind, help_text, labelnames, collect=collect))

    def render(self) -> bytes:
        out: list[str] = []
        for fam in self.families.values():
            fam.render(out)
        return ("\n".join(out) + "\n").encode()


def _render_histogram(out: list[str], name: str, names: Labels, values: Labels,
                      h: Histogram) -> None:
    acc = 0
    le_names = (*names, "le")
    for bound, n in zip(h.bounds, h.counts, strict=False):
        acc += n
        out.append(f"{name}_bucket{_labels(le_names, (*values, _num(bound)))} {acc}")
    acc += h.counts[-1]
    out.append(f"{name}_bucket{_labels(le_names, (*values, '+Inf'))} {acc}")
    lb = _labels(names, values)
    out.append(f"{name}_sum{lb} {_num(h.sum)}")
    out.append(f"{name}_count{lb} {acc}")


def _labels(names: Labels, values: Sequence[str]) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{k}="{escape_label(v)}"'
                          for k, v in zip(names, values, strict=True)) + "}"


def escape_label(v: str) -> str:
    """The exposition format's label value escapes: backslash, double quote, newline."""
    if "\\" in v or '"' in v or "\n" in v:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return v


def _escape_help(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n")


def _num(v: float) -> str:
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer()):
        return str(int(v))
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)
