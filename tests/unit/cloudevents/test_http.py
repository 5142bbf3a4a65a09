"""The CloudEvents HTTP codec: modes, header rules, validation errors, round trips."""

from __future__ import annotations

import base64
import json

import pytest
from cloudevents.core.bindings import http as sdk_http  # type: ignore[import-not-found]

from knpy.runtime import cloudevents as ce

BASE = [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/src"),
        ("ce-type", "com.example.FullEvent")]


def test_binary_headers_are_case_insensitive_and_body_is_opaque() -> None:
    body = b"<xml>\x00\xff not utf8</xml>"
    hdrs = [("CE-SpecVersion", "1.0"), ("Ce-Id", "a"), ("ce-SOURCE", "/s"), ("ce-type", "t"),
            ("Content-Type", "application/xml"), ("ce-myext", "v")]
    ev = ce.from_http(hdrs, body)
    assert ev.data == body
    assert dict(ev.attributes) == {"specversion": "1.0", "id": "a", "source": "/s",
                                   "type": "t", "datacontenttype": "application/xml",
                                   "myext": "v"}


def test_binary_values_are_percent_decoded_and_encoded_back() -> None:
    ev = ce.from_binary([*BASE, ("ce-subject", "caf%C3%A9%20%22x%22%25")], b"")
    assert ev.get("subject") == 'café "x"%'
    headers, _ = ce.to_binary(ev)
    assert ("ce-subject", "caf%C3%A9%20%22x%22%25") in headers


def test_percent_decoding_rejects_non_utf8_naming_attribute() -> None:
    with pytest.raises(ce.InvalidAttribute) as e:
        ce.from_binary([*BASE, ("ce-subject", "%FF")], b"")
    assert e.value.attribute == "subject"


@pytest.mark.parametrize(("drop", "attr"), [("ce-specversion", "specversion"),
                                            ("ce-id", "id"), ("ce-source", "source"),
                                            ("ce-type", "type")])
def test_missing_required_attribute_is_named(drop: str, attr: str) -> None:
    with pytest.raises(ce.InvalidAttribute) as e:
        ce.from_binary([h for h in BASE if h[0] != drop], b"x")
    assert e.value.attribute == attr


def test_empty_required_attribute_and_unknown_specversion() -> None:
    with pytest.raises(ce.InvalidAttribute, match=r"^id:"):
        ce.from_binary([*BASE[:1], ("ce-id", ""), *BASE[2:]], b"")
    with pytest.raises(ce.InvalidAttribute, match="specversion") as e:
        ce.from_binary([("ce-specversion", "19.0"), *BASE[1:]], b"")
    assert e.value.attribute == "specversion"


def test_bad_attribute_name_and_time() -> None:
    with pytest.raises(ce.InvalidAttribute) as e:
        ce.from_structured(json.dumps({"specversion": "1.0", "id": "1", "source": "s",
                                       "type": "t", "Bad_Name": "x"}).encode())
    assert e.value.attribute == "Bad_Name"
    with pytest.raises(ce.InvalidAttribute) as e:
        ce.from_binary([*BASE, ("ce-time", "yesterday")], b"")
    assert e.value.attribute == "time"


def test_not_a_cloudevent_and_batch_and_unsupported_format() -> None:
    with pytest.raises(ce.NotACloudEvent):
        ce.from_http([("Content-Type", "application/json")], b"{}")
    with pytest.raises(ce.BatchNotSupported):
        ce.from_http([("content-type", "application/cloudevents-batch+json")], b"[]")
    with pytest.raises(ce.NotACloudEvent):
        ce.from_http([("Content-Type", "application/cloudevents+avro")], b"..")
    with pytest.raises(ce.MalformedBody):
        ce.from_http([("Content-Type", "application/cloudevents+json; charset=utf-8")], b"[1")


def test_detect_mode() -> None:
    assert ce.detect_mode("application/cloudevents+json; charset=UTF-8") is ce.Mode.STRUCTURED
    assert ce.detect_mode("Application/CloudEvents-Batch+JSON") is ce.Mode.BATCH
    assert ce.detect_mode("text/plain") is ce.Mode.BINARY
    assert ce.detect_mode(None) is ce.Mode.BINARY


def test_structured_json_data_base64_and_typed_extensions() -> None:
    obj = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "count": 3,
           "flag": True, "data": {"a": [1, 2]}, "nothing": None}
    ev = ce.from_structured(json.dumps(obj).encode())
    assert json.loads(ev.data or b"") == {"a": [1, 2]}
    assert ev.get("count") == 3 and ev.get("flag") is True and ev.get("nothing") is None
    headers, _ = ce.to_binary(ev)
    assert ("ce-flag", "true") in headers and ("ce-count", "3") in headers
    obj2 = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t",
            "datacontenttype": "application/octet-stream",
            "data_base64": base64.b64encode(b"\x00\x01").decode()}
    assert ce.from_structured(json.dumps(obj2).encode()).data == b"\x00\x01"
    obj3 = {**obj2, "datacontenttype": "text/xml", "data": "<a/>"}
    del obj3["data_base64"]
    assert ce.from_structured(json.dumps(obj3).encode()).data == b"<a/>"
    with pytest.raises(ce.InvalidAttribute) as e:
        ce.from_structured(json.dumps({**obj2, "data": "x"}).encode())
    assert e.value.attribute == "data_base64"
    with pytest.raises(ce.InvalidAttribute) as e:
        ce.from_structured(json.dumps({**obj, "nested": {"x": 1}}).encode())
    assert e.value.attribute == "nested"


def test_structured_round_trip_and_binary_round_trip() -> None:
    ev = ce.from_binary([*BASE, ("Content-Type", "application/json")], b'{"k":"v"}')
    h, body = ce.to_structured(ev)
    back = ce.from_http(h, body)
    assert back == ev
    h2, body2 = ce.to_binary(ev)
    assert ce.from_http(h2, body2) == ev
    binary = ce.from_binary([*BASE, ("Content-Type", "image/png")], b"\x89PNG")
    h3, body3 = ce.to_structured(binary)
    assert "data_base64" in json.loads(body3)
    assert ce.from_http(h3, body3) == binary


def test_event_is_frozen_and_replace_copies() -> None:
    ev = ce.from_binary(BASE, b"")
    with pytest.raises(AttributeError):
        ev.data = b"x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ev.attributes["id"] = "2"  # type: ignore[index]
    ev2 = ev.replace({"knativebrokerttl": "5"}, remove=("type",))
    assert "type" not in ev2.attributes and ev.type == "com.example.FullEvent"


def test_interoperates_with_the_cloudevents_sdk() -> None:
    """Messages written by the CloudEvents Python SDK decode to the same attributes."""
    from cloudevents.core.v1.event import CloudEvent as SdkEvent  # type: ignore

    sdk_ev = SdkEvent(attributes={"id": "x1", "source": "/sdk", "type": "sdk.t",
                                  "specversion": "1.0", "datacontenttype": "application/json",
                                  "subject": "ä b"}, data={"n": 1})
    from cloudevents.core.formats.json import JSONFormat  # type: ignore

    for encode in (sdk_http.to_binary, sdk_http.to_structured):
        msg = encode(sdk_ev, JSONFormat())
        ev = ce.from_http(list(msg.headers.items()), msg.body)
        assert ev.id == "x1" and ev.get("subject") == "ä b"
        assert json.loads(ev.data or b"") == {"n": 1}


# ------------------------------------------------------------------ issue 9: deep JSON, 0.3

def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_deeply_nested_structured_event_is_a_malformed_body_not_a_recursion_error() -> None:
    body = (b'{"specversion":"1.0","id":"1","source":"/s","type":"t","data":'
            + _deep(5000) + b"}")
    assert len(body) > 10_000
    with pytest.raises(ce.MalformedBody, match="nested too deeply"):
        ce.from_structured(body)
    with pytest.raises(ce.MalformedBody, match="nested too deeply"):
        ce.from_http([("Content-Type", ce.STRUCTURED)], _deep(5000))


def test_deeply_nested_binary_data_still_encodes_as_structured() -> None:
    ev = ce.from_binary([*BASE, ("Content-Type", "application/json")], _deep(5000))
    _, body = ce.to_structured(ev)
    assert ce.from_structured(body).data == _deep(5000)


def test_specversion_03_structured_is_converted_to_10() -> None:
    obj = {"specversion": "0.3", "id": "1", "source": "/s", "type": "t",
           "schemaurl": "https://example.com/schema", "datacontenttype": "text/plain",
           "datacontentencoding": "base64", "data": "aGVsbG8="}
    ev = ce.from_structured(json.dumps(obj).encode())
    assert dict(ev.attributes) == {"specversion": "1.0", "id": "1", "source": "/s",
                                   "type": "t", "dataschema": "https://example.com/schema",
                                   "datacontenttype": "text/plain"}
    assert ev.data == b"hello"
    with pytest.raises(ce.InvalidAttribute, match="data: not valid base64"):
        ce.from_structured(json.dumps({**obj, "data": "not base64!"}).encode())


def test_specversion_03_binary_is_converted_to_10() -> None:
    headers = [("ce-specversion", "0.3"), ("ce-id", "1"), ("ce-source", "/s"),
               ("ce-type", "t"), ("ce-schemaurl", "https://example.com/s"),
               ("Content-Type", "application/json")]
    ev = ce.from_binary(headers, b'{"a":1}')
    assert ev.attributes["specversion"] == "1.0"
    assert ev.attributes["dataschema"] == "https://example.com/s"
    assert "schemaurl" not in ev.attributes and ev.data == b'{"a":1}'
    out, _ = ce.to_binary(ev)
    assert ("ce-specversion", "1.0") in out
