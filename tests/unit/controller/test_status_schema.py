"""Every status the reconcilers write (as the table rows pin it) survives the chart's CRD
schema: a field the schema would prune makes the controller PUT the same status on every
reconcile, since the server keeps answering without it."""

from __future__ import annotations

from typing import Any

import pytest

from knpy.runtime.k8s.testing import Row
from tests.support.crd_schema import pruned, schema_for
from tests.unit.controller import (
    test_eventing_table,
    test_serving_domainmapping_table,
    test_serving_revision_table,
    test_serving_route_table,
    test_serving_table,
    test_sks_table,
    test_sources_table,
)

MODULES = (test_eventing_table, test_serving_domainmapping_table, test_serving_revision_table,
           test_serving_route_table, test_serving_table, test_sks_table, test_sources_table)


def _rows() -> list[Row]:
    rows: list[Row] = []
    for m in MODULES:
        for name, value in vars(m).items():
            if name.endswith("ROWS") and isinstance(value, list):
                for item in value:
                    rows += [x for x in (item if isinstance(item, tuple) else (item,))
                             if isinstance(x, Row)]
    return rows


def _statuses() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for row in _rows():
        for obj in row.want_status_updates:
            out.append((f"{row.name} ({obj['kind']} {obj['metadata']['name']})", obj))
    return out


STATUSES = _statuses()


def test_the_rows_pin_statuses_of_every_table() -> None:
    kinds = {obj["kind"] for _, obj in STATUSES}
    assert {"Service", "Configuration", "Revision", "Route", "ServerlessService",
            "DomainMapping", "Broker", "Trigger"} <= kinds, kinds


@pytest.mark.parametrize(("name", "obj"), STATUSES, ids=[n for n, _ in STATUSES])
def test_a_written_status_has_only_fields_the_crd_keeps(name: str, obj: dict) -> None:
    schema = schema_for(obj)["properties"]["status"]
    assert pruned(obj["status"], schema, ".status") == []


def test_pruned_names_what_the_schema_drops() -> None:
    schema = {"type": "object", "properties": {
        "a": {"type": "string"},
        "m": {"type": "object", "additionalProperties": {"type": "string"}},
        "l": {"type": "array", "items": {"type": "object", "properties": {
            "x": {"type": "string"}}}},
        "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    value = {"a": "1", "b": 2, "m": {"k": "v"}, "l": [{"x": "1", "y": 2}],
             "open": {"anything": 1}}
    assert pruned(value, schema) == [".b", ".l[0].y"]
    assert pruned({"a": None}, schema) == [".a (null)"]
