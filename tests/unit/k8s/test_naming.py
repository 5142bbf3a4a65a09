"""Child names stay valid DNS labels however long the parent's name (Knative's conformance
creates Services whose revisions' `<rev>-private` Service would be 64+ characters)."""

from __future__ import annotations

from knpy.runtime.k8s.naming import suffixed_name


def test_short_names_are_parent_plus_suffix() -> None:
    assert suffixed_name("hello-00001", "-private") == "hello-00001-private"


def test_long_names_keep_the_suffix_and_fit_a_dns_label() -> None:
    rev = "revision-timeout-does-not-exceed-timeout--lamvvcyd-00001"  # 56 characters
    name = suffixed_name(rev, "-private")
    assert len(name) == 63 and name.endswith("-private"), name
    assert name.startswith(rev[:40])
    # two long parents that differ only past the cut get different names
    other = rev[:-1] + "2"
    assert suffixed_name(other, "-private") != name
    assert suffixed_name(rev, "-private") == name  # stable
