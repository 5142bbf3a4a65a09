"""Living condition sets: Ready derives from dependents; transitions keep their time."""

from __future__ import annotations

from knpy.apis.duck.conditions import ConditionSet

CS = ConditionSet("A", "B")


def clock(values: list[str]):
    it = iter(values)
    return lambda: next(it)


def test_ready_follows_dependents() -> None:
    st: dict = {}
    m = CS.manage(st, clock([f"t{i}" for i in range(20)]))
    m.initialize()
    assert [c["status"] for c in st["conditions"]] == ["Unknown"] * 3
    m.mark_true("A")
    assert m.get("Ready")["status"] == "Unknown"
    m.mark_false("B", "Broken", "b is broken")
    assert m.get("Ready") | {"lastTransitionTime": None} == {
        "type": "Ready", "status": "False", "reason": "Broken", "message": "b is broken",
        "lastTransitionTime": None}
    m.mark_true("B")
    assert m.is_happy()
    assert [c["type"] for c in st["conditions"]] == ["A", "B", "Ready"]


def test_unchanged_marks_keep_transition_time_and_write_nothing() -> None:
    st: dict = {}
    m = CS.manage(st, clock(["t1", "t2", "t3", "t4", "t5", "t6"]))
    m.mark_true("A")
    m.mark_true("B")
    before = [dict(c) for c in st["conditions"]]
    m.mark_true("A")
    m.mark_true("B")
    assert st["conditions"] == before


def test_reason_change_without_status_flip_keeps_time() -> None:
    st: dict = {}
    m = CS.manage(st, clock(["t1", "t2", "t3", "t4"]))
    m.mark_unknown("A", "Waiting", "x")
    t = m.get("A")["lastTransitionTime"]
    m.mark_unknown("A", "StillWaiting", "y")
    assert m.get("A")["lastTransitionTime"] == t
    assert m.get("A")["reason"] == "StillWaiting"
