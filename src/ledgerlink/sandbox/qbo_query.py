"""The subset of the QBO query language ledgerlink uses: tokenizer, parser and evaluator, all pure.

Grammar (keywords case-insensitive, reference §1.6)::

    SELECT ( * | COUNT(*) ) FROM <Entity>
        [ WHERE <prop> <op> <value> [ AND <prop> <op> <value> ... ] ]
        [ ORDERBY | ORDER BY <prop> [ASC|DESC] [, <prop> [ASC|DESC] ...] ]
        [ STARTPOSITION n ] [ MAXRESULTS m ]

    <op>    = | < | > | <= | >= | IN ( v, ... ) | LIKE '<pattern with %>'
    <value> 'string' (\\' and \\\\ escapes) | number | true | false
    <prop>  Name or dotted path (MetaData.LastUpdatedTime); a reference (CustomerRef) compares its value

Errors carry the service's codes: 4000 "Error parsing query" for lexical and syntax errors (``OR``,
an unterminated string, a typographic apostrophe U+2019 anywhere in the statement), 4001 "Invalid
query" for what parses but cannot run (STARTPOSITION 0, MAXRESULTS over 1000, a property that is
not queryable). The emulator resolves the entity name; this module never sees a company.

Assumptions (not settled by the reference):

- Outside U+2019, any character may appear inside a string literal; a backslash escapes the next
  character whatever it is (the reference documents ``\\'`` and ``\\\\``).
- String comparison and LIKE are case-sensitive, the stricter reading: a client that relies on
  case-insensitive matching is caught here rather than in production.
- Numeric fields compare numerically also when the literal is quoted (``TotalAmt > '300.00'``, as
  in the recorded batch cassette); all-digit strings such as ``Id`` compare as integers;
  timestamps compare as instants (a literal without offset takes the row's offset, a bare date
  means midnight).
- Without ORDERBY rows come back in ascending ``Id`` order. Rows missing an ORDERBY property
  sort first. A row missing a WHERE property never matches.
- MAXRESULTS above 1000 is refused with 4001 ("value N is too large"), mirroring the documented
  "too small" message, rather than silently capped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

PARSE_ERROR = "4000"
INVALID_QUERY = "4001"
MAX_RESULTS_LIMIT = 1000
DEFAULT_MAX_RESULTS = 100
TYPOGRAPHIC_APOSTROPHE = "\u2019"

Operator = Literal["=", "<", ">", "<=", ">=", "IN", "LIKE"]
LiteralKind = Literal["string", "number", "bool"]


class QueryError(Exception):
    """A query the service refuses: ``code`` 4000 (parse) or 4001 (invalid), with the fault texts."""

    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        self.message = "Error parsing query" if code == PARSE_ERROR else "Invalid query"
        self.detail = detail
        super().__init__(f"{self.message}: {detail}")


# ---------------------------------------------------------------------------------------------
# Tokens


TokenKind = Literal["word", "string", "number", "op", "punct", "eof"]


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # as written (for words: the identifier; for strings: the unescaped value)
    column: int
    line: int = 1

    def shown(self) -> str:
        if self.kind == "eof":
            return "<EOF>"
        if self.kind == "string":
            return "'" + self.text + "'"
        return self.text


_WORD_START = re.compile(r"[A-Za-z_]")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_OPERATORS = ("<=", ">=", "<", ">", "=")
_PUNCT = "(),*"
_SPACE = " \t\r\n"


def _shown_char(char: str) -> str:
    return char if 32 <= ord(char) < 127 else f"\\u{ord(char):04x}"


def _lexical_error(char: str | None, line: int, column: int, after: str = "") -> QueryError:
    encountered = "<EOF>" if char is None else f'"{_shown_char(char)}" ({ord(char)})'
    return QueryError(
        PARSE_ERROR,
        f"QueryParserError: Invalid content. Lexical error at line {line}, column {column}.  "
        f'Encountered: {encountered}, after : "{after}"',
    )


def tokenize(statement: str) -> list[Token]:
    """Split a statement into tokens, or raise the service's lexical error (code 4000)."""
    tokens: list[Token] = []
    i, line, line_start = 0, 1, 0
    while i < len(statement):
        char = statement[i]
        column = i - line_start + 1
        if char in _SPACE:
            if char == "\n":
                line, line_start = line + 1, i + 1
            i += 1
        elif char == "'":
            value, i = _read_string(statement, i, line, line_start)
            tokens.append(Token("string", value, column, line))
        elif _WORD_START.match(char):
            match = _WORD.match(statement, i)
            assert match is not None
            tokens.append(Token("word", match.group(), column, line))
            i = match.end()
        elif (match := _NUMBER.match(statement, i)) is not None:
            tokens.append(Token("number", match.group(), column, line))
            i = match.end()
        elif (op := next((o for o in _OPERATORS if statement.startswith(o, i)), None)) is not None:
            tokens.append(Token("op", op, column, line))
            i += len(op)
        elif char in _PUNCT:
            tokens.append(Token("punct", char, column, line))
            i += 1
        else:
            raise _lexical_error(char, line, column)
    end_column = len(statement) - line_start + 1
    tokens.append(Token("eof", "", end_column, line))
    return tokens


def _read_string(statement: str, start: int, line: int, line_start: int) -> tuple[str, int]:
    """Read a quoted literal starting at ``start``; return (unescaped value, index after it)."""
    chars: list[str] = []
    i = start + 1
    while i < len(statement):
        char = statement[i]
        if char == TYPOGRAPHIC_APOSTROPHE:
            raise _lexical_error(char, line, i - line_start + 1, statement[start:i])
        if char == "\\":
            if i + 1 >= len(statement):
                break
            escaped = statement[i + 1]
            if escaped == TYPOGRAPHIC_APOSTROPHE:
                raise _lexical_error(escaped, line, i + 1 - line_start + 1, statement[start : i + 1])
            chars.append(escaped)
            i += 2
            continue
        if char == "'":
            return "".join(chars), i + 1
        chars.append(char)
        i += 1
    raise _lexical_error(None, line, len(statement) - line_start + 1, statement[start:])


# ---------------------------------------------------------------------------------------------
# Syntax tree


@dataclass(frozen=True)
class Value:
    kind: LiteralKind
    text: str  # the unescaped string, the number as written, or "true"/"false"


@dataclass(frozen=True)
class Condition:
    prop: str
    op: Operator
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Order:
    prop: str
    descending: bool = False


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool = False
    where: tuple[Condition, ...] = ()
    order_by: tuple[Order, ...] = ()
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS

    def mentions(self, prop: str) -> bool:
        """Whether the WHERE clause filters on ``prop`` (case-insensitive)."""
        return any(c.prop.lower() == prop.lower() for c in self.where)


# ---------------------------------------------------------------------------------------------
# Parser

_CLAUSE_KEYWORDS = ("order", "orderby", "startposition", "maxresults")


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "eof":
            self.pos += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.current.kind == "word" and self.current.text.lower() in words

    def fail(self, *expected: str) -> QueryError:
        token = self.current
        detail = (
            f'QueryParserError: Encountered "{token.shown()}" at line {token.line}, column {token.column}.'
        )
        if expected:
            detail += "\nWas expecting one of:\n    " + " ...\n    ".join(expected) + " ..."
        return QueryError(PARSE_ERROR, detail)

    def keyword(self, word: str) -> None:
        if not self.at_keyword(word):
            raise self.fail(f'"{word}"')
        self.advance()

    def punct(self, char: str) -> None:
        if not (self.current.kind == "punct" and self.current.text == char):
            raise self.fail(f'"{char}"')
        self.advance()

    def identifier(self) -> str:
        if self.current.kind != "word":
            raise self.fail("<IDENTIFIER>")
        return self.advance().text

    def integer(self) -> int:
        token = self.current
        if token.kind != "number" or not token.text.lstrip("-").isdigit():
            raise self.fail("<INTEGER>")
        self.advance()
        return int(token.text)

    def parse(self) -> Query:
        self.keyword("select")
        count = self.projection()
        self.keyword("from")
        entity = self.identifier()
        where = self.where() if self.at_keyword("where") else ()
        order_by: tuple[Order, ...] = ()
        start, limit = 1, DEFAULT_MAX_RESULTS
        seen: set[str] = set()
        while self.current.kind != "eof":
            if self.at_keyword("order", "orderby") and "order" not in seen:
                seen.add("order")
                order_by = self.order_by()
            elif self.at_keyword("startposition") and "start" not in seen:
                seen.add("start")
                self.advance()
                start = _at_least_one(self.integer())
            elif self.at_keyword("maxresults") and "max" not in seen:
                seen.add("max")
                self.advance()
                limit = _at_most_limit(_at_least_one(self.integer()))
            else:
                expected = ["<EOF>"] + [f'"{k}"' for k in _CLAUSE_KEYWORDS]
                if not where and not seen:
                    expected.insert(1, '"where"')
                raise self.fail(*expected)
        return Query(entity, count, where, order_by, start, limit)

    def projection(self) -> bool:
        if self.current.kind == "punct" and self.current.text == "*":
            self.advance()
            return False
        if self.at_keyword("count"):
            self.advance()
            self.punct("(")
            self.punct("*")
            self.punct(")")
            return True
        raise self.fail('"*"', '"count"')

    def where(self) -> tuple[Condition, ...]:
        self.keyword("where")
        conditions = [self.condition()]
        while self.at_keyword("and"):
            self.advance()
            conditions.append(self.condition())
        if self.at_keyword("or"):
            raise self.fail("<EOF>", "<AND>", *(f'"{k}"' for k in _CLAUSE_KEYWORDS))
        return tuple(conditions)

    def condition(self) -> Condition:
        prop = self.identifier()
        token = self.current
        if token.kind == "op":
            self.advance()
            op: Operator = token.text  # type: ignore[assignment]
            return Condition(prop, op, (self.value(),))
        if self.at_keyword("like"):
            self.advance()
            if self.current.kind != "string":
                raise self.fail("<STRING>")
            return Condition(prop, "LIKE", (self.value(),))
        if self.at_keyword("in"):
            self.advance()
            self.punct("(")
            values = [self.value()]
            while self.current.kind == "punct" and self.current.text == ",":
                self.advance()
                values.append(self.value())
            self.punct(")")
            return Condition(prop, "IN", tuple(values))
        raise self.fail('"="', '"<"', '">"', '"<="', '">="', '"in"', '"like"')

    def value(self) -> Value:
        token = self.current
        if token.kind == "string":
            self.advance()
            return Value("string", token.text)
        if token.kind == "number":
            self.advance()
            return Value("number", token.text)
        if self.at_keyword("true", "false"):
            self.advance()
            return Value("bool", token.text.lower())
        raise self.fail("<STRING>", "<NUMBER>", '"true"', '"false"')

    def order_by(self) -> tuple[Order, ...]:
        if self.at_keyword("order"):
            self.advance()
            self.keyword("by")
        else:
            self.advance()
        orders = [self.one_order()]
        while self.current.kind == "punct" and self.current.text == ",":
            self.advance()
            orders.append(self.one_order())
        return tuple(orders)

    def one_order(self) -> Order:
        prop = self.identifier()
        descending = False
        if self.at_keyword("asc", "desc"):
            descending = self.advance().text.lower() == "desc"
        return Order(prop, descending)


def _at_least_one(value: int) -> int:
    if value < 1:
        raise QueryError(
            INVALID_QUERY, f"QueryValidationError: value {value} is too small. Min allowed value is 1"
        )
    return value


def _at_most_limit(value: int) -> int:
    if value > MAX_RESULTS_LIMIT:
        raise QueryError(
            INVALID_QUERY,
            f"QueryValidationError: value {value} is too large. Max allowed value is {MAX_RESULTS_LIMIT}",
        )
    return value


def parse(statement: str) -> Query:
    """Parse one SELECT statement, or raise :class:`QueryError` with the service's code and detail."""
    return _Parser(tokenize(statement)).parse()


# ---------------------------------------------------------------------------------------------
# Evaluation


def lookup(row: Mapping[str, Any], prop: str) -> Any:
    """The value at a (dotted, case-insensitive) property path; a reference yields its ``value``."""
    current: Any = row
    for part in prop.split("."):
        if not isinstance(current, Mapping):
            return None
        key = next((k for k in current if k.lower() == part.lower()), None)
        if key is None:
            return None
        current = current[key]
    if isinstance(current, Mapping) and "value" in current:
        return current["value"]
    return current


_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _as_instant(text: str, default_tz: tzinfo) -> datetime | None:
    try:
        if _DATE.match(text):
            return datetime.combine(date.fromisoformat(text), time(), default_tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=default_tz)


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _comparable(actual: Any, value: Value) -> tuple[Any, Any] | None:
    """Both sides converted to one comparable type, or None when they cannot be compared."""
    if isinstance(actual, bool):
        if value.text.lower() in ("true", "false"):
            return actual, value.text.lower() == "true"
        return None
    if isinstance(actual, int | float | Decimal):
        number = _as_decimal(value.text)
        return (Decimal(str(actual)), number) if number is not None else None
    if not isinstance(actual, str):
        return None
    if _DATETIME.match(actual):
        left = _as_instant(actual, UTC)
        right = _as_instant(value.text, left.tzinfo if left and left.tzinfo else UTC)
        return (left, right) if left is not None and right is not None else None
    if _is_digits(actual) and _is_digits(value.text):
        return int(actual), int(value.text)
    return actual, value.text


def _like(actual: Any, pattern: str) -> bool:
    if not isinstance(actual, str):
        return False
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, actual, flags=re.DOTALL) is not None


def _holds(row: Mapping[str, Any], condition: Condition) -> bool:
    actual = lookup(row, condition.prop)
    if actual is None:
        return False
    if condition.op == "LIKE":
        return _like(actual, condition.values[0].text)
    if condition.op == "IN":
        return any(_compare(actual, "=", v) for v in condition.values)
    return _compare(actual, condition.op, condition.values[0])


def _compare(actual: Any, op: str, value: Value) -> bool:
    pair = _comparable(actual, value)
    if pair is None:
        return False
    left, right = pair
    try:
        if op == "=":
            return bool(left == right)
        if op == "<":
            return bool(left < right)
        if op == ">":
            return bool(left > right)
        if op == "<=":
            return bool(left <= right)
        if op == ">=":
            return bool(left >= right)
    except TypeError:
        return False
    raise AssertionError(op)  # pragma: no cover


def equality_keys(actual: Any) -> tuple[Hashable, ...] | None:
    """The keys a stored value is filed under for ``=`` and ``IN``: it equals a literal (as
    :func:`_compare` has it) only if it shares a key with that literal's :func:`literal_keys`.

    None when that cannot be told without comparing (timestamps compare as instants, in a zone
    the literal may leave to the row; numbers that are not finite): such a value is a candidate
    for every literal.
    """
    if actual is None:
        return ()
    if isinstance(actual, bool):
        return (("bool", actual),)
    if isinstance(actual, int | float | Decimal):
        number = Decimal(str(actual))
        return (("number", number),) if number.is_finite() else None
    if not isinstance(actual, str):
        return ()
    if _DATETIME.match(actual):
        return None
    return (("integer", int(actual)),) if _is_digits(actual) else (("string", actual),)


def literal_keys(value: Value) -> tuple[Hashable, ...]:
    """The keys of :func:`equality_keys` under which a value equal to this literal is filed."""
    text = value.text
    keys: list[Hashable] = [("string", text)]
    if text.lower() in ("true", "false"):
        keys.append(("bool", text.lower() == "true"))
    number = _as_decimal(text)
    if number is not None and number.is_finite():
        keys.append(("number", number))
    if _is_digits(text):
        keys.append(("integer", int(text)))
    return tuple(keys)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float | Decimal):
        return (2, Decimal(str(value)))
    if isinstance(value, str):
        if _is_digits(value):
            return (2, Decimal(value))
        if _DATETIME.match(value) and (moment := _as_instant(value, UTC)) is not None:
            return (3, moment.timestamp())
        return (4, value)
    return (5, str(value))


def _ordering(prop: str) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    return lambda row: _sort_key(lookup(row, prop))


@dataclass(frozen=True)
class QueryResult:
    """What a query returns: one page of rows, and how many rows matched in all."""

    rows: list[dict[str, Any]]
    total: int
    start_position: int


def run(
    query: Query,
    rows: Iterable[Mapping[str, Any]],
    *,
    active_only_by_default: bool = False,
    queryable: Callable[[str], bool] | None = None,
) -> QueryResult:
    """Filter, order and page ``rows`` as the service would for ``query``.

    ``active_only_by_default``: the entity is a name list, so rows with ``Active`` false are left
    out unless the WHERE clause mentions ``Active``. ``queryable`` says whether a property may be
    used in WHERE/ORDERBY; a property it refuses is a 4001.
    """
    if queryable is not None:
        for prop in [c.prop for c in query.where] + [o.prop for o in query.order_by]:
            if not queryable(prop):
                raise QueryError(INVALID_QUERY, f"QueryValidationError: property '{prop}' is not queryable")
    selected = [dict(row) for row in rows if all(_holds(row, c) for c in query.where)]
    if active_only_by_default and not query.mentions("Active"):
        selected = [row for row in selected if row.get("Active", True) is True]
    selected.sort(key=lambda row: _sort_key(lookup(row, "Id")))
    for order in reversed(query.order_by):  # stable sorts, last key first
        selected.sort(key=_ordering(order.prop), reverse=order.descending)
    start = query.start_position - 1
    page = selected[start : start + query.max_results]
    return QueryResult(page, len(selected), query.start_position)
