"""Percentiles of raw samples, objectives and their verdicts, and the RESULT/SLO lines."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of unbucketed samples (nan for none)."""
    if not values:
        return math.nan
    s = sorted(values)
    rank = max(1, math.ceil(len(s) * p / 100))
    return s[min(len(s), rank) - 1]


@dataclass(frozen=True, slots=True)
class Objective:
    """`value <= limit` passes; nan (nothing measured) fails."""

    name: str
    limit: float
    unit: str

    def passes(self, value: float) -> bool:
        return not math.isnan(value) and value <= self.limit


class Report:
    """Collects a run's results and verdicts; prints each as it arrives."""

    def __init__(self, limits: dict[str, float] | None = None) -> None:
        self.limits = dict(limits or {})  # --slo overrides, by objective name
        self.results: dict[str, tuple[float, str]] = {}
        self.verdicts: dict[str, bool] = {}

    def result(self, name: str, value: float, unit: str) -> None:
        self.results[name] = (value, unit)
        print(f"RESULT {name} {value:.4g} {unit}", flush=True)

    def check(self, objective: Objective, value: float) -> bool:
        obj = Objective(objective.name, self.limits.get(objective.name, objective.limit),
                        objective.unit)
        ok = obj.passes(value)
        self.verdicts[obj.name] = ok
        print(f"SLO {obj.name} {value:.4g} <= {obj.limit:g} {obj.unit} "
              f"{'PASS' if ok else 'FAIL'}", flush=True)
        return ok

    def fail(self, name: str, why: str) -> None:
        """A scenario that could not measure: a failed verdict of its own."""
        self.verdicts[name] = False
        print(f"SLO {name} error FAIL ({why})", flush=True)

    @property
    def passed(self) -> bool:
        return bool(self.verdicts) and all(self.verdicts.values())

    def as_dict(self) -> dict[str, object]:
        return {"results": {k: {"value": v, "unit": u} for k, (v, u) in self.results.items()},
                "slo": self.verdicts, "passed": self.passed}
