"""CESQL conformance runner: ``python -m tests.support.cesql_tck DIR`` from the repository
root (with ``PYTHONPATH=components`` unless knpy is installed). No image ships it.

Runs every ``*.yaml`` file of the CloudEvents SQL TCK in DIR against
``knpy.runtime.eventfilter.cesql`` and prints one line per failure, then
``N passed, M failed`` as the last line; exits 1 on any failure (2 if DIR holds no file).

A case passes when the expression parses (or fails to parse, for ``error: parse``), and
evaluation gives exactly the expected ``result`` (type and value) and, when ``error`` is
set, an error of that kind first; without ``error`` there must be no error at all.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knpy.runtime.eventfilter.cesql import CesqlError, ParseError, compile_expression

# An event for cases without one: every required attribute and a few optional ones,
# no extensions (cases rely on `myext`, `missing`... being absent).
DEFAULT_EVENT: dict[str, object] = {
    "specversion": "1.0",
    "id": "full-event",
    "source": "http://localhost/source",
    "type": "com.example.FullEvent",
    "subject": "topic",
    "time": "2018-04-26T14:48:09+02:00",
    "dataschema": "http://localhost/schema",
    "datacontenttype": "text/json",
}


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 timestamps: CloudEvents times stay strings, as in JSON."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Case:
    file: str
    name: str
    expression: str
    result: Any  # None when the case expects no particular value
    error: str | None
    event: dict[str, object]


def _raw_expressions(node: yaml.Node) -> Iterator[str]:
    """The source text of each test's `expression`, whatever YAML would make of it
    (`TRUE`, `0`... must reach the parser as written)."""
    for key, value in node.value:
        if key.value == "tests":
            for test in value.value:
                raw = next((v for k, v in test.value if k.value == "expression"), None)
                yield "" if raw is None else str(raw.value)


def load(path: Path) -> list[Case]:
    text = path.read_text(encoding="utf-8")
    doc = yaml.load(text, Loader=_Loader) or {}
    node = yaml.compose(text, Loader=_Loader)
    cases = []
    for test, expression in zip(doc.get("tests") or [], _raw_expressions(node), strict=True):
        if "event" in test and test["event"] is not None:
            event = {k.lower(): v for k, v in test["event"].items()}
        else:
            event = dict(DEFAULT_EVENT)
        for k, v in (test.get("eventOverrides") or {}).items():
            event[k.lower()] = v
        event.pop("data", None)  # CESQL never sees data
        event.pop("data_base64", None)
        cases.append(
            Case(
                file=path.name,
                name=str(test.get("name", "?")),
                expression=expression,
                result=test.get("result"),
                error=test.get("error"),
                event=event,
            )
        )
    return cases


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def check(case: Case) -> str | None:
    """None if the case passes, else why not."""
    try:
        expr = compile_expression(case.expression)
    except ParseError as e:
        return None if case.error == "parse" else f"unexpected parse error: {e}"
    if case.error == "parse":
        return "expected a parse error, the expression compiled"
    value, errors = expr.evaluate(case.event)
    problems = []
    if case.error is None and errors:
        problems.append(f"unexpected errors {_kinds(errors)}")
    if case.error is not None and (not errors or errors[0].kind != case.error):
        problems.append(f"expected a {case.error} error, got {_kinds(errors) or 'none'}")
    if case.result is not None and not _same(value, case.result):
        problems.append(f"expected result {case.result!r}, got {value!r}")
    return "; ".join(problems) or None


def _kinds(errors: list[CesqlError]) -> list[str]:
    return [e.kind for e in errors]


def run(directory: Path, out: Any = sys.stdout) -> tuple[int, int]:
    passed = failed = 0
    for path in sorted(directory.glob("*.yaml")):
        try:
            cases = load(path)
        except (yaml.YAMLError, ValueError, AttributeError, TypeError) as e:
            print(f"FAIL {path.name}: cannot load: {e}", file=out)
            failed += 1
            continue
        for case in cases:
            why = check(case)
            if why is None:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {case.file} :: {case.name} :: {case.expression!r}: {why}", file=out)
    return passed, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.cesql_tck", description=__doc__)
    parser.add_argument("directory", type=Path, help="directory of CESQL TCK *.yaml files")
    args = parser.parse_args(argv)
    if not args.directory.is_dir() or not any(args.directory.glob("*.yaml")):
        print(f"no TCK *.yaml files in {args.directory}", file=sys.stderr)
        print("0 passed, 0 failed")
        return 2
    passed, failed = run(args.directory)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
