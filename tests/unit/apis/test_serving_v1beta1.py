"""DomainMapping defaulting and validation (field paths as Knative reports them), and
ClusterDomainClaim validation."""

from __future__ import annotations

from knpy.apis.serving.v1beta1 import (
    set_domainmapping_defaults,
    validate_clusterdomainclaim,
    validate_domainmapping,
)


def dm(name: str = "hello.example.org", ref: dict | None = None, **spec: object) -> dict:
    return {"apiVersion": "serving.knative.dev/v1beta1", "kind": "DomainMapping",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                             "name": "hello"} if ref is None else ref, **spec}}


def test_defaults_the_ref_namespace_to_its_own() -> None:
    out = set_domainmapping_defaults(dm())
    assert out["spec"]["ref"]["namespace"] == "ns"
    other = dm(ref={"apiVersion": "v1", "kind": "Service", "name": "x", "namespace": "o"})
    assert set_domainmapping_defaults(other)["spec"]["ref"]["namespace"] == "o"


def test_a_valid_mapping_passes() -> None:
    assert not validate_domainmapping(set_domainmapping_defaults(dm()))


def test_name_must_be_a_fully_qualified_domain_outside_the_cluster_domain() -> None:
    for name in ("hello", "Hello.example.org", "-a.example.org", "a..org", "a_b.example.org"):
        errs = validate_domainmapping(dm(name))
        assert errs.paths == ["metadata.name"], name
        assert f"invalid name {name!r}" in str(errs)
    errs = validate_domainmapping(dm("x.ns.svc.cluster.local"))
    assert errs.paths == ["metadata.name"]
    assert "must not be a subdomain of cluster local domain" in str(errs)
    assert validate_domainmapping(dm("x.ns.svc.corp.local"), "corp.local").paths == \
        ["metadata.name"]
    o = dm()
    o["metadata"]["generateName"] = "x-"
    assert validate_domainmapping(o).paths == ["metadata.generateName"]


def test_ref_is_required_complete_and_in_the_same_namespace() -> None:
    assert validate_domainmapping({"metadata": {"name": "a.b", "namespace": "ns"},
                                   "spec": {}}).paths == ["spec.ref"]
    assert sorted(validate_domainmapping(dm(ref={"kind": "Service"})).paths) == \
        ["spec.ref.apiVersion", "spec.ref.name"]
    errs = validate_domainmapping(dm(ref={"apiVersion": "v1", "kind": "Service",
                                          "name": "x", "namespace": "other"}))
    assert errs.paths == ["spec.ref.namespace"]
    assert "must be empty or equal to the domain mapping namespace 'ns'" in str(errs)
    assert validate_domainmapping(dm(tls={})).paths == ["spec.tls.secretName"]


def test_a_claim_names_a_namespace() -> None:
    claim = {"metadata": {"name": "hello.example.org"}, "spec": {"namespace": "ns"}}
    assert not validate_clusterdomainclaim(claim)
    assert validate_clusterdomainclaim({"metadata": {"name": "hello.example.org"},
                                        "spec": {}}).paths == ["spec.namespace"]
    assert validate_clusterdomainclaim({"metadata": {"name": "x"},
                                        "spec": {"namespace": "ns"}}).paths == \
        ["metadata.name"]
