"""The subset of Xero's ``where=`` / ``order=`` language the emulator understands (reference §1).

Grammar (case-insensitive keywords)::

    expr    := term (("OR" | "||") term)*
    term    := factor (("AND" | "&&") factor)*
    factor  := "(" expr ")" | "NOT" factor | field op value | field "." method "(" string ")"
    field   := Name ("." Name)*                 e.g. Contact.ContactID
    op      := == | != | > | < | >= | <=        (also a single "=", as in AccountID=GUID("…"))
    value   := "string" | number | true | false | null
             | DateTime(y, m, d) | DateTime(y, m, d, h, mi, s) | Guid("…") | GUID("…")
    method  := Contains | StartsWith | EndsWith

Assumptions: string comparisons are case-sensitive (the stricter reading; a client that works
here works on a case-insensitive server too); a field the record does not have compares as null;
an unparsable expression is refused with :class:`QueryError` (the emulator answers 400).
``order=`` is ``Field [ASC|DESC]`` separated by commas.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]


class QueryError(ValueError):
    """A ``where`` or ``order`` the emulator cannot parse."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>==|!=|>=|<=|&&|\|\||[<>=(),.!])
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise QueryError(f"cannot parse where clause at {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.fields: set[str] = set()  # the first name of every field path tested, lower case

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1].lower() != value.lower()):
            raise QueryError(f"expected {value or 'more'} in where clause")
        self.pos += 1
        return token

    def at(self, *values: str) -> bool:
        token = self.peek()
        return token is not None and token[1].lower() in {v.lower() for v in values}

    def expr(self) -> Predicate:
        left = self.term()
        while self.at("or", "||"):
            self.take()
            right, before = self.term(), left
            left = _either(before, right)
        return left

    def term(self) -> Predicate:
        left = self.factor()
        while self.at("and", "&&"):
            self.take()
            right, before = self.factor(), left
            left = _both(before, right)
        return left

    def factor(self) -> Predicate:
        if self.at("("):
            self.take("(")
            inner = self.expr()
            self.take(")")
            return inner
        if self.at("not", "!"):
            self.take()
            negated = self.factor()
            return lambda record: not negated(record)
        path = [self.take_name()]
        self.fields.add(path[0].lower())
        while self.at("."):
            self.take(".")
            path.append(self.take_name())
        if path[-1].lower() in ("contains", "startswith", "endswith") and self.at("("):
            method = path.pop().lower()
            self.take("(")
            needle = self.value()
            self.take(")")
            return _text_test(path, method, needle)
        token = self.take()
        if token[0] != "op" or token[1] not in ("==", "!=", ">", "<", ">=", "<=", "="):
            raise QueryError(f"expected a comparison after {'.'.join(path)}")
        return _compare(path, "==" if token[1] == "=" else token[1], self.value())

    def take_name(self) -> str:
        kind, text = self.take()
        if kind != "name":
            raise QueryError(f"expected a field name, got {text!r}")
        return text

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return bytes(text[1:-1], "utf-8").decode("unicode_escape")
        if kind == "number":
            return Decimal(text)
        if kind == "name":
            lowered = text.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            if lowered == "null":
                return None
            if lowered in ("datetime", "guid"):
                self.take("(")
                args: list[Any] = [self.value()]
                while self.at(","):
                    self.take(",")
                    args.append(self.value())
                self.take(")")
                if lowered == "guid":
                    return str(args[0]).lower()
                numbers = [int(a) for a in args]
                if len(numbers) == 3:
                    return date(*numbers)
                while len(numbers) < 6:
                    numbers.append(0)
                return datetime(numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5])
        raise QueryError(f"unexpected {text!r} in where clause")


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda record: a(record) or b(record)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda record: a(record) and b(record)


def field_value(record: Mapping[str, Any], path: list[str]) -> Any:
    """The value at a dotted path, matching names case-insensitively; None when absent."""
    value: Any = record
    for name in path:
        if not isinstance(value, Mapping):
            return None
        matches = [k for k in value if str(k).lower() == name.lower()]
        value = value[matches[0]] if matches else None
    return value


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, datetime) and type(right) is date:
        return left.date(), right
    if type(left) is date and isinstance(right, datetime):
        return datetime(left.year, left.month, left.day), right.replace(tzinfo=None)
    if isinstance(left, int | float) and not isinstance(left, bool):
        return Decimal(str(left)), right
    if isinstance(left, str) and isinstance(right, str) and len(right) == 36 and right.count("-") == 4:
        return left.lower(), right  # a GUID
    return left, right


def _compare(path: list[str], op: str, expected: Any) -> Predicate:
    def test(record: Mapping[str, Any]) -> bool:
        actual, wanted = _comparable(field_value(record, path), expected)
        if op == "==":
            return bool(actual == wanted)
        if op == "!=":
            return bool(actual != wanted)
        if actual is None or wanted is None:
            return False
        try:
            if op == ">":
                return bool(actual > wanted)
            if op == "<":
                return bool(actual < wanted)
            if op == ">=":
                return bool(actual >= wanted)
            return bool(actual <= wanted)
        except TypeError:
            raise QueryError(f"cannot compare {'.'.join(path)} with {expected!r}") from None

    return test


def _text_test(path: list[str], method: str, needle: Any) -> Predicate:
    if not isinstance(needle, str):
        raise QueryError(f"{method} needs a string")

    def test(record: Mapping[str, Any]) -> bool:
        actual = field_value(record, path)
        if not isinstance(actual, str):
            return False
        if method == "contains":
            return needle in actual
        if method == "startswith":
            return actual.startswith(needle)
        return actual.endswith(needle)

    return test


def parse_where(text: str) -> Predicate:
    """A predicate over records (plain values: str, Decimal, date, datetime, bool) for ``where=``."""
    return parse_where_fields(text)[0]


def parse_where_fields(text: str) -> tuple[Predicate, frozenset[str]]:
    """:func:`parse_where`, and the fields it tests (the first name of each path, lower case)."""
    parser = _Parser(text)
    predicate = parser.expr()
    if parser.peek() is not None:
        raise QueryError(f"unexpected {parser.peek()[1]!r} in where clause")  # type: ignore[index]
    return predicate, frozenset(parser.fields)


def order_fields(order: str) -> frozenset[str]:
    """The fields an ``order=`` sorts by (the first name of each path, lower case)."""
    return frozenset(part.split()[0].split(".")[0].lower() for part in order.split(",") if part.strip())


def sort_records(records: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    """Records sorted by ``order=`` (``Field [ASC|DESC]``, comma-separated; later keys weaker)."""
    result = list(records)
    for part in reversed([p.strip() for p in order.split(",") if p.strip()]):
        words = part.split()
        if len(words) > 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
            raise QueryError(f"cannot parse order {part!r}")
        path = words[0].split(".")
        descending = len(words) == 2 and words[1].upper() == "DESC"

        def key(record: Mapping[str, Any], path: list[str] = path) -> tuple[bool, Any]:
            value = field_value(record, path)
            return (value is None, value if value is not None else "")

        result.sort(key=key, reverse=descending)
    return result


__all__ = [
    "Predicate",
    "QueryError",
    "field_value",
    "order_fields",
    "parse_where",
    "parse_where_fields",
    "sort_records",
]
