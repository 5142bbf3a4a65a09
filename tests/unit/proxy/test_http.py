"""Head rewriting and local responses on raw bytes."""

from __future__ import annotations

from knpy.runtime.proxy import http


def test_response_hop_by_hop_lines_are_removed() -> None:
    head = (b"HTTP/1.1 200 OK\r\nServer: x\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
            b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n")
    out = http.rewrite_response_head(head, close=False)
    assert out == (b"HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 2\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n")


def test_connection_tokens_name_more_hop_by_hop_headers() -> None:
    head = b"HTTP/1.1 200 OK\r\nConnection: close, X-Secret\r\nx-secret: 1\r\nX-Kept: 2\r\n\r\n"
    out = http.rewrite_response_head(head, close=True)
    assert out == b"HTTP/1.1 200 OK\r\nX-Kept: 2\r\nConnection: close\r\n\r\n"


def test_head_without_hop_headers_is_untouched() -> None:
    head = b"HTTP/1.1 204 No Content\r\nX-A: connection: keep-alive\r\n\r\n"
    assert http.rewrite_response_head(head, close=False) == head


def test_error_response_matches_go_http_error() -> None:
    raw = http.error_response(503, "pending request queue full")
    assert raw.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert raw.endswith(b"\r\n\r\npending request queue full\n")
    assert b"Content-Length: 27\r\n" in raw


def test_drop_named_is_case_insensitive() -> None:
    lines = [b"X-A: 1\r\n", b"x-b: 2\r\n", b"X-C: 3\r\n"]
    assert http.drop_named(lines, frozenset({b"x-b", b"x-a"})) == [b"X-C: 3\r\n"]
