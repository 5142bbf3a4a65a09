"""Trigger filter dialects through the public build()/validate() API."""

from __future__ import annotations

import pytest

from knpy.runtime.eventfilter import FilterError, build, validate

EVENT = {
    "specversion": "1.0",
    "id": "42",
    "source": "https://example.com/src",
    "type": "com.example.FullEvent",
    "subject": "",
    "myint": 10,
    "mybool": True,
    "myext": "custom-value",
}


def m(attributes=None, filters=None, event=EVENT) -> bool:
    return build(attributes, filters).matches(event)


class TestNoFilter:
    def test_nothing_matches_everything(self):
        assert m() is True
        assert m({}, []) is True
        assert m(None, None, event={}) is True


class TestAttributes:
    def test_exact_and_anded(self):
        assert m({"type": "com.example.FullEvent", "source": "https://example.com/src"})
        assert not m({"type": "com.example.FullEvent", "source": "other"})

    def test_case_sensitive(self):
        assert not m({"type": "com.example.fullevent"})

    def test_missing_attribute_fails(self):
        assert not m({"nothere": "x"})

    def test_empty_value_means_present_and_non_empty(self):
        assert m({"myext": ""})
        assert not m({"nothere": ""})
        assert not m({"subject": ""})  # present but empty

    def test_structured_mode_scalars_compare_canonically(self):
        assert m({"myint": "10", "mybool": "true"})
        assert not m({"mybool": "True"})

    def test_binary_mode_strings(self):
        assert m({"myint": "10"}, event={**EVENT, "myint": "10"})

    def test_bad_key_is_field_pathed(self):
        with pytest.raises(FilterError) as e:
            build({"Type": "x"}, None)
        assert e.value.field == "filter.attributes[Type]"

    @pytest.mark.parametrize("key", ["1abc", "a-b", "a_b", "", "tYpe"])
    def test_key_regex(self, key):
        errs = validate({key: "x"}, None)
        assert [e.field for e in errs] == [f"filter.attributes[{key}]"]

    def test_non_string_value_rejected(self):
        errs = validate({"myint": 10}, None)
        assert errs[0].field == "filter.attributes[myint]"


class TestOverride:
    def test_non_empty_filters_override_attributes(self):
        f = [{"exact": {"type": "com.example.FullEvent"}}]
        assert m({"type": "nope"}, f)

    def test_empty_filters_do_not_override(self):
        assert not m({"type": "nope"}, [])
        assert m({"type": "com.example.FullEvent"}, [])

    def test_both_validated(self):
        errs = validate({"Bad": "x"}, [{"exact": {"Bad": "x"}}])
        assert {e.field for e in errs} == {"filter.attributes[Bad]", "filters[0].exact[Bad]"}


class TestExactPrefixSuffix:
    def test_exact(self):
        assert m(filters=[{"exact": {"type": "com.example.FullEvent"}}])
        assert not m(filters=[{"exact": {"type": "com.example"}}])

    def test_exact_missing_attribute_fails(self):
        assert not m(filters=[{"exact": {"nothere": "x"}}])

    def test_prefix(self):
        assert m(filters=[{"prefix": {"type": "com.example."}}])
        assert not m(filters=[{"prefix": {"type": "org."}}])
        assert not m(filters=[{"prefix": {"nothere": "x"}}])

    def test_suffix(self):
        assert m(filters=[{"suffix": {"source": "/src"}}])
        assert not m(filters=[{"suffix": {"source": "/dst"}}])
        assert not m(filters=[{"suffix": {"nothere": "x"}}])

    def test_on_scalars(self):
        assert m(filters=[{"prefix": {"myint": "1"}}, {"suffix": {"mybool": "ue"}}])

    def test_list_is_anded(self):
        f = [{"prefix": {"type": "com."}}, {"suffix": {"type": "Event"}}]
        assert m(filters=f)
        f.append({"exact": {"id": "43"}})
        assert not m(filters=f)

    @pytest.mark.parametrize("kind", ["exact", "prefix", "suffix"])
    def test_several_attributes_all_must_match(self, kind):
        # Knative allows several attributes in one exact/prefix/suffix (eventing #6477)
        assert validate(None, [{kind: {"type": "a", "id": "b"}}]) == []
        errs = validate(None, [{kind: {}}])
        assert [e.field for e in errs] == [f"filters[0].{kind}"]
        errs = validate(None, [{kind: {"type": "a", "X": "b"}}])
        assert [e.field for e in errs] == [f"filters[0].{kind}[X]"]

    def test_several_exact_attributes_match_only_together(self):
        t, src = EVENT["type"], EVENT["source"]
        assert m(filters=[{"exact": {"type": t, "source": src}}])
        assert not m(filters=[{"exact": {"type": t, "source": "/other"}}])
        assert m(filters=[{"prefix": {"type": t[:4], "source": src[:5]}}])
        assert not m(filters=[{"suffix": {"type": t[-3:], "nothere": "x"}}])

    @pytest.mark.parametrize("kind", ["exact", "prefix", "suffix"])
    def test_empty_value_rejected(self, kind):
        errs = validate(None, [{kind: {"type": ""}}])
        assert [e.field for e in errs] == [f"filters[0].{kind}[type]"]

    def test_bad_key_in_nested_filter(self):
        nested = {"all": [{"not": {"prefix": {"X": "a"}}}]}
        errs = validate(None, [{"exact": {"type": "a"}}, nested])
        assert [e.field for e in errs] == ["filters[1].all[0].not.prefix[X]"]


class TestNesting:
    def test_all(self):
        assert m(filters=[{"all": [{"exact": {"id": "42"}}, {"prefix": {"type": "com"}}]}])
        assert not m(filters=[{"all": [{"exact": {"id": "42"}}, {"prefix": {"type": "org"}}]}])

    def test_any(self):
        assert m(filters=[{"any": [{"exact": {"id": "1"}}, {"prefix": {"type": "com"}}]}])
        assert not m(filters=[{"any": [{"exact": {"id": "1"}}, {"prefix": {"type": "org"}}]}])

    def test_not(self):
        assert not m(filters=[{"not": {"exact": {"id": "42"}}}])
        assert m(filters=[{"not": {"exact": {"id": "1"}}}])

    def test_not_of_missing_attribute_passes(self):
        # exact on a missing attribute fails, so its negation passes (Knative semantics)
        assert m(filters=[{"not": {"exact": {"nothere": "x"}}}])

    def test_deep_nesting(self):
        f = [
            {
                "any": [
                    {"all": [{"exact": {"id": "1"}}, {"exact": {"type": "x"}}]},
                    {"not": {"any": [{"suffix": {"type": "Nope"}}, {"exact": {"id": "7"}}]}},
                ]
            }
        ]
        assert m(filters=f)
        assert not m(filters=f, event={**EVENT, "id": "7"})

    def test_empty_all_and_any_match_everything(self):
        # Knative: an empty all/any yields "no filter", which passes.
        assert m(filters=[{"all": []}])
        assert m(filters=[{"any": []}])
        assert m(filters=[{"not": {"any": []}}])
        assert not m(filters=[{"all": []}, {"exact": {"id": "1"}}])
        # ...and is ignored next to a real result, as Knative's Or/And do
        assert not m(filters=[{"any": [{"all": []}, {"exact": {"id": "1"}}]}])
        assert m(filters=[{"all": [{"any": []}, {"exact": {"id": "42"}}]}])


class TestBadSpecs:
    def test_two_dialects_in_one_entry(self):
        errs = validate(None, [{"exact": {"id": "1"}, "prefix": {"id": "1"}}])
        assert [e.field for e in errs] == ["filters[0]"]
        assert "exact, prefix" in errs[0].message

    def test_no_dialect(self):
        assert [e.field for e in validate(None, [{}])] == ["filters[0]"]

    def test_unknown_dialect(self):
        assert [e.field for e in validate(None, [{"regex": {"id": "1"}}])] == ["filters[0].regex"]

    def test_wrong_shapes(self):
        assert [e.field for e in validate(None, [{"all": {"exact": {}}}])] == ["filters[0].all"]
        assert [e.field for e in validate(None, ["exact"])] == ["filters[0]"]
        assert [e.field for e in validate(None, [{"not": [{"exact": {"id": "1"}}]}])] == [
            "filters[0].not"
        ]
        assert [e.field for e in validate("type=x", None)] == ["filter.attributes"]

    def test_validate_collects_everything(self):
        errs = validate(
            {"A": "x"},
            [{"exact": {"B": "x"}}, {"any": [{"prefix": {"C": "y"}}, {"suffix": {}}]}],
        )
        assert [e.field for e in errs] == [
            "filter.attributes[A]",
            "filters[0].exact[B]",
            "filters[1].any[0].prefix[C]",
            "filters[1].any[1].suffix",
        ]

    def test_build_raises_first_error_with_field(self):
        with pytest.raises(FilterError) as e:
            build(None, [{"exact": {"id": "1"}}, {"prefix": {"ID": "1"}}])
        assert e.value.field == "filters[1].prefix[ID]"
        assert str(e.value).startswith("filters[1].prefix[ID]: ")
        assert isinstance(e.value, ValueError)

    def test_valid_spec_has_no_errors(self):
        assert validate({"type": "x"}, [{"not": {"exact": {"id": "1"}}}]) == []
