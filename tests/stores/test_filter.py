"""Tests of the filter_string / order_by language shared by every store."""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracklm._errors import InvalidFilter
from tracklm.stores._filter import (
    Comparison,
    OrderKey,
    like_to_regex,
    matches,
    parse_filter,
    parse_order_by,
    sort_runs,
)


@dataclass
class Run:
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str | int | None] = field(default_factory=dict)


NUMERIC_OPS = ["=", "!=", "<", "<=", ">", ">="]
NUMBERS = ["3", "-3", "+4", "2.5", ".5", "1e-3", "-2.5E+2"]


def hits(filter_string: str, run: Run) -> bool:
    return matches(run, parse_filter(filter_string))


@pytest.mark.parametrize("blank", [None, "", "   ", "\n\t"])
def test_blank_filter_parses_to_no_comparisons(blank: str | None) -> None:
    assert parse_filter(blank) == ()


@pytest.mark.parametrize(
    ("filter_string", "entity", "key", "op", "value"),
    [*[(f"metrics.acc{op}0.5", "metrics", "acc", op, 0.5) for op in NUMERIC_OPS],
     *[(f"metrics.m<{n}", "metrics", "m", "<", float(n)) for n in NUMBERS],
     ("params.k like 'v'", "params", "k", "LIKE", "v"), ("tag.k != 'v'", "tags", "k", "!=", "v"),
     ("tags.k ILike 'v'", "tags", "k", "ILIKE", "v"), ("metric.k = 1", "metrics", "k", "=", 1),
     ("param.k = '1'", "params", "k", "=", "1"), ("Metrics.k = 1", "metrics", "k", "=", 1.0),
     ("attribute.status = 'X'", "attributes", "status", "=", "X"),
     ("run.run_name = 'n'", "attributes", "run_name", "=", "n"),
     ("attributes.start_time >= 1717171717000", "attributes", "start_time", ">=", 1717171717e3),
     ("attributes.end_time < 2e3", "attributes", "end_time", "<", 2000.0),
     ("attributes.experiment_id = '0'", "attributes", "experiment_id", "=", "0"),
     ("attributes.run_id IN ('a', \"b\",'c')", "attributes", "run_id", "IN", ("a", "b", "c")),
     ("run.run_id in ('only')", "attributes", "run_id", "IN", ("only",))],
)  # fmt: skip
def test_each_operator_and_entity_parses(
    filter_string: str, entity: Any, key: str, op: str, value: Any
) -> None:
    assert parse_filter(filter_string) == (Comparison(entity, key, op, value),)


@pytest.mark.parametrize(
    ("written", "key"),
    [("a-b_c/d:e.f", "a-b_c/d:e.f"), ("`my key`", "my key"), ('"my key"', "my key"),
     ('"say ""hi"""', 'say "hi"'), ("`it's`", "it's"), ("`a = 'b' and`", "a = 'b' and")],
)  # fmt: skip
def test_keys_may_be_plain_backticked_or_double_quoted(written: str, key: str) -> None:
    assert parse_filter(f"tags.{written} = 'v'")[0].key == key


@pytest.mark.parametrize(
    ("written", "value"),
    [("'abc'", "abc"), ('"abc"', "abc"), ("''", ""), (r"'it\'s'", "it's"), ("'it''s'", "it's"),
     (r'"say \"hi\""', 'say "hi"'), ('"say ""hi"""', 'say "hi"'), (r"'back\\'", "back\\"),
     (r"'50\%'", r"50\%"), ("'a and b'", "a and b"), ("'  '", "  ")],
)  # fmt: skip
def test_string_values_unescape_quotes_and_backslashes(written: str, value: str) -> None:
    assert parse_filter(f"params.p = {written}")[0].value == value


def test_comparisons_chain_with_and_in_any_case_keeping_order() -> None:
    parsed = parse_filter("metrics.a>1 and params.b='x'AND tags.c != 'y' aNd run.status = 'S'")
    assert [(c.entity, c.key) for c in parsed] == [
        ("metrics", "a"), ("params", "b"), ("tags", "c"), ("attributes", "status")]  # fmt: skip


BAD_FILTERS = [
    ("metrics.x >> 3", "Invalid filter 'metrics.x >> 3': unexpected token '>>' at position 10;"
                       " expected one of = != < <= > >= LIKE ILIKE"),
    ("metrics.x > 1 or metrics.y > 2", "'or' at position 14: OR is not supported"),
    ("(metrics.x > 1)", "'(' at position 0: parentheses are not supported"),
    ("metrics.x > 1 and (metrics.y > 2)", "'(' at position 18: parentheses are not supported"),
    ("metrics.x LIKE 1", "'LIKE' at position 10 does not apply to metrics.x, which is a number"),
    ("attributes.start_time ILIKE '1%'", "'ILIKE' at position 22 does not apply"),
    ("params.p < 'a'", "'<' at position 9 does not apply to params.p, which is a string"),
    ("params.p IN ('a')", "'IN' at position 9 is only supported for attributes.run_id"),
    ("metrics.x = '3'", "token \"'3'\" at position 12; expected a number"),
    ("metrics.x = nan", "token 'nan' at position 12; expected a number"),
    ("params.p = 3", "token '3' at position 11; expected a quoted string"),
    ("params.p = gpt", "token 'gpt' at position 11; expected a quoted string"),
    ("attributes.artifact_uri = 'x'", "unknown attribute 'artifact_uri' at position 0"),
    ("latency > 1", "token 'latency' at position 0; expected <entity>.<key>"),
    ("bogus.x = 1", "unknown entity 'bogus' at position 0"),
    ("metrics.x", "end of input at position 9; expected one of"),
    ("metrics.x >", "end of input at position 11; expected a number"),
    ("metrics.x > 1 and", "end of input at position 17; expected <entity>.<key>"),
    ("metrics.x > 1 metrics.y > 2", "token 'metrics.y' at position 14; expected AND"),
    ("metrics.x > 1 # note", "token '#' at position 14"),
    ("params.p = 'open", "unterminated quote \"'open\" at position 11"),
    ("tags.`open = 'v'", "at position 5; expected a closing `"),
    ("tags.`` = 'v'", "empty key '``' at position 5"),
    ("tags. = 'v'", "token '=' at position 6; expected a key right after 'tags.'"),
    ("tags. `k` = 'v'", "token '`k`' at position 6; expected a key right after 'tags.'"),
    ("attributes.run_id IN 'a'", "token \"'a'\" at position 21; expected '('"),
    ("attributes.run_id IN ()", "token ')' at position 22; expected a quoted run id"),
    ("attributes.run_id IN ('a' 'b')", "token \"'b'\" at position 26; expected ',' or ')'"),
    ("attributes.run_id IN ('a', 1)", "token '1' at position 27; expected a quoted run id"),
    ("attributes.run_id IN ('a'", "end of input at position 25"),
    ("metrics.x NOT LIKE 'a'", "token 'NOT' at position 10"), ("metrics.x == 1", "'=='"),
    ("run.run_id is 'a'",
     "token 'is' at position 11; expected one of = != < <= > >= LIKE ILIKE IN"),
]  # fmt: skip


@pytest.mark.parametrize(("filter_string", "fragment"), BAD_FILTERS)
def test_bad_filter_raises_naming_token_and_position(filter_string: str, fragment: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(filter_string)
    assert str(caught.value).startswith(f"Invalid filter {filter_string!r}: ")
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    "filter_string",
    ["metrics.m != 1", "metrics.m < 1e308", "params.p != 'a'", "params.p LIKE '%'",
     "tags.t != 'a'", "tags.t ILIKE '%'", "attributes.end_time != 0", "attributes.run_name != 'x'"],
)  # fmt: skip
def test_run_lacking_the_key_matches_no_comparison_not_even_not_equal(filter_string: str) -> None:
    assert not hits(filter_string, Run(attributes={"run_id": "r", "end_time": None}))


@pytest.mark.parametrize("op", NUMERIC_OPS)
def test_nan_metric_matches_only_not_equal(op: str) -> None:
    assert hits(f"metrics.m {op} 0", Run(metrics={"m": math.nan})) is (op == "!=")


def test_metrics_compare_numerically_not_lexicographically() -> None:
    run = Run(metrics={"m": 10, "z": -0.5})
    assert hits("metrics.m > 9 and metrics.m = 10.0 and metrics.z < 0 and metrics.z >= -5e-1", run)
    assert not hits("metrics.m < 9", run)


LIKE_CASES = [  # pattern, value, matches under LIKE, matches under ILIKE
    ("gpt%", "gpt-4o", True, True), ("GPT%", "gpt-4o", False, True), ("%4o", "gpt-4o", True, True),
    ("%-%", "gpt-4o", True, True), ("%", "", True, True), ("gpt", "gpt-4o", False, False),
    ("gpt_4o", "gpt-4o", True, True), ("gpt_4o", "gpt--4o", False, False), ("_", "", False, False),
    ("a.c", "abc", False, False), ("a.c", "a.c", True, True), ("(x)*", "(x)*", True, True),
    ("(x)*", "xx", False, False), ("a+[b]$", "a+[b]$", True, True), ("^a|b", "b", False, False),
    ("a%", "a\nb", True, True), ("a_c", "a\nc", True, True), (r"50\%", "50%", True, True),
    (r"50\%", "50x", False, False), (r"a\_b", "a_b", True, True), (r"a\_b", "axb", False, False),
    ("a\\\\b", "a\\b", True, True), ("ÉTÉ", "été", False, True),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "value", "like", "ilike"), LIKE_CASES)
def test_like_is_sql_like_with_regex_metacharacters_literal(
    pattern: str, value: str, like: bool, ilike: bool
) -> None:
    assert (like_to_regex(pattern, case_sensitive=True).match(value) is not None) is like
    assert (like_to_regex(pattern, case_sensitive=False).match(value) is not None) is ilike
    quoted = "'" + pattern.replace("\\", "\\\\").replace("'", "\\'") + "'"
    run = Run(params={"p": value}, tags={"t": value})
    assert hits(f"params.p LIKE {quoted}", run) is like
    assert hits(f"tags.t ILIKE {quoted}", run) is ilike


def test_attributes_compare_as_strings_except_times() -> None:
    attributes: dict[str, str | int | None] = {"run_id": "abc", "run_name": "nightly-3"}
    attributes |= {"status": "FINISHED", "experiment_id": 0, "start_time": 1700, "end_time": None}
    run = Run(attributes=attributes)
    assert hits("attributes.status = 'FINISHED' and run.run_name LIKE 'nightly-%'", run)
    assert hits("attributes.experiment_id = '0'", run)
    assert hits("attributes.start_time > 999 and attributes.start_time < 2e3", run)
    assert not hits("attributes.start_time > 1700", run)
    assert not hits("attributes.end_time > 0", run)
    assert hits("attributes.run_id IN ('x', 'abc')", run)
    assert not hits("attributes.run_id IN ('x', 'ABC')", run)


def test_equality_is_exact_and_every_comparison_must_hold() -> None:
    run = Run(metrics={"m": 1}, params={"p": "gpt-4o"}, tags={"env": "prod"})
    assert hits("metrics.m = 1 and params.p = 'gpt-4o' and tags.env != 'Prod'", run)
    assert not hits("metrics.m = 1 and params.p = 'GPT-4o'", run)
    assert matches(run, ())


@pytest.mark.parametrize(
    ("clause", "entity", "key", "ascending"),
    [("metrics.latency_ms DESC", "metrics", "latency_ms", False),
     ("params.model", "params", "model", True), ('param."a b"', "params", "a b", True),
     ("attributes.start_time asc", "attributes", "start_time", True),
     ("tags.`my key` desc", "tags", "my key", False), ("  status  ", "attributes", "status", True),
     ("start_time", "attributes", "start_time", True),
     ("run_name DESC", "attributes", "run_name", False)],
)  # fmt: skip
def test_order_by_clause_forms(clause: str, entity: Any, key: str, ascending: bool) -> None:
    assert parse_order_by([clause]) == (OrderKey(entity, key, ascending),)


def test_order_by_none_empty_or_blank_is_default_and_a_string_is_one_clause() -> None:
    assert parse_order_by(None) == parse_order_by([]) == parse_order_by(" ") == ()
    assert parse_order_by("end_time DESC") == (OrderKey("attributes", "end_time", False),)


@pytest.mark.parametrize(
    ("clause", "fragment"),
    [("", "empty clause"), ("latency", "token 'latency' at position 0"),
     ("metrics.x up", "token 'up' at position 10; expected ASC, DESC"),
     ("metrics.x DESC ASC", "token 'ASC' at position 15"), ("bogus.x", "unknown entity 'bogus'"),
     ("attributes.bogus", "unknown attribute 'bogus'"), ("metrics.`x", "unterminated quote")],
)  # fmt: skip
def test_bad_order_by_raises_naming_token(clause: str, fragment: str) -> None:
    with pytest.raises(InvalidFilter, match=re.escape(fragment)):
        parse_order_by(["metrics.ok", clause])


def by(runs: list[Run], *clauses: str) -> list[object]:
    """Run ids in the order sort_runs puts them for these order_by clauses."""
    return [r.attributes["run_id"] for r in sort_runs(runs, parse_order_by(clauses), lambda r: r)]


def mrun(run_id: str, **metrics: float) -> Run:
    return Run(metrics=metrics, attributes={"run_id": run_id})


def test_sort_puts_nan_then_missing_last_in_both_directions() -> None:
    runs = [mrun("none"), mrun("b", m=2), mrun("nan", m=math.nan), mrun("a", m=1), mrun("c", m=3)]
    assert by(runs, "metrics.m") == ["a", "b", "c", "nan", "none"]
    assert by(runs, "metrics.m DESC") == ["c", "b", "a", "nan", "none"]


def test_sort_is_stable_for_ties_and_uses_later_keys_to_break_them() -> None:
    runs = [mrun("x1", m=1, n=5), mrun("y", m=2, n=0), mrun("x2", m=1, n=5), mrun("x0", m=1, n=9)]
    assert by(runs, "metrics.m") == ["x1", "x2", "x0", "y"]
    assert by(runs, "metrics.m DESC", "metrics.n DESC") == ["y", "x0", "x1", "x2"]


def test_sort_by_param_string_and_by_end_time_with_running_runs_last() -> None:
    runs = [Run({"p": "b"}, attributes={"run_id": "b", "end_time": 5}),
            Run({"p": "a"}, attributes={"run_id": "a", "end_time": None}),
            Run({"p": "c"}, attributes={"run_id": "c", "end_time": 1})]  # fmt: skip
    assert by(runs, "params.p DESC") == ["c", "b", "a"]
    assert by(runs, "end_time") == ["c", "b", "a"]


def test_default_order_is_newest_first_then_run_id() -> None:
    runs = [
        Run(attributes={"run_id": i, "start_time": t}) for i, t in [("b", 1), ("c", 2), ("a", 1)]
    ]
    assert by(runs) == ["c", "a", "b"]


@given(
    st.text(alphabet=string.ascii_letters + string.digits + "_-./:", min_size=1),
    st.text(alphabet=st.characters(exclude_characters="`"), min_size=1),
)
def test_plain_and_backticked_keys_parse_back(plain: str, quoted: str) -> None:
    assert parse_filter(f"tags.{plain} = 'v'")[0].key == plain
    assert parse_filter(f"tags.`{quoted}` != 'v'")[0].key == quoted
    assert parse_order_by(f"params.`{quoted}` DESC") == (OrderKey("params", quoted, False),)


@given(st.text(), st.sampled_from(["'", '"']), st.booleans())
def test_any_string_value_round_trips_through_quoting(value: str, quote: str, double: bool) -> None:
    body = value.replace("\\", "\\\\").replace(quote, quote * 2 if double else "\\" + quote)
    assert parse_filter(f"params.p = {quote}{body}{quote}")[0].value == value


@given(st.text(alphabet=st.characters(exclude_characters="%_\\")), st.text())
def test_like_without_wildcards_is_string_equality(pattern: str, other: str) -> None:
    for value in (pattern, other, pattern + "x"):
        assert (like_to_regex(pattern, True).match(value) is not None) == (value == pattern)


def like_reference(pattern: str, value: str) -> bool:
    """Textbook LIKE by recursion, for short strings."""
    if pattern[:1] == "%":
        return any(like_reference(pattern[1:], value[i:]) for i in range(len(value) + 1))
    if not pattern or not value:
        return pattern == value
    width = 2 if pattern[0] == "\\" and len(pattern) > 1 else 1
    fits = pattern[0] == "_" or pattern[width - 1] == value[0]
    return fits and like_reference(pattern[width:], value[1:])


@given(st.text(alphabet="ab%_\\", max_size=8), st.text(alphabet="ab%_\\", max_size=8))
def test_like_agrees_with_a_textbook_matcher(pattern: str, value: str) -> None:
    assert (like_to_regex(pattern, True).match(value) is not None) == like_reference(pattern, value)


def test_like_with_many_wildcards_does_not_backtrack_catastrophically() -> None:
    assert not like_to_regex("%a" * 30 + "%b", True).match("a" * 5000)
    assert like_to_regex("%a" * 30 + "%", False).match("A" * 5000)


@given(st.lists(st.none() | st.floats(allow_nan=False) | st.just(math.nan)), st.booleans())
def test_sort_orders_numbers_then_nan_then_missing(values: list[float | None], asc: bool) -> None:
    def rank(v: float | None) -> tuple[int, float]:
        return (2, 0.0) if v is None else (1, 0.0) if math.isnan(v) else (0, v if asc else -v)

    runs = [Run(metrics={} if v is None else {"m": v}) for v in values]
    out = sort_runs(runs, [OrderKey("metrics", "m", asc)], lambda r: r)
    assert [rank(r.metrics.get("m")) for r in out] == sorted(map(rank, values))
