"""Run every loadtests/bench_*.py in its own process and gather their RESULT lines.

Each benchmark prints `RESULT <name> <value> <unit>` lines (ratios against a baseline
measured in the same run). This runner prints them again at the end, together, and exits
non-zero if a benchmark crashed. Pass names to run a subset: run_bench.py breaker proxy.
bench_cluster.py needs the local cluster with knpy deployed; it runs only when named
(`make bench-cluster`).

The benchmarks of whole requests (BOTH_BUILDS) run twice: with the compiled hot paths and
with their pure twins (KNPY_NO_EXTENSIONS=1, results named `<name>_noext`), each against its
own same-run baseline, so the compiled code's effect on a request is visible. With
KNPY_NO_EXTENSIONS already set, everything runs once, as asked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
TIMEOUT_S = 900
BOTH_BUILDS = ("bench_activator", "bench_ingress", "bench_proxy")
NEEDS_CLUSTER = ("bench_cluster",)
NOEXT = "_noext"


def builds(stem: str) -> list[tuple[str, dict[str, str]]]:
    """(RESULT name suffix, environment) for each run of benchmark `stem`."""
    if os.environ.get("KNPY_NO_EXTENSIONS"):
        return [("", dict(os.environ))]
    compiled = {k: v for k, v in os.environ.items() if k != "KNPY_NO_EXTENSIONS"}
    if stem not in BOTH_BUILDS:
        return [("", compiled)]
    return [("", compiled), (NOEXT, {**compiled, "KNPY_NO_EXTENSIONS": "1"})]


def hotpath_build(env: dict[str, str]) -> str:
    """Which hot-path build a knpy process started with `env` runs."""
    code = "from knpy.runtime.hotpath import breaker; print(breaker.COMPILED)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=HERE.parent, timeout=60, check=True).stdout.strip()
    return "compiled" if out == "True" else "pure Python"


def renamed(line: str, suffix: str) -> str:
    """`RESULT name value unit` with `suffix` appended to the name."""
    tag, name, rest = line.split(" ", 2)
    return f"{tag} {name}{suffix} {rest}"


def side_by_side(results: list[str]) -> list[str]:
    """For each result that has a `_noext` twin: name, compiled value, pure value."""
    values = {ln.split(" ", 2)[1]: ln.split(" ", 2)[2] for ln in results}
    width = max((len(n) for n in values), default=0)
    return [f"{name:{width}s}  {values[name]:>12s}  {values[name + NOEXT]:>12s}"
            for name in values if name + NOEXT in values]


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(a in s.stem for a in argv)]
    else:  # the cluster's own benchmark needs a deployed cluster: `make bench-cluster`
        scripts = [s for s in scripts if s.stem not in NEEDS_CLUSTER]
    results: list[str] = []
    failed: list[str] = []
    for script in scripts:
        for suffix, env in builds(script.stem):
            label = f"{script.name} (hot paths: {hotpath_build(env)})"
            print(f"== {label}", flush=True)
            t0 = time.monotonic()
            try:
                # As modules from the repo root, so `tests.support` (not installed) imports.
                proc = subprocess.run([sys.executable, "-m", f"loadtests.{script.stem}"],
                                      capture_output=True, text=True, cwd=HERE.parent, env=env,
                                      timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                failed.append(f"{label}: timed out after {TIMEOUT_S}s")
                continue
            sys.stdout.write(proc.stdout)
            if proc.returncode != 0:
                sys.stdout.write(proc.stderr[-4000:])
                failed.append(f"{label}: exit {proc.returncode}")
            results += [renamed(ln, suffix) for ln in proc.stdout.splitlines()
                        if ln.startswith("RESULT ")]
            print(f"   ({time.monotonic() - t0:.1f}s)", flush=True)
    print("\n== results")
    for line in results:
        print(line)
    pairs = side_by_side(results)
    if pairs:
        print("\n== compiled hot paths vs pure Python (KNPY_NO_EXTENSIONS=1), same run")
        for line in pairs:
            print(line)
    for f in failed:
        print(f"FAILED {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
