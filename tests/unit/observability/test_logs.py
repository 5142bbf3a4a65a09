"""Every component logs one valid JSON object per line, whatever the message holds."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

SCRIPT = """
import logging
from knpy.runtime.observability.logs import setup_logging
setup_logging("info")
log = logging.getLogger("knpy.test")
log.debug("hidden")
log.info('a "quoted" message\\nwith a second line')
try:
    raise ValueError("boom")
except ValueError:
    log.exception("failed")
"""


def test_each_record_is_one_json_line_with_knative_keys() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=30, check=True)
    lines = out.stderr.strip().split("\n")
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == 'a "quoted" message\nwith a second line'
    assert first["severity"] == "INFO" and first["logger"] == "knpy.test"
    assert first["timestamp"].endswith("Z")
    assert second["message"] == "failed" and "ValueError: boom" in second["error"]


def test_bad_level_names_the_level() -> None:
    from knpy.runtime.observability.logs import setup_logging
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        with pytest.raises(ValueError, match="LOUD"):
            setup_logging("loud")
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
