"""Parse Prometheus text exposition back into samples, for tests that scrape /metrics."""

from __future__ import annotations

import re

import aiohttp

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def parse(text: str) -> tuple[Samples, dict[str, str]]:
    """(samples by (name, labels), TYPE by family name); raises on a malformed line."""
    samples: Samples = {}
    types: dict[str, str] = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            raise ValueError(f"malformed sample line: {line!r}")
        name, body, value = m.groups()
        labels: list[tuple[str, str]] = []
        pos = 0
        body = body or ""
        while pos < len(body):
            lm = _LABEL.match(body, pos)
            if lm is None:
                raise ValueError(f"malformed labels: {body!r}")
            raw = lm.group(2)
            labels.append((lm.group(1), re.sub(r'\\[\\"n]', lambda e: _UNESCAPE[e.group()],
                                               raw)))
            pos = lm.end()
        key = (name, frozenset(labels))
        if key in samples:
            raise ValueError(f"duplicate sample: {line!r}")
        samples[key] = float(value)
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when none)."""
    want = set(labels.items())
    return sum(v for (n, lb), v in samples.items() if n == name and want <= lb)


async def scrape(s: aiohttp.ClientSession, url: str) -> Samples:
    async with s.get(url) as r:
        assert r.status == 200, await r.text()
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(await r.text())[0]
