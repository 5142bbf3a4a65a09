"""Child names stay valid DNS labels however long the parent's name (Knative's conformance
creates Services whose revisions' `<rev>-private` Service would be 64+ characters, rekt
creates 63-character channels), and are Knative's kmeta.ChildName names, so a manifest
gives the same child names as on Knative."""

from __future__ import annotations

import re

import pytest

from knpy.runtime.k8s.naming import child_name

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@pytest.mark.parametrize(("parent", "suffix", "want"), [
    # knative.dev/pkg kmeta TestChildName's cases
    ("asdf", "-deployment", "asdf-deployment"),
    ("f" * 63, "-deployment", "ffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-deployment"),
    ("f" * 63, "-deploy", "ffffffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-deploy"),
])
def test_knatives_names(parent: str, suffix: str, want: str) -> None:
    assert child_name(parent, suffix) == want


@pytest.mark.parametrize(("parent", "suffix"), [
    ("hello-00001", "-private"), ("hello", "-00001"), ("events", "-kn-channel"),
    ("s", "-kn-sequence-0"), ("a" * 52, "-kn-channel"), ("a" * 63, ""),
])
def test_short_names_are_parent_plus_suffix(parent: str, suffix: str) -> None:
    assert child_name(parent, suffix) == parent + suffix


def test_a_63_character_channel_keeps_its_suffix_in_a_dns_label() -> None:
    name = child_name("c" * 63, "-kn-channel")
    assert name == "ccccccccccccccccccccbc1cbc032f9b2a1fa2ae54f8576beb7e-kn-channel"
    assert _LABEL.match(name) and len(name) == 63


def test_long_names_keep_the_suffix_and_fit_a_dns_label() -> None:
    rev = "revision-timeout-does-not-exceed-timeout--lamvvcyd-00001"  # 56 characters
    name = child_name(rev, "-private")
    assert len(name) == 63 and name.endswith("-private"), name
    assert name.startswith(rev[:23])
    # two long parents that differ only past the cut get different names
    assert child_name(rev[:-1] + "2", "-private") != name
    assert child_name(rev, "-private") == name  # stable


@pytest.mark.parametrize(("parent", "suffix"), [
    ("p" * 40, "-" + "s" * 40), ("short", "-" + "s" * 70), ("p" * 31, "-" * 40),
])
def test_a_suffix_of_31_or_more_still_gives_a_dns_label(parent: str, suffix: str) -> None:
    name = child_name(parent, suffix)
    assert len(name) <= 63 and name[-1].isalnum(), name
    assert name.startswith(parent[:31])
    assert child_name(parent + "x", suffix) != name
