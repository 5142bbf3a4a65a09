"""tests/support/poll.py: the value that ended the wait comes back; a timeout names what was
awaited, the last swallowed error and the caller's detail."""

from __future__ import annotations

import pytest

from tests.support.poll import eventually, wait_until


async def test_eventually_returns_the_first_truthy_value_of_a_sync_or_async_cond() -> None:
    seen = iter([0, None, "x"])
    assert await eventually(lambda: next(seen), 1) == "x"

    async def ready() -> dict:
        return {"ok": True}
    assert await eventually(ready, 1) == {"ok": True}


async def test_eventually_times_out_with_what_last_error_and_detail() -> None:
    def flaky() -> None:
        raise KeyError("status")
    with pytest.raises(AssertionError, match=r"(?s)the thing not reached within 0.05s "
                       r"\(last error: KeyError\('status'\)\).*diagnostics"):
        await eventually(flaky, 0.05, "the thing", ignore=(KeyError,),
                         detail=lambda: "diagnostics")
    with pytest.raises(KeyError):  # errors not listed in ignore end the wait at once
        await eventually(flaky, 5)


def test_wait_until_blocks_until_cond_holds() -> None:
    calls = []
    assert wait_until(lambda: calls.append(1) or len(calls) >= 3, 1, every=0.001)
    assert len(calls) == 3
    with pytest.raises(AssertionError, match=r"never not reached within 0\.01s"):
        wait_until(lambda: False, 0.01, "never")
