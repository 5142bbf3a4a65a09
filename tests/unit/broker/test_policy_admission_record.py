"""Pure parts of the broker: retry classification, backoff, Retry-After, TTL, records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from knpy.broker import admission, policy, record
from knpy.broker.settings import Settings
from knpy.runtime import cloudevents as ce
from knpy.runtime.contract.eventing import (
    BrokerSpec,
    DeliverySpec,
    EffectiveDelivery,
    TriggerSpec,
)

S = Settings(contract=Path("x"), backoff_cap=5.0, retry_after_max=30.0, delivery_timeout=7.0)


def delivery(policy_: str = "exponential", delay: float = 0.2, ra_max: float | None = None
             ) -> EffectiveDelivery:
    return EffectiveDelivery(retry=10, backoff_policy=policy_, backoff_delay=delay,
                             dead_letter_sink=None, timeout=None, retry_after_max=ra_max)


@pytest.mark.parametrize("status", [None, 404, 408, 409, 429, 500, 502, 503, 504, 599])
def test_retryable(status: int | None) -> None:
    assert policy.is_retryable(status)


@pytest.mark.parametrize("status", [200, 202, 400, 401, 403, 405, 410, 413, 415, 422, 600])
def test_not_retryable(status: int) -> None:
    assert not policy.is_retryable(status)


def test_backoff_linear_exponential_and_cap() -> None:
    assert [policy.backoff(delivery("linear"), n, 100) for n in (1, 2, 3)] == \
        pytest.approx([0.2, 0.4, 0.6])
    assert [policy.backoff(delivery(), n, 100) for n in (1, 2, 3, 4)] == \
        pytest.approx([0.2, 0.4, 0.8, 1.6])
    # Knative has no cap: PT1S * 2^30 would be 34 years
    assert policy.backoff(delivery(delay=1.0), 31, 60.0) == 60.0
    assert policy.backoff(delivery(delay=1.0), 10_000, 60.0) == 60.0


def test_retry_after_seconds_date_and_caps() -> None:
    d = delivery(delay=0.01)
    assert policy.retry_delay(d, 1, 429, "3", S) == 3.0
    assert policy.retry_delay(d, 1, 503, "3600", S) == 30.0  # process default cap
    assert policy.retry_delay(delivery(delay=0.01, ra_max=2.0), 1, 429, "3600", S) == 2.0
    assert policy.retry_delay(d, 1, 500, "3", S) == pytest.approx(0.01)  # only 429/503
    assert policy.retry_delay(delivery(delay=4.0), 1, 429, "1", S) == 4.0  # backoff longer
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    assert 8 <= policy.retry_delay(d, 1, 429, when, S) <= 10
    assert policy.parse_retry_after("soon") is None and policy.parse_retry_after(None) is None


def test_consumer_spec_covers_timeout_and_attempts() -> None:
    b = BrokerSpec("ns", "b", DeliverySpec(retry=3, timeout=2.0))
    c = policy.consumer_spec(b, TriggerSpec("ns", "t", "b", "http://x/"), S)
    assert c.ack_wait >= 2 * 2.0 and c.max_deliver == 4 + S.max_deliver_slack
    c2 = policy.consumer_spec(BrokerSpec("ns", "b"), TriggerSpec("ns", "t", "b", "http://x/"),
                              S)
    assert c2.ack_wait >= 2 * S.delivery_timeout and c2.max_deliver == 11 + S.max_deliver_slack


def _event(**attrs: str) -> ce.CloudEvent:
    return ce.make_event({"specversion": "1.0", "id": "1", "source": "/s", "type": "t",
                          **attrs}, b"data")


def test_ttl_is_set_decremented_and_exhausted() -> None:
    assert _ttl(admission.admit(_event())) == "255"
    assert _ttl(admission.admit(_event(knativebrokerttl="7"))) == "6"
    assert _ttl(admission.admit(_event(knativebrokerttl="2"))) == "1"
    for bad in ("1", "0", "-5"):
        with pytest.raises(admission.TTLExhausted) as e:
            admission.admit(_event(knativebrokerttl=bad))
        assert e.value.attribute == "knativebrokerttl"
    with pytest.raises(ce.InvalidAttribute, match="knativebrokerttl"):
        admission.admit(_event(knativebrokerttl="many"))


def _ttl(ev: ce.CloudEvent) -> object:
    return ev.attributes["knativebrokerttl"]


def test_arrival_time_is_rfc3339_utc_and_overwritten() -> None:
    ev = admission.admit(_event(knativearrivaltime="1999-01-01T00:00:00Z"))
    t = str(ev.attributes["knativearrivaltime"])
    assert t.endswith("Z") and not t.startswith("1999")
    parsed = datetime.fromisoformat(t.replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 5
    fixed = datetime(2024, 5, 1, 12, 0, 0, 5, tzinfo=UTC)
    assert admission.arrival_time(fixed) == "2024-05-01T12:00:00.000005Z"


def test_passthrough_only_tracing_request_id_and_knative_headers() -> None:
    hdrs = [("X-Request-Id", "a"), ("traceparent", "b"), ("TraceState", "c"),
            ("Knative-Foo", "d"), ("Baggage", "e"), ("Authorization", "no"), ("ce-id", "no"),
            ("Cookie", "no")]
    assert admission.passthrough(hdrs) == hdrs[:5]


def test_record_round_trip_keeps_data_bytes_types_and_headers() -> None:
    ev = ce.make_event({"specversion": "1.0", "id": "1", "source": "/s", "type": "t",
                        "count": 3, "flag": True, "subject": "line\nbreak"}, b"\x00\n\xff")
    back, hdrs = record.decode(record.encode(ev, [("traceparent", "x")]))
    assert back == ev and hdrs == [("traceparent", "x")]
    nodata = ce.make_event({"specversion": "1.0", "id": "1", "source": "/s", "type": "t"})
    assert record.decode(record.encode(nodata))[0].data is None
    empty = ce.make_event({"specversion": "1.0", "id": "1", "source": "/s", "type": "t"}, b"")
    assert record.decode(record.encode(empty))[0].data == b""


def test_identity_is_source_id_and_ttl() -> None:
    def ev(**a: str) -> ce.CloudEvent:
        base = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t"}
        return ce.CloudEvent({**base, **a}, None)
    one = record.identity(ev())
    assert one == record.identity(ev(type="other", knativearrivaltime="x"))  # same event
    assert one != record.identity(ev(id="2"))
    assert one != record.identity(ev(source="/t"))
    # a reply reusing its request's source and id is one hop further: not a duplicate
    assert record.identity(ev(knativebrokerttl="254")) != record.identity(
        ev(knativebrokerttl="253"))
    # the key has a fixed header-safe form whatever the id holds
    weird = record.identity(ev(id="a\r\nb\0c" + "x" * 5000))
    assert len(weird) == 32 and weird.isalnum()


def test_dedup_window_and_drain_timeout_flags(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from knpy.broker.main import parse_args
    c = str(tmp_path / "c.yaml")
    assert parse_args(["--contract", c])[0].dedup_window == 120.0
    assert parse_args(["--contract", c, "--dedup-window", "0"])[0].dedup_window == 0.0
    with pytest.raises(SystemExit):
        parse_args(["--contract", c, "--dedup-window", "-1"])
    assert "--dedup-window" in capsys.readouterr().err
    assert parse_args(["--contract", c])[0].drain_timeout == 10.0
    with pytest.raises(SystemExit):
        parse_args(["--contract", c, "--drain-timeout", "-1"])
    assert "--drain-timeout" in capsys.readouterr().err


def test_contract_source_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    from knpy.broker.main import parse_args
    monkeypatch.delenv("KNPY_BROKER_CONTRACT", raising=False)
    monkeypatch.delenv("KNPY_BROKER_CONTRACT_CONFIGMAP", raising=False)
    monkeypatch.setenv("POD_NAME", "broker-ingress-abc")
    monkeypatch.setenv("POD_NAMESPACE", "knpy-system")
    s, _ = parse_args(["--contract-configmap", "knpy-system/knpy-broker-contract"])
    assert (s.contract, s.contract_configmap, s.pod_name, s.pod_namespace) == (
        None, "knpy-system/knpy-broker-contract", "broker-ingress-abc", "knpy-system")
    for bad in ([], ["--contract", str(tmp_path / "c"), "--contract-configmap", "a/b"]):
        with pytest.raises(SystemExit):
            parse_args(bad)
    assert "--contract" in capsys.readouterr().err
