"""The announcement's wire: tokens bound to one revision under one key, the path, the bytes."""

from __future__ import annotations

from knpy.runtime.contract import announce
from knpy.runtime.proxy.probe import request


def test_a_token_is_bound_to_its_key_namespace_and_revision() -> None:
    t = announce.token(b"k", "default", "hello-00001").encode()
    assert announce.verify(b"k", "default", "hello-00001", t)
    assert not announce.verify(b"other", "default", "hello-00001", t)
    assert not announce.verify(b"k", "prod", "hello-00001", t)
    assert not announce.verify(b"k", "default", "hello-00002", t)
    assert not announce.verify(b"k", "default", "hello-00001", b"")
    # "a/b" + "c" and "a" + "b/c" cannot share a token: names never hold "/"
    assert announce.token(b"k", "a", "b") != announce.token(b"k", "a", "b2")


def test_paths() -> None:
    assert announce.parse_path(b"/announce/default/hello") == ("default", "hello")
    for bad in (b"/announce/default", b"/announce//hello", b"/announce/default/",
                b"/announce/a/b/c", b"/other/a/b", b"/announce/d\xff/x"):
        assert announce.parse_path(bad) is None, bad


def test_the_request_parses_back() -> None:
    raw = request("POST", announce.path("default", "hello"), "activator-announce.sys.svc",
                  announce.headers("abc", 8012))
    assert announce.parse_path(announce.path("default", "hello").encode()) == (
        "default", "hello")
    head = raw.decode().split("\r\n")
    assert head[0] == "POST /announce/default/hello HTTP/1.1"
    assert f"{announce.TOKEN_HEADER}: abc" in head and f"{announce.PORT_HEADER}: 8012" in head
    assert raw.endswith(b"Connection: close\r\n\r\n")


def test_no_key_means_off() -> None:
    assert announce.key_from_env({}) is None
    assert announce.key_from_env({announce.KEY_ENV: "  "}) is None
    assert announce.key_from_env({announce.KEY_ENV: "s3cret\n"}) == b"s3cret"
