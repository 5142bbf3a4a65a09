"""The bench runner runs the proxy benchmarks on both builds and names the results apart."""

from __future__ import annotations

import pytest

from loadtests import run_bench


def test_proxy_benchmarks_run_compiled_then_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNPY_NO_EXTENSIONS", "")
    runs = run_bench.builds("bench_proxy")
    assert [suffix for suffix, _ in runs] == ["", "_noext"]
    assert "KNPY_NO_EXTENSIONS" not in runs[0][1]
    assert runs[1][1]["KNPY_NO_EXTENSIONS"] == "1"


def test_micro_benchmarks_run_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KNPY_NO_EXTENSIONS", raising=False)
    assert [s for s, _ in run_bench.builds("bench_hotpath_breaker")] == [""]


def test_no_extensions_set_runs_everything_once_as_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNPY_NO_EXTENSIONS", "1")
    runs = run_bench.builds("bench_proxy")
    assert len(runs) == 1
    assert runs[0][0] == ""
    assert runs[0][1]["KNPY_NO_EXTENSIONS"] == "1"


def test_results_of_both_builds_are_paired() -> None:
    results = [
        "RESULT qp_vs_nginx_proxy 0.91 x",
        "RESULT qp_rss_idle_mb 21.0 MB",
        run_bench.renamed("RESULT qp_vs_nginx_proxy 0.80 x", "_noext"),
        "RESULT breaker_reserve_release_speedup 30.1 x",
    ]
    assert results[2] == "RESULT qp_vs_nginx_proxy_noext 0.80 x"
    [pair] = run_bench.side_by_side(results)
    assert pair.split() == ["qp_vs_nginx_proxy", "0.91", "x", "0.80", "x"]
