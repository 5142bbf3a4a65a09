"""Stat and WireStatMessages codecs against golden bytes from the reference protobuf runtime.

The golden hex strings were produced once with Google's `protobuf` Python package from a
descriptor built to Knative's stat.proto (outside this repo; protobuf is not a dependency).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knpy.runtime.contract.stat import Stat, WireError, decode_stat, encode_stat
from knpy.runtime.contract.wirestat import (
    WireStatMessage,
    decode_wire_stats,
    encode_wire_stats,
)

FULL = Stat(
    pod_name="helloworld-00001-deployment-5d8f9c-abcde",
    average_concurrent_requests=3.5,
    average_proxied_concurrent_requests=1.25,
    request_count=42.0,
    proxied_request_count=7.0,
    process_uptime=123.456,
    timestamp=1732233600,
)
FULL_HEX = (
    "0a2868656c6c6f776f726c642d30303030312d6465706c6f796d656e742d3564386639632d6162636465"
    "110000000000000c4019000000000000f43f210000000000004540290000000000001c40"
    "3177be9f1a2fdd5e40388093ffb906"
)
WIRE = [
    WireStatMessage("default", "hello-00001",
                    Stat(pod_name="activator-0", average_concurrent_requests=2.0,
                         request_count=10.0)),
    WireStatMessage("ns2", "rev-2", Stat(average_proxied_concurrent_requests=0.5, timestamp=300)),
]
WIRE_HEX = (
    "0a370a0764656661756c74120b68656c6c6f2d30303030311a1f0a0b616374697661746f722d30"
    "1100000000000000402100000000000024400a1a0a036e733212057265762d321a0c19000000000000e03f38ac02"
)


@pytest.mark.parametrize(("stat", "hexbytes"), [
    (FULL, FULL_HEX),
    (Stat(), ""),
    (Stat(pod_name="p", timestamp=-1), "0a017038ffffffffffffffffff01"),
    (Stat(average_concurrent_requests=1.0), "11000000000000f03f"),
])
def test_stat_golden_bytes(stat: Stat, hexbytes: str) -> None:
    assert encode_stat(stat).hex() == hexbytes
    assert decode_stat(bytes.fromhex(hexbytes)) == stat


def test_wire_stats_golden_bytes() -> None:
    assert encode_wire_stats(WIRE).hex() == WIRE_HEX
    decoded = decode_wire_stats(bytes.fromhex(WIRE_HEX))
    assert decoded == WIRE
    assert [m.key for m in decoded] == ["default/hello-00001", "ns2/rev-2"]


def test_wire_stats_absent_and_empty_stat() -> None:
    assert encode_wire_stats([WireStatMessage("a", "b")]).hex() == "0a060a0161120162"
    assert decode_wire_stats(bytes.fromhex("0a060a0161120162")) == [WireStatMessage("a", "b")]
    empty = WireStatMessage("a", "b", Stat())
    assert encode_wire_stats([empty]).hex() == "0a080a01611201621a00"
    assert decode_wire_stats(bytes.fromhex("0a080a01611201621a00")) == [empty]


def test_trace_context_rides_in_knpy_fields_100_and_101() -> None:
    msg = WireStatMessage("a", "b", traceparent="00-ab-cd-01", tracestate="k=v")
    data = encode_wire_stats([msg])
    # field 100 LEN: tag varint 0xa2 0x06; field 101: 0xaa 0x06
    assert data.hex() == ("0a1a0a0161120162" + "a2060b" + b"00-ab-cd-01".hex()
                          + "aa0603" + b"k=v".hex())
    assert decode_wire_stats(data) == [msg]
    # a decoder that knows only Knative's fields (1..3) sees the message unchanged
    plain = [WireStatMessage(m.namespace, m.name, m.stat) for m in decode_wire_stats(data)]
    assert plain == [WireStatMessage("a", "b")]


def test_negative_zero_is_omitted_like_go_and_nan_survives() -> None:
    assert encode_stat(Stat(request_count=-0.0)) == b""
    got = decode_stat(encode_stat(Stat(request_count=math.nan)))
    assert math.isnan(got.request_count)


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    unknown = bytes.fromhex(
        "4005"              # field 8 varint 5
        "49" + "00" * 8 +   # field 9 fixed64
        "5203616263"        # field 10 bytes "abc"
        "5d01020304"        # field 11 fixed32
    )
    assert decode_stat(unknown + bytes.fromhex(FULL_HEX)) == FULL
    assert decode_wire_stats(unknown + bytes.fromhex(WIRE_HEX)) == WIRE


def test_repeated_embedded_stat_merges() -> None:
    first = encode_stat(Stat(pod_name="x", request_count=1.0))
    second = encode_stat(Stat(request_count=2.0))
    inner = b"\x1a" + bytes([len(first)]) + first + b"\x1a" + bytes([len(second)]) + second
    data = b"\x0a" + bytes([len(inner)]) + inner
    assert decode_wire_stats(data)[0].stat == Stat(pod_name="x", request_count=2.0)


@pytest.mark.parametrize("cut", range(1, len(bytes.fromhex(FULL_HEX))))
def test_truncated_stat_is_rejected(cut: int) -> None:
    data = bytes.fromhex(FULL_HEX)[:cut]
    # A cut exactly at a field boundary is a valid shorter message; anything else must fail.
    boundaries = {42, 51, 60, 69, 78, 87}
    if cut in boundaries:
        decode_stat(data)
    else:
        with pytest.raises(WireError, match="Stat"):
            decode_stat(data)


@pytest.mark.parametrize(("data", "match"), [
    (bytes.fromhex("0a05616263"), "field 1 declares 5 bytes, only 3 remain"),
    (bytes.fromhex("1100"), "truncated fixed64 field 2"),
    (bytes.fromhex("38ff"), "truncated varint in Stat field 7"),
    (bytes.fromhex("38" + "ff" * 11 + "01"), "varint longer than 10 bytes"),
    (bytes.fromhex("0d00000000"), r"Stat.pod_name: wrong wire type 5"),
    (bytes.fromhex("1005"), r"Stat.average_concurrent_requests: wrong wire type 0"),
    (bytes.fromhex("3900000000000000f0"), r"Stat.timestamp: wrong wire type 1"),
    (bytes.fromhex("0005"), "illegal field number 0"),
    (bytes.fromhex("0b"), "unsupported wire type 3"),
    (bytes.fromhex("0a02ff fe".replace(" ", "")), "pod_name is not valid UTF-8"),
])
def test_bad_stat_input_names_the_problem(data: bytes, match: str) -> None:
    with pytest.raises(WireError, match=match):
        decode_stat(data)


@pytest.mark.parametrize(("data", "match"), [
    (bytes.fromhex("0a10"), "WireStatMessages: field 1 declares 16 bytes"),
    (bytes.fromhex("0805"), "WireStatMessages.messages: wrong wire type 0"),
    (bytes.fromhex("0a021a01"), "WireStatMessage: field 3 declares 1 bytes"),
    (bytes.fromhex("0a031a0111"), "truncated fixed64 field 2"),
    (bytes.fromhex("0a020805"), "WireStatMessage.namespace: wrong wire type 0"),
])
def test_bad_wire_stats_input_names_the_problem(data: bytes, match: str) -> None:
    with pytest.raises(WireError, match=match):
        decode_wire_stats(data)


def test_timestamp_out_of_int64_range_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"Stat.timestamp"):
        encode_stat(Stat(timestamp=1 << 63))


doubles = st.floats(allow_nan=False)
stats = st.builds(
    Stat,
    pod_name=st.text(max_size=64),
    average_concurrent_requests=doubles,
    average_proxied_concurrent_requests=doubles,
    request_count=doubles,
    proxied_request_count=doubles,
    process_uptime=doubles,
    timestamp=st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1),
)


@given(stats)
def test_stat_round_trip(stat: Stat) -> None:
    assert decode_stat(encode_stat(stat)) == stat


@given(st.lists(st.builds(WireStatMessage, namespace=st.text(max_size=20),
                          name=st.text(max_size=40), stat=st.none() | stats), max_size=5))
def test_wire_stats_round_trip(messages: list[WireStatMessage]) -> None:
    assert decode_wire_stats(encode_wire_stats(messages)) == messages


@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_raise_wire_error(data: bytes) -> None:
    for decode in (decode_stat, decode_wire_stats):
        try:
            decode(data)
        except WireError:
            pass
