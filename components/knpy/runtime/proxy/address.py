"""`host:port` addresses of backends: IPv6 hosts in brackets, both ways."""

from __future__ import annotations

__all__ = ["join_address", "split_address", "url_host"]


def url_host(ip: str) -> str:
    """An IP as the host part of an address or URL: an IPv6 one in brackets."""
    return f"[{ip}]" if ":" in ip else ip


def join_address(ip: str, port: int) -> str:
    return f"{url_host(ip)}:{port}"


def split_address(dest: str) -> tuple[str, int]:
    """"host:port" or "[v6]:port" -> (host, port); ValueError naming the address."""
    host, sep, port = dest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"backend address {dest!r}: want host:port")
    return host.strip("[]"), int(port)
