"""Run every loadtests/bench_*.py in its own process and gather their RESULT lines.

Each benchmark prints `RESULT <name> <value> <unit>` lines (ratios against a baseline
measured in the same run). This runner prints them again at the end, together, and exits
non-zero if a benchmark crashed. Pass names to run a subset: run_bench.py breaker proxy.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
TIMEOUT_S = 900


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(a in s.stem for a in argv)]
    results: list[str] = []
    failed: list[str] = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        t0 = time.monotonic()
        try:
            # As modules from the repo root, so `tests.support` (not installed) imports.
            proc = subprocess.run([sys.executable, "-m", f"loadtests.{script.stem}"],
                                  capture_output=True, text=True, cwd=HERE.parent,
                                  timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            failed.append(f"{script.name}: timed out after {TIMEOUT_S}s")
            continue
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            sys.stdout.write(proc.stderr[-4000:])
            failed.append(f"{script.name}: exit {proc.returncode}")
        results += [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        print(f"   ({time.monotonic() - t0:.1f}s)", flush=True)
    print("\n== results")
    for line in results:
        print(line)
    for f in failed:
        print(f"FAILED {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
