"""Every async activator unit test runs once on uvloop (production) and once on asyncio's
default loop, like the proxy core's suite."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import uvloop


def pytest_asyncio_loop_factories(config, item) -> Mapping[str, object]:  # type: ignore[no-untyped-def]
    return {"uvloop": uvloop.new_event_loop, "asyncio": asyncio.new_event_loop}
