"""A process scale target whose log directory does not exist yet still starts its pods."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from knpy.autoscaler.processtarget import PodTemplate, ProcessScaleTarget, ProcessSpec


async def test_missing_log_dir_is_created_and_pods_start(tmp_path: Path) -> None:
    log_dir = tmp_path / "not" / "there"
    sleeper = ProcessSpec(argv=(sys.executable, "-c", "import time; time.sleep(30)"))
    target = ProcessScaleTarget("default", "logs", PodTemplate(
        processes=(sleeper,), ports=("serving",), stop_timeout=2.0, log_dir=str(log_dir)))
    try:
        await asyncio.wait_for(target.set_scale(1), 10)
        assert target.pod_count() == 1
        assert len(target.pids()) == 1
        assert [p.name for p in log_dir.iterdir()] == ["logs-00001-0.log"]
    finally:
        await asyncio.wait_for(target.close(), 15)
    assert target.pids() == []
