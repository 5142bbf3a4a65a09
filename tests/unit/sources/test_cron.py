"""Cron maths with a fake clock: fields, macros, @every, time zones and DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from knpy.runtime.config import cron

UTC = dt.UTC


def t(*a: int, tz: dt.tzinfo = UTC) -> dt.datetime:
    return dt.datetime(*a, tzinfo=tz)


def run(sched: cron.Schedule, start: dt.datetime, n: int) -> list[dt.datetime]:
    out, cur = [], start
    for _ in range(n):
        cur = sched.next_after(cur)
        out.append(cur)
    return out


def test_every_minute_fires_each_minute_strictly_after() -> None:
    s = cron.parse("*/1 * * * *")
    assert run(s, t(2026, 1, 1, 10, 0, 30), 3) == [t(2026, 1, 1, 10, 1), t(2026, 1, 1, 10, 2),
                                                  t(2026, 1, 1, 10, 3)]
    # exactly on a firing time: the next one, never the same
    assert s.next_after(t(2026, 1, 1, 10, 1)) == t(2026, 1, 1, 10, 2)


def test_lists_ranges_steps_and_names() -> None:
    s = cron.parse("0,30 9-17/4 * JAN-mar mon-FRI")
    got = run(s, t(2026, 3, 27, 12, 0), 5)  # Friday 27 March 2026
    assert got == [t(2026, 3, 27, 13, 0), t(2026, 3, 27, 13, 30), t(2026, 3, 27, 17, 0),
                   t(2026, 3, 27, 17, 30), t(2026, 3, 30, 9, 0)]  # then Monday
    assert cron.parse("0 0 * * 7").next_after(t(2026, 1, 1)) == t(2026, 1, 4)  # 7 = Sunday
    assert cron.parse("5/20 * * * *").next_after(t(2026, 1, 1)) == t(2026, 1, 1, 0, 5)


def test_day_of_month_or_day_of_week_when_both_restricted() -> None:
    s = cron.parse("0 0 13 * FRI")  # the 13th OR any Friday (cron semantics)
    assert run(s, t(2026, 2, 1), 3) == [t(2026, 2, 6), t(2026, 2, 13), t(2026, 2, 20)]
    s = cron.parse("0 0 ? * FRI")  # '?' unrestricts: Fridays only
    assert run(s, t(2026, 2, 1), 2) == [t(2026, 2, 6), t(2026, 2, 13)]


def test_macros_and_leap_day() -> None:
    assert cron.parse("@hourly").next_after(t(2026, 1, 1, 5, 59)) == t(2026, 1, 1, 6)
    assert cron.parse("@daily").next_after(t(2026, 1, 1, 5)) == t(2026, 1, 2)
    assert cron.parse("@midnight").next_after(t(2026, 1, 1, 5)) == t(2026, 1, 2)
    assert cron.parse("@weekly").next_after(t(2026, 1, 1)) == t(2026, 1, 4)
    assert cron.parse("@monthly").next_after(t(2026, 1, 15)) == t(2026, 2, 1)
    assert cron.parse("@yearly").next_after(t(2026, 1, 15)) == t(2027, 1, 1)
    assert cron.parse("@annually").next_after(t(2026, 1, 15)) == t(2027, 1, 1)
    assert cron.parse("0 0 29 2 *").next_after(t(2026, 3, 1)) == t(2028, 2, 29)


def test_every_is_a_constant_delay_in_whole_seconds() -> None:
    s = cron.parse("@every 1m30s")
    assert s.next_after(t(2026, 1, 1, 0, 0, 0)) == t(2026, 1, 1, 0, 1, 30)
    assert cron.parse("@every 1.5s").next_after(t(2026, 1, 1)) == t(2026, 1, 1, 0, 0, 1)


def test_time_zones_from_prefix_and_argument() -> None:
    ny = ZoneInfo("America/New_York")
    s = cron.parse("CRON_TZ=America/New_York 0 9 * * *")
    assert s.next_after(t(2026, 1, 1, 12)) == t(2026, 1, 1, 9, tz=ny)
    assert s.next_after(t(2026, 1, 1, 12)).astimezone(UTC) == t(2026, 1, 1, 14)
    s = cron.parse("0 9 * * *", "Asia/Tokyo")
    assert s.next_after(t(2026, 1, 1, 0)).astimezone(UTC) == t(2026, 1, 2, 0)
    assert cron.parse("TZ=UTC 0 9 * * *").next_after(t(2026, 1, 1)) == t(2026, 1, 1, 9)


def test_dst_gap_is_skipped_and_repeated_hour_fires_once() -> None:
    paris = ZoneInfo("Europe/Paris")
    s = cron.parse("30 2 * * *", "Europe/Paris")  # 02:30 does not exist on 29 March 2026
    assert s.next_after(t(2026, 3, 28, 12)) == t(2026, 3, 30, 2, 30, tz=paris)
    s = cron.parse("30 2 * * *", "Europe/Paris")  # 02:30 happens twice on 25 Oct 2026
    first = s.next_after(t(2026, 10, 24, 12))
    assert first.astimezone(UTC) == t(2026, 10, 25, 0, 30)
    assert s.next_after(first).astimezone(UTC) == t(2026, 10, 26, 1, 30)


@pytest.mark.parametrize("text, words", [
    ("", "empty"), ("* * * *", "expected 5 fields"), ("60 * * * *", "minute: 60"),
    ("* 24 * * *", "hour: 24"), ("* * 0 * *", "day-of-month: 0"), ("* * * 13 *", "month"),
    ("* * * * 8", "day-of-week"), ("*/0 * * * *", "bad step"), ("5-1 * * * *", "backwards"),
    ("@fortnightly", "unknown descriptor"), ("@every 500ms", "shorter than one second"),
    ("@every soon", "@every"), ("CRON_TZ=Mars/Olympus 0 * * * *", "unknown time zone"),
    ("? * * * *", "only allowed in day fields"), ("x * * * *", "minute"),
    ("0 0 30 2 *", "never fires"),
])
def test_bad_schedules_say_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(cron.CronError, match=words):
        s = cron.parse(text)
        s.next_after(t(2026, 1, 1))


def test_zone_names_are_checked() -> None:
    with pytest.raises(cron.CronError):
        cron.load_zone("../etc/passwd")
    with pytest.raises(cron.CronError):
        cron.load_zone("Not/AZone")
    assert cron.load_zone("Europe/Paris") == ZoneInfo("Europe/Paris")
