"""The small Kusto (KQL) subset the simulator's Resource Graph understands.

Supported::

    <table> | union <table>[, <table>...]        tables: resources, resourcecontainers,
    union <table>, <table>...                          authorizationresources, policyresources
    | where <cond> [and|or <cond>...]             cond: field ==|=~|!=|!~ 'text'
                                                        field in|in~|!in|!in~ ('a', 'b')
                                                        ( cond ... )
    | order by id [asc]   (also "sort by")        results are always sorted by id
    | project f1, f2, ...                         top-level columns or dotted paths
    | take N   /  | limit N

Fields are top-level columns (type, id, name, location, resourceGroup, subscriptionId, ...)
or dotted paths such as ``properties.allowBlobPublicAccess``. Anything else is rejected
with a :class:`KqlError`, which the API turns into Azure's InvalidQuery error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TABLES = ("resources", "resourcecontainers", "authorizationresources", "policyresources")

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<num>\d+)"
    r"|(?P<op>!in~|in~|==|=~|!=|!~|[|(),])|(?P<ident>!?[A-Za-z_][A-Za-z0-9_.]*))"
)

RowGetter = Callable[[], dict[str, Any]]
Predicate = Callable[[str, Any, RowGetter], bool]


class KqlError(ValueError):
    """The query uses syntax outside the supported subset."""

    def __init__(self, message: str, position: int = 0, token: str = "") -> None:
        super().__init__(message)
        self.position = position
        self.token = token


@dataclass
class Query:
    """A parsed query: which tables, an optional filter, projection and row limit."""

    tables: list[str]
    where: Predicate | None = None
    project: list[str] | None = None
    limit: int | None = None
    meta_only: bool = True
    text: str = ""
    fields_used: list[str] = field(default_factory=list)


@dataclass
class _Tok:
    kind: str
    value: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise KqlError(f"Unexpected character at position {pos}", pos, text[pos : pos + 10])
        kind = match.lastgroup or ""
        tokens.append(_Tok(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


def field_value(row: dict[str, Any], path: str) -> Any:
    """Resolve a dotted path in a row (case-insensitive at the top level, as KQL columns)."""
    current: Any = row
    for n, part in enumerate(path.split(".")):
        if not isinstance(current, dict):
            return None
        if n == 0 and part not in current:
            lowered = {k.lower(): k for k in current}
            part = lowered.get(part.lower(), part)
        current = current.get(part)
    return current


def _compare(value: Any, op: str, literals: list[str]) -> bool:
    text = "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
    if op in ("=~", "in~", "!~", "!in~"):
        hit = text.lower() in {lit.lower() for lit in literals}
    else:
        hit = text in literals
    return not hit if op.startswith("!") else hit


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.fields: list[str] = []

    def peek(self, offset: int = 0) -> _Tok | None:
        index = self.i + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def fail(self, what: str) -> KqlError:
        tok = self.peek()
        if tok is None:
            return KqlError(f"Query is incomplete: expected {what}", len(self.text), "<EOF>")
        return KqlError(f"Expected {what} but found '{tok.value}'", tok.pos, tok.value)

    def take(self, kind: str, value: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None or tok.kind != kind or (value is not None and tok.value.lower() != value):
            raise self.fail(value or kind)
        self.i += 1
        return tok

    def at_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "ident" and tok.value.lower() == word

    def table_list(self) -> list[str]:
        tables = [self.table()]
        while self.peek() and self.peek().value == ",":  # type: ignore[union-attr]
            self.i += 1
            tables.append(self.table())
        return tables

    def table(self) -> str:
        tok = self.take("ident")
        name = tok.value.lower()
        if name not in TABLES:
            raise KqlError(f"Table '{tok.value}' is not supported", tok.pos, tok.value)
        return name

    def parse(self) -> Query:
        if self.at_word("union"):
            self.i += 1
            query = Query(tables=self.table_list())
        else:
            query = Query(tables=[self.table()])
        while self.peek() is not None:
            self.take("op", "|")
            self.operator(query)
        query.text = self.text
        query.fields_used = self.fields
        query.meta_only = all(f.lower() in ("type", "subscriptionid") for f in self.fields)
        return query

    def operator(self, query: Query) -> None:
        tok = self.take("ident")
        word = tok.value.lower()
        if word == "union":
            query.tables.extend(t for t in self.table_list() if t not in query.tables)
        elif word == "where":
            cond = self.expression()
            previous = query.where
            query.where = cond if previous is None else _and(previous, cond)
        elif word in ("order", "sort"):
            self.take("ident", "by")
            column = self.take("ident")
            if column.value.lower() != "id":
                raise KqlError("Only 'order by id' is supported", column.pos, column.value)
            if self.at_word("asc"):
                self.i += 1
            elif self.at_word("desc"):
                raise KqlError("Only ascending order is supported", self.peek().pos, "desc")  # type: ignore[union-attr]
        elif word == "project":
            names = [self.take("ident").value]
            while self.peek() and self.peek().value == ",":  # type: ignore[union-attr]
                self.i += 1
                names.append(self.take("ident").value)
            query.project = names
        elif word in ("take", "limit"):
            query.limit = int(self.take("num").value)
        else:
            raise KqlError(f"Operator '{tok.value}' is not supported", tok.pos, tok.value)

    def expression(self) -> Predicate:
        left = self.conjunction()
        while self.at_word("or"):
            self.i += 1
            left = _or(left, self.conjunction())
        return left

    def conjunction(self) -> Predicate:
        left = self.condition()
        while self.at_word("and"):
            self.i += 1
            left = _and(left, self.condition())
        return left

    def condition(self) -> Predicate:
        tok = self.peek()
        if tok is not None and tok.value == "(":
            self.i += 1
            inner = self.expression()
            self.take("op", ")")
            return inner
        column = self.take("ident").value
        self.fields.append(column)
        op_tok = self.peek()
        if op_tok is None:
            raise self.fail("a comparison operator")
        op = op_tok.value.lower()
        if op in ("==", "=~", "!=", "!~"):
            self.i += 1
            literals = [self.literal()]
        elif op in ("in", "in~", "!in", "!in~"):
            self.i += 1
            self.take("op", "(")
            literals = [self.literal()]
            while self.peek() and self.peek().value == ",":  # type: ignore[union-attr]
                self.i += 1
                literals.append(self.literal())
            self.take("op", ")")
        else:
            raise self.fail("a comparison operator (==, =~, !=, !~, in, in~)")
        return _condition(column, op.replace("!=", "!in").replace("==", "in"), literals)

    def literal(self) -> str:
        tok = self.take("str")
        return (
            bytes(tok.value[1:-1], "utf-8").decode("unicode_escape")
            if "\\" in tok.value
            else tok.value[1:-1]
        )


def _condition(column: str, op: str, literals: list[str]) -> Predicate:
    lowered = column.lower()
    if op == "=~":
        op = "in~"
    elif op == "!~":
        op = "!in~"

    def predicate(key: str, meta: Any, get_row: RowGetter) -> bool:
        if lowered == "type":
            value: Any = meta.type
        elif lowered == "subscriptionid":
            value = meta.subscription
        elif lowered == "id" and "~" in op:
            value = key
        else:
            value = field_value(get_row(), column)
        return _compare(value, op, literals)

    return predicate


def _and(left: Predicate, right: Predicate) -> Predicate:
    return lambda key, meta, get_row: left(key, meta, get_row) and right(key, meta, get_row)


def _or(left: Predicate, right: Predicate) -> Predicate:
    return lambda key, meta, get_row: left(key, meta, get_row) or right(key, meta, get_row)


def parse(text: str) -> Query:
    """Parse ``text``; raises :class:`KqlError` for anything outside the subset."""
    if not text or not text.strip():
        raise KqlError("The query is empty", 0, "")
    return _Parser(text).parse()
