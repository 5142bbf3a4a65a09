"""CESQL lexer, parser and evaluator edge cases (cases written here, not copied from the TCK)."""

from __future__ import annotations

import pytest

from knpy.runtime.eventfilter.cesql import (
    CastError,
    FunctionEvaluationError,
    MathError,
    MissingAttributeError,
    MissingFunctionError,
    ParseError,
    compile_expression,
)
from knpy.runtime.eventfilter.cesql.ast import Binary, Identifier, Like, Literal, Unary
from knpy.runtime.eventfilter.cesql.parser import parse

EVENT = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "/src",
    "type": "com.example.created",
    "myint": 7,
    "mybool": True,
    "mystr": "42",
    "big": 2**40,
}


def ev(expr: str, event=EVENT):
    return compile_expression(expr).evaluate(event)


def value(expr: str, event=EVENT):
    v, errs = ev(expr, event)
    assert errs == [], errs
    return v


def error(expr: str, event=EVENT) -> tuple[object, list[type]]:
    v, errs = ev(expr, event)
    return v, [type(e) for e in errs]


class TestLiterals:
    @pytest.mark.parametrize(
        ("src", "want"),
        [
            ("'it''s'", "it's"),
            ('"say ""hi"""', 'say "hi"'),
            (r"'it\'s'", "it's"),
            (r'"a\"b"', 'a"b'),
            (r"'a\\b'", "a\\b"),
            (r"'a\nb'", "a\\nb"),  # unknown escapes stay as written
            ("'a\"b'", 'a"b'),
            ("''", ""),
            ("'ünïcødé ✓'", "ünïcødé ✓"),
        ],
    )
    def test_strings(self, src, want):
        assert value(src) == want

    @pytest.mark.parametrize(
        ("src", "want"),
        [("2147483647", 2147483647), ("-2147483648", -2147483648), ("+5", 5), ("007", 7)],
    )
    def test_integer_range(self, src, want):
        assert value(src) == want

    @pytest.mark.parametrize("src", ["2147483648", "-2147483649", "99999999999999999999"])
    def test_integer_overflow_is_a_parse_error(self, src):
        with pytest.raises(ParseError):
            compile_expression(src)

    def test_booleans_case_insensitive(self):
        assert value("tRUE") is True and value("fAlSe") is False


class TestParser:
    def test_precedence(self):
        assert value("2 + 3 * 4") == 14
        assert value("(2 + 3) * 4") == 20
        assert value("10 - 4 - 3") == 3  # left to right
        assert value("100 / 10 / 5") == 2
        assert value("1 + 2 = 3") is True
        assert value("-2 * 3") == -6

    def test_logic_operators_share_one_level_left_to_right(self):
        # spec 3.6: AND, OR, XOR have equal precedence and evaluate left to right
        assert parse("a OR b AND c") == Binary(
            "AND", Binary("OR", Identifier("a"), Identifier("b")), Identifier("c")
        )
        assert value("TRUE OR TRUE AND FALSE") is False

    def test_not_binds_tighter_than_like(self):
        assert parse("NOT a LIKE 'x'") == Like(Unary("NOT", Identifier("a")), "x", False)
        assert value("NOT (type LIKE 'org.%')") is True

    def test_binary_minus_without_spaces(self):
        assert value("4-1") == 3
        assert value("4 -1") == 3
        assert value("--1") == 1
        assert value("- -1") == 1

    def test_diamond_is_not_equal(self):
        assert parse("a <> b") == parse("a != b")

    def test_keywords_and_functions_case_insensitive(self):
        assert value("lower('A') = 'a' aNd length('abc') = 3") is True
        assert value("Exists ID") is True

    def test_identifiers_fold_to_lower_case(self):
        assert value("TYPE") == "com.example.created"

    @pytest.mark.parametrize(
        "src",
        [
            "",
            "   ",
            "(",
            "1 +",
            "a b",
            "a = = b",
            "'unterminated",
            "\"unterminated",
            "'a\\'",
            "x LIKE y",
            "x LIKE 5",
            "x IN ()",
            "x IN 1",
            "x IN (1,)",
            "f(1,",
            "f(,)",
            "EXISTS 5",
            "EXISTS",
            "EXISTS AND",
            "a_b",
            "FN1(x)",
            "+a",
            "1 ! 2",
            "a == b",
            "a # b",
            "AND",
            "NOT",
            "()",
            "1 2",
            "a.b",
            "$x",
        ],
    )
    def test_parse_errors(self, src):
        with pytest.raises(ParseError):
            compile_expression(src)

    def test_parse_error_has_position(self):
        with pytest.raises(ParseError) as e:
            compile_expression("type = 'a' AND AND")
        assert e.value.position == 15
        assert "position 15" in str(e.value)

    def test_nesting_is_bounded(self):
        with pytest.raises(ParseError):
            compile_expression("(" * 500 + "1" + ")" * 500)
        with pytest.raises(ParseError):
            compile_expression("NOT " * 500 + "TRUE")
        with pytest.raises(ParseError):
            compile_expression(" + ".join(["1"] * 5000))
        assert value(" + ".join(["1"] * 50)) == 50

    def test_non_string_expression(self):
        with pytest.raises(ParseError):
            compile_expression(5)  # type: ignore[arg-type]


class TestAttributes:
    def test_types_from_structured_mode(self):
        assert value("myint") == 7
        assert value("mybool") is True
        assert value("myint + 1") == 8

    def test_out_of_range_integer_attribute_is_a_string(self):
        assert value("big") == str(2**40)
        assert error("big + 1") == (1, [CastError])  # the cast gives 0, then 0 + 1

    def test_missing_attribute_gives_zero_value_of_the_operator(self):
        assert error("nope") == (False, [MissingAttributeError])
        assert error("nope * 2") == (0, [MissingAttributeError])
        assert error("-nope") == (0, [MissingAttributeError])
        assert error("NOT nope") == (False, [MissingAttributeError])
        assert error("nope = nope") == (False, [MissingAttributeError, MissingAttributeError])
        assert error("LENGTH(nope)") == (0, [MissingAttributeError])
        assert error("UPPER(nope)") == ("", [MissingAttributeError])
        assert error("nope IN (1, 2)") == (False, [MissingAttributeError])
        assert error("1 IN (nope, 1)") == (False, [MissingAttributeError])
        assert error("nope LIKE '%'") == (False, [MissingAttributeError])

    def test_null_is_absent(self):
        assert value("EXISTS subject", {**EVENT, "subject": None}) is False

    def test_exists(self):
        assert value("EXISTS myint") is True
        assert value("EXISTS nope") is False
        assert value("NOT EXISTS nope") is True


class TestOperators:
    def test_short_circuit(self):
        assert error("FALSE AND nope") == (False, [])
        assert error("TRUE OR 1 / 0 = 0") == (True, [])
        assert error("TRUE AND nope") == (False, [MissingAttributeError])
        assert error("nope OR TRUE") == (False, [MissingAttributeError])

    def test_xor_evaluates_both(self):
        assert value("TRUE XOR FALSE") is True
        assert error("FALSE XOR nope") == (False, [MissingAttributeError])

    def test_division_and_modulo_truncate_towards_zero(self):
        assert value("7 / 2") == 3
        assert value("-7 / 2") == -3
        assert value("7 / -2") == -3
        assert value("-7 % 2") == -1
        assert value("7 % -2") == 1

    def test_math_errors(self):
        assert error("1 % 0") == (0, [MathError])
        assert error("2147483647 + 1") == (0, [MathError])
        assert error("-2147483648 - 1") == (0, [MathError])
        assert error("65536 * 65536") == (0, [MathError])
        assert error("-2147483648 / -1") == (0, [MathError])
        assert error("-(-2147483648)") == (0, [MathError])
        assert value("-2147483648 % -1") == 0

    def test_error_in_operand_zeroes_the_enclosing_operator(self):
        assert error("1 / 0 = 0") == (False, [MathError])
        assert error("NOT (1 / 0 = 0)") == (False, [MathError])

    def test_comparisons_cast_to_the_right_operand_type(self):
        assert value("mystr = 42") is True
        assert value("42 = mystr") is True
        assert value("mybool = 'true'") is True
        assert value("'TRUE' = mybool") is True
        assert value("mybool = 'TRUE'") is False
        assert value("'07' = 7") is True
        assert value("7 = '07'") is False

    def test_ordering_is_integer_only(self):
        assert value("'10' > '9'") is True  # integers, not strings
        assert error("'abc' < 1") == (True, [CastError])  # 'abc' -> 0, and 0 < 1

    def test_cast_failures(self):
        assert error("'x' + 1") == (1, [CastError])
        assert error("NOT 'yes'") == (True, [CastError])
        assert error("1 AND TRUE") == (False, [CastError])
        assert error("'1.5' + 0") == (0, [CastError])
        assert error("' 1' + 0") == (0, [CastError])
        assert error("'2147483648' + 0") == (0, [CastError])

    def test_string_to_integer_accepts_sign(self):
        assert value("'+5' + 0") == 5 and value("'-5' + 0") == -5

    def test_in(self):
        assert value("myint IN (1, '7')") is True
        assert value("myint NOT IN (1, 2)") is True
        assert value("type IN ('a', type)") is True
        assert error("myint IN ('x', 7)") == (True, [CastError])  # every element cast

    def test_like(self):
        assert value("type LIKE 'com.%.created'") is True
        assert value("type LIKE 'com._xample%'") is True
        assert value("type NOT LIKE '%deleted'") is True
        assert value("'100%' LIKE '100\\%'") is True
        assert value("'1000' LIKE '100\\%'") is False
        assert value("'a_c' LIKE 'a\\_c'") is True
        assert value("'abc' LIKE 'a\\_c'") is False
        assert value("'a\\b' LIKE 'a\\b'") is True
        assert value("'' LIKE '%'") is True
        assert value("'' LIKE '_'") is False
        assert value("'é' LIKE '_'") is True  # one character, not one byte
        assert value("'line1\nline2' LIKE 'line1%'") is True
        assert value("'aXbXc' LIKE '%X%X%'") is True
        assert value("'aXb' LIKE '%X%X%'") is False
        assert value("'abab' LIKE '%ab'") is True
        assert value("'ab' LIKE 'a%%b'") is True
        assert value("'.*' LIKE '.*'") is True
        assert value("'xx' LIKE '.*'") is False
        assert value("myint LIKE '7'") is True

    def test_like_is_linear_on_hostile_patterns(self):
        expr = compile_expression("x LIKE '" + "%a" * 30 + "%b'")
        assert expr.evaluate({"x": "a" * 20000}) == (False, [])


class TestFunctions:
    def test_string_functions(self):
        assert value("CONCAT('a', 1, TRUE)") == "a1true"
        assert value("CONCAT_WS('-', 'a', 'b')") == "a-b"
        assert value("LENGTH('ünï')") == 3
        assert value("UPPER('straße')") == "STRASSE"
        assert value("TRIM('\t\u00a0 x \u3000\n')") == "x"
        assert value("TRIM('\x1fx\x1f')") == "\x1fx\x1f"  # control characters stay
        assert value("RIGHT('abc', 0)") == ""
        assert value("LEFT('abc', 0)") == ""
        assert value("SUBSTRING('abc', 3)") == "c"
        assert value("SUBSTRING('abc', -3)") == "abc"
        assert value("SUBSTRING('abc', 2, 0)") == ""
        assert value("SUBSTRING('abc', 2, 100)") == "bc"
        assert error("SUBSTRING('abc', 4)") == ("", [FunctionEvaluationError])
        assert error("SUBSTRING('abc', 1, -1)") == ("", [FunctionEvaluationError])

    def test_casting_functions(self):
        assert value("INT('-12')") == -12
        assert value("BOOL(0)") is False and value("BOOL(-3)") is True
        assert value("STRING(-3)") == "-3"
        assert value("IS_INT('12') AND NOT IS_INT('1x')") is True
        assert value("IS_BOOL('False') AND IS_BOOL(1) AND NOT IS_BOOL('no')") is True
        assert value("INT(mystr) + 1") == 43

    def test_argument_casts(self):
        assert value("LEFT(12345, '2')") == "12"
        assert error("LEFT('abc', 'x')") == ("", [CastError])
        assert value("ABS('-5')") == 5

    def test_missing_function(self):
        assert error("NOPE(1)") == (False, [MissingFunctionError])
        assert error("ABS(1, 2)") == (False, [MissingFunctionError])
        assert error("SUBSTRING('a')") == (False, [MissingFunctionError])
        expr = compile_expression("TRUE OR NOPE()")
        assert expr.evaluate({}) == (True, [])  # short-circuited
        assert [e.kind for e in expr.static_errors] == ["missingFunction"]


class TestFilterUse:
    def test_matches_needs_boolean_true_and_no_error(self):
        assert compile_expression("myint > 5").matches(EVENT)
        assert not compile_expression("myint").matches(EVENT)  # not a Boolean
        assert not compile_expression("'true'").matches(EVENT)
        assert not compile_expression("NOT 10").matches(EVENT)  # true, but a CastError
        assert not compile_expression("nope = 1").matches(EVENT)

    def test_binary_mode_strings_work_like_structured_scalars(self):
        binary = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in EVENT.items()}
        for src in ["myint = 7", "mybool = TRUE", "myint + 1 = 8", "BOOL(mybool)"]:
            assert compile_expression(src).matches(binary), src
            assert compile_expression(src).matches(EVENT), src

    def test_bare_string_attribute_is_not_a_boolean(self):
        # binary mode carries "true" as a String; a filter needs a Boolean (spec 1.2)
        assert not compile_expression("mybool").matches({"mybool": "true"})
        assert compile_expression("mybool").matches({"mybool": True})

    def test_compiled_expression_is_reusable(self):
        expr = compile_expression("id = 'e-1'")
        results = [expr.matches({**EVENT, "id": f"e-{i}"}) for i in range(5)]
        assert results == [False, True, False, False, False]

    def test_literal_tree(self):
        assert parse("'x'") == Literal("x")


class TestUserDefinedFunctions:
    @staticmethod
    def table():
        from knpy.runtime.eventfilter.cesql.functions import BUILTINS, Function

        return BUILTINS.extended(
            [
                Function("STARTS", (str, str), None, bool, lambda a, e: a[0].startswith(a[1])),
                Function("JOINALL", (), str, str, lambda a, e: "+".join(a)),
                Function("BOOM", (), None, int, lambda a, e: 1 // 0),
                Function("LIAR", (), None, int, lambda a, e: "not an int"),
                Function("HUGE", (), None, int, lambda a, e: 2**40),
            ]
        )

    def test_user_functions_dispatch_and_cast(self):
        t = self.table()
        assert compile_expression("starts(type, 'com.')", t).evaluate(EVENT) == (True, [])
        assert compile_expression("JOINALL(1, TRUE, 'x')", t).evaluate(EVENT) == ("1+true+x", [])
        assert compile_expression("JOINALL()", t).evaluate(EVENT) == ("", [])

    def test_misbehaving_user_functions_become_function_errors(self):
        t = self.table()
        for name in ("BOOM", "LIAR", "HUGE"):
            v, errs = compile_expression(f"{name}()", t).evaluate(EVENT)
            assert (v, [type(e) for e in errs]) == (0, [FunctionEvaluationError]), name

    def test_builtins_unchanged_by_extension(self):
        self.table()
        assert compile_expression("STARTS('a', 'a')").static_errors

    def test_overload_rules(self):
        from knpy.runtime.eventfilter.cesql.functions import BUILTINS, Function

        def f(name, params, variadic=None):
            return Function(name, params, variadic, str, lambda a, e: "")

        with pytest.raises(ValueError):
            BUILTINS.extended([f("LOWER", (str,))])  # same name and arity
        with pytest.raises(ValueError):
            BUILTINS.extended([f("ABC", (str,)), f("ABC", (), str)])  # variadic too short
        with pytest.raises(ValueError):
            BUILTINS.extended([f("BAD1", ())])  # not a function identifier
        t = BUILTINS.extended([f("ABC", (str,)), f("ABC", (str, str)), f("ABC", (str,) * 3, str)])
        assert compile_expression("ABC('a', 'b', 'c', 'd')", t).evaluate({}) == ("", [])
        assert compile_expression("LOWER('A', 'B')", t).static_errors
