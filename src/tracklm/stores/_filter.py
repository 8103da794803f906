r"""Parse and evaluate the ``filter_string`` and ``order_by`` of ``search_runs``, for every store.

The syntax is a subset of MLflow's search syntax. A filter is comparisons joined by AND::

    filter     := comparison ( AND comparison )*
    comparison := entity "." key op value
                | attributes.run_id IN ( string ( , string )* )
    entity     := metrics | params | tags | attributes
                  (also metric, param, tag, attribute, run; any case)
    key        := [A-Za-z0-9_\-./:]+  |  `anything but a backtick`  |  "double-quoted"
    op         := =  !=  <  <=  >  >=  LIKE  ILIKE              (keywords in any case)
    value      := 'single-quoted' | "double-quoted" | number     (-3, 0.5, 1e-3)

For example::

    metrics.latency_ms < 250 and params.model = 'gpt-4o'
    tags.`prompt version` LIKE 'v2%' AND attributes.status != 'FAILED'
    attributes.run_id IN ('3f2a', '9c1d')
    attributes.start_time >= 1717171717000

``metrics.*``, ``attributes.start_time`` and ``attributes.end_time`` (ms since the epoch) are
numbers, compared with ``= != < <= > >=`` to a number. ``params.*``, ``tags.*`` and
``attributes.run_id|run_name|status|experiment_id`` are strings, compared with
``= != LIKE ILIKE`` to a quoted string. Inside a string, a backslash before the quote character
or a backslash stands for that character, and a doubled quote for one quote. In LIKE patterns
``%`` is any run of characters, ``_`` one character and ``\`` makes the next character literal
(a SQL store must add ``ESCAPE '\'``); LIKE is case-sensitive, ILIKE is not. OR and parentheses
are not supported. A run without the key matches no comparison on it, not even ``!=``; a NaN
metric matches only ``!=``.

``order_by`` is a list of clauses ``<entity>.<key> [ASC|DESC]`` such as
``"metrics.latency_ms DESC"``; attribute names may stand alone (``"start_time DESC"``). Runs
without the key come last in either direction.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, NamedTuple, NoReturn, Protocol, TypeVar

from tracklm._errors import InvalidFilter
from tracklm.entities import Run

__all__ = [
    "Comparison",
    "Entity",
    "OrderKey",
    "RunEntityFields",
    "RunFields",
    "like_to_regex",
    "matches",
    "parse_filter",
    "parse_order_by",
    "sort_runs",
]

Entity = Literal["metrics", "params", "tags", "attributes"]
T = TypeVar("T")

_ENTITY_NAMES: tuple[Entity, ...] = ("metrics", "params", "tags", "attributes")
# MLflow's singular aliases, and "run" for attributes.
_ENTITIES: dict[str, Entity] = {name[:-1]: name for name in _ENTITY_NAMES} | {"run": "attributes"}
_ENTITIES |= {name: name for name in _ENTITY_NAMES}
_ATTRIBUTES = ("run_id", "run_name", "status", "experiment_id", "start_time", "end_time")
_NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
_ALL_OPS = (*_NUMERIC_OPS, "LIKE", "ILIKE")
_KEY_HINT = "<entity>.<key>, e.g. metrics.latency_ms or tags.`my key`"

_TOKEN = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<sq>'(?:[^'\\]|\\.|'')*')
    | (?P<dq>"(?:[^"\\]|\\.|"")*")
    | (?P<bt>`[^`]*`)
    | (?P<op>[<>=!]+)
    | (?P<punct>[(),])
    | (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![A-Za-z0-9_\-./:])
    | (?P<word>[A-Za-z0-9_\-./:]+)
    | (?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {"=": operator.eq, "!=": operator.ne}
_COMPARE |= {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_UNESCAPE = {"'": re.compile(r"\\(['\\])|''"), '"': re.compile(r'\\(["\\])|""')}


@dataclass(frozen=True)
class Comparison:
    """One ``<entity>.<key> <op> <value>`` of a filter; ``op`` is upper-case."""

    entity: Entity
    key: str
    op: str
    value: str | float | tuple[str, ...]


@dataclass(frozen=True)
class OrderKey:
    """One clause of ``order_by``."""

    entity: Entity
    key: str
    ascending: bool


class RunFields(Protocol):
    """What filtering and sorting read from a run; stores pass their own objects.

    ``metrics`` holds the latest value of each metric; ``attributes`` holds ``run_id``,
    ``run_name``, ``status``, ``experiment_id``, ``start_time`` and ``end_time`` (ms, or None).
    """

    @property
    def params(self) -> Mapping[str, str]: ...
    @property
    def metrics(self) -> Mapping[str, float]: ...
    @property
    def tags(self) -> Mapping[str, str]: ...
    @property
    def attributes(self) -> Mapping[str, str | int | None]: ...


class RunEntityFields:
    """A :class:`tracklm.entities.Run` seen as :class:`RunFields`, to filter and sort runs."""

    __slots__ = ("_run",)

    def __init__(self, run: Run) -> None:
        self._run = run

    @property
    def params(self) -> Mapping[str, str]:
        return self._run.data.params

    @property
    def metrics(self) -> Mapping[str, float]:
        return self._run.data.metrics

    @property
    def tags(self) -> Mapping[str, str]:
        return self._run.data.tags

    @property
    def attributes(self) -> Mapping[str, str | int | None]:
        info = self._run.info
        return {
            "run_id": info.run_id,
            "run_name": info.run_name,
            "status": info.status,
            "experiment_id": info.experiment_id,
            "start_time": info.start_time,
            "end_time": info.end_time,
        }


class _Token(NamedTuple):
    kind: str
    text: str
    pos: int


def _unquote(text: str) -> str:
    quote, body = text[0], text[1:-1]
    if quote == "`":
        return body
    return _UNESCAPE[quote].sub(lambda m: m.group(1) or quote, body)


def _is_numeric(entity: Entity, key: str) -> bool:
    return entity == "metrics" or (entity == "attributes" and key in _NUMERIC_ATTRIBUTES)


class _Parser:
    def __init__(self, text: str, what: str) -> None:
        self.text, self.what = text, what
        self.tokens: list[_Token] = []
        self.i = 0
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            assert m is not None  # `bad` matches any character
            assert m.lastgroup is not None
            if m.lastgroup == "bad" and m.group() in "'\"`":
                found = f"unterminated quote {text[pos:]!r} at position {pos}"
                self.error(f"{found}; expected a closing {m.group()}")
            if m.lastgroup == "bad":
                self.unexpected(_Token("bad", m.group(), pos), "a key, operator or value")
            if m.lastgroup != "ws":
                self.tokens.append(_Token(m.lastgroup, m.group(), pos))
            pos = m.end()

    def peek(self) -> _Token:
        if self.i < len(self.tokens):
            return self.tokens[self.i]
        return _Token("end", "", len(self.text))

    def next(self) -> _Token:
        tok = self.peek()
        self.i += 1
        return tok

    def error(self, message: str) -> NoReturn:
        raise InvalidFilter(f"Invalid {self.what} {self.text!r}: {message}")

    def unexpected(self, tok: _Token, expected: str) -> NoReturn:
        found = "end of input" if tok.kind == "end" else f"token {tok.text!r}"
        self.error(f"unexpected {found} at position {tok.pos}; expected {expected}")

    def reject_unsupported(self, tok: _Token) -> None:
        if tok.kind == "punct" and tok.text in ("(", ")"):
            what = "parentheses are"
        elif tok.kind == "word" and tok.text.lower() == "or":
            what = "OR is"
        else:
            return
        at = f"{tok.text!r} at position {tok.pos}"
        self.error(f"unexpected {at}: {what} not supported; expected comparisons joined by AND")

    def identifier(self, bare_ok: bool) -> tuple[Entity, str]:
        tok = self.next()
        self.reject_unsupported(tok)
        hint = _KEY_HINT + (f", or one of {' '.join(_ATTRIBUTES)}" if bare_ok else "")
        if tok.kind != "word":
            self.unexpected(tok, hint)
        head, dot, key = tok.text.partition(".")
        if not dot:
            if bare_ok and tok.text in _ATTRIBUTES:
                return "attributes", tok.text
            self.unexpected(tok, hint)
        entity = _ENTITIES.get(head.lower())
        if entity is None:
            self.error(
                f"unknown entity {head!r} at position {tok.pos};"
                " expected one of metrics, params, tags, attributes"
            )
        if not key:
            quoted = self.peek()
            if quoted.kind not in ("bt", "dq") or quoted.pos != tok.pos + len(tok.text):
                self.unexpected(quoted, f"a key right after {tok.text!r}, plain or quoted")
            self.next()
            key = _unquote(quoted.text)
            if not key:
                self.error(
                    f"empty key {quoted.text!r} at position {quoted.pos}; expected a key name"
                )
        if entity == "attributes" and key not in _ATTRIBUTES:
            self.error(
                f"unknown attribute {key!r} at position {tok.pos};"
                f" expected one of {' '.join(_ATTRIBUTES)}"
            )
        return entity, key

    def comparison(self) -> Comparison:
        entity, key = self.identifier(bare_ok=False)
        name, numeric = f"{entity}.{key}", _is_numeric(entity, key)
        can_in = entity == "attributes" and key == "run_id"
        tok = self.next()
        op = tok.text.upper() if tok.kind == "word" else tok.text
        if tok.kind not in ("op", "word") or op not in (*_ALL_OPS, "IN"):
            self.unexpected(tok, "one of " + " ".join((*_ALL_OPS, "IN") if can_in else _ALL_OPS))
        allowed = _NUMERIC_OPS if numeric else _STRING_OPS
        if op == "IN" and not can_in:
            self.error(
                f"{tok.text!r} at position {tok.pos} is only supported for attributes.run_id;"
                f" expected one of {' '.join(allowed)}"
            )
        if op != "IN" and op not in allowed:
            self.error(
                f"operator {tok.text!r} at position {tok.pos} does not apply to {name}, which is"
                f" a {'number' if numeric else 'string'}; expected one of {' '.join(allowed)}"
            )
        if op == "IN":
            return Comparison(entity, key, op, self.string_list())
        tok = self.next()
        if numeric:
            if tok.kind != "num":
                self.unexpected(tok, f"a number to compare {name} with")
            return Comparison(entity, key, op, float(tok.text))
        if tok.kind not in ("sq", "dq"):
            self.unexpected(tok, f"a quoted string to compare {name} with, e.g. 'abc'")
        return Comparison(entity, key, op, _unquote(tok.text))

    def string_list(self) -> tuple[str, ...]:
        tok = self.next()
        if tok.text != "(" or tok.kind != "punct":
            self.unexpected(tok, "'(' to open the list of run ids")
        values: list[str] = []
        while True:
            tok = self.next()
            if tok.kind not in ("sq", "dq"):
                self.unexpected(tok, "a quoted run id")
            values.append(_unquote(tok.text))
            tok = self.next()
            if tok.kind == "punct" and tok.text == ")":
                return tuple(values)
            if tok.kind != "punct" or tok.text != ",":
                self.unexpected(tok, "',' or ')'")


def parse_filter(filter_string: str | None) -> tuple[Comparison, ...]:
    """Parse a ``filter_string``; ``None`` or blank means no filter. Raises InvalidFilter."""
    if filter_string is None or not filter_string.strip():
        return ()
    parser = _Parser(filter_string, "filter")
    comparisons = [parser.comparison()]
    while (tok := parser.next()).kind != "end":
        if tok.kind != "word" or tok.text.lower() != "and":
            parser.reject_unsupported(tok)
            parser.unexpected(tok, "AND or the end of the filter")
        comparisons.append(parser.comparison())
    return tuple(comparisons)


def parse_order_by(order_by: Sequence[str] | str | None) -> tuple[OrderKey, ...]:
    """Parse ``order_by`` clauses; ``None``, ``[]`` or a blank string means the default order."""
    if order_by is None or (isinstance(order_by, str) and not order_by.strip()):
        return ()
    keys: list[OrderKey] = []
    for clause in [order_by] if isinstance(order_by, str) else order_by:
        parser = _Parser(clause, "order_by clause")
        if parser.peek().kind == "end":
            parser.error("empty clause; expected <entity>.<key> [ASC|DESC]")
        entity, key = parser.identifier(bare_ok=True)
        tok = parser.next()
        ascending = True
        if tok.kind == "word" and tok.text.upper() in ("ASC", "DESC"):
            ascending = tok.text.upper() == "ASC"
            tok = parser.next()
            if tok.kind != "end":
                parser.unexpected(tok, "the end of the clause")
        elif tok.kind != "end":
            parser.unexpected(tok, "ASC, DESC or the end of the clause")
        keys.append(OrderKey(entity, key, ascending))
    return tuple(keys)


def like_to_regex(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    r"""Compile a SQL LIKE pattern (``%``, ``_``, ``\`` escapes) to a regex for whole strings."""
    return _compile_like(pattern, case_sensitive)


@lru_cache(maxsize=256)
def _compile_like(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    segments = [""]  # the pattern split at each unescaped %: literals and _ (any one character)
    chars = iter(pattern)
    for char in chars:
        if char == "%":
            segments.append("")
        else:
            literal = next(chars, "\\") if char == "\\" else char
            segments[-1] += "." if char == "_" else re.escape(literal)
    regex = segments[0]
    if len(segments) > 1:
        # A plain .*a.*a.*b backtracks polynomially (exponent = number of %). Instead each
        # middle segment is matched atomically at its leftmost place (lookahead capture, then
        # backreference); leftmost is always right since segments have a fixed length.
        for i, segment in enumerate(filter(None, segments[1:-1])):
            regex += f"(?=(?P<s{i}>.*?{segment}))(?P=s{i})"
        regex += ".*" + segments[-1]
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return re.compile(rf"\A{regex}\Z", flags)


def _field(run: RunFields, entity: Entity, key: str) -> str | float | None:
    """The run's value for ``entity.key`` as a float or a str; None when the run lacks it."""
    value: str | float | None
    if entity == "metrics":
        value = run.metrics.get(key)
    elif entity == "attributes":
        value = run.attributes.get(key)
    else:
        value = (run.params if entity == "params" else run.tags).get(key)
    if value is None:
        return None
    return float(value) if _is_numeric(entity, key) else str(value)


def _holds(run: RunFields, c: Comparison) -> bool:
    left, right = _field(run, c.entity, c.key), c.value
    if left is None:
        return False
    if isinstance(right, tuple):
        return left in right
    if c.op in ("LIKE", "ILIKE"):
        return like_to_regex(str(right), c.op == "LIKE").match(str(left)) is not None
    if isinstance(left, float) != isinstance(right, (int, float)):
        return False
    # With NaN on either side these give False, except != which gives True: MLflow's rule.
    return _COMPARE[c.op](left, right)


def matches(run: RunFields, comparisons: Sequence[Comparison]) -> bool:
    """Whether the run satisfies every comparison (True for none)."""
    return all(_holds(run, c) for c in comparisons)


_DEFAULT_ORDER = (
    OrderKey("attributes", "start_time", False),
    OrderKey("attributes", "run_id", True),
)


def sort_runs(
    runs: Iterable[T], order: Sequence[OrderKey], fields: Callable[[T], RunFields]
) -> list[T]:
    """Stable sort; runs missing an order key go last whatever the direction (as MLflow);
    with no order keys, order by start_time DESC then run_id."""
    rows = [(fields(run), run) for run in runs]
    # One stable pass per key, least significant first. NaN metrics sort after numbers but
    # before runs lacking the metric, in either direction, as in MLflow's SQL store.
    for key in reversed(order or _DEFAULT_ORDER):
        present: list[tuple[str | float, tuple[RunFields, T]]] = []
        nan: list[tuple[RunFields, T]] = []
        missing: list[tuple[RunFields, T]] = []
        for row in rows:
            value = _field(row[0], key.entity, key.key)
            if value is None:
                missing.append(row)
            elif isinstance(value, float) and math.isnan(value):
                nan.append(row)
            else:
                present.append((value, row))
        present.sort(key=lambda item: item[0], reverse=not key.ascending)
        rows = [row for _, row in present] + nan + missing
    return [run for _, run in rows]
