"""The Kusto (KQL) subset the simulator's Resource Graph understands, strict where Azure is.

Resource Graph's own rules (MicrosoftDocs/azure-docs, ``articles/governance/resource-graph/
concepts/query-language.md``) are enforced first, with the error codes Azure answers::

    T | union [kind=inner|outer] [withsource=Col] Table     one table per union; at most 3
    T | union [kind=...] [withsource=...] (Table | where ...)  legs; across tables only
                                                               Resources + ResourceContainers
    | join [kind=innerunique|inner|leftouter|fullouter] ...   at most 3; one cross-table join
                                                               (3 if all Resources<->Containers)
    | mv-expand ... [limit N]                                 at most 3; RowLimit at most 400

A leading ``union A, B`` or a comma list of tables, ``isfuzzy``, join flavours such as
leftsemi, join hints (custom strategies) and unknown tables are refused as Azure refuses
them. Queries within the rules that the simulator cannot evaluate (join, mv-expand) are
refused with the code ``NotSupportedBySimulator``, never answered wrongly.

Evaluated::

    <table> [| union ...]                         tables: Resource Graph's documented tables
    | where <cond> [and|or <cond>...]             cond: field ==|=~|!=|!~ 'text'
                                                        field in|in~|!in|!in~ ('a', 'b')
                                                        todatetime(field) >|>=|<|<= datetime(...)
                                                        ( cond ... )
    | order by id [asc]   (also "sort by")        results are always sorted by id
    | project f1, f2, ...                         top-level columns or dotted paths
    | take N   /  | limit N

A ``where`` before a union filters only the legs before it, one after filters all legs.
A time comparison takes the form Azure's own change-table examples use: the dynamic
column converted with ``todatetime()`` against a ``datetime(...)`` literal (ISO 8601).
Fields are top-level columns (type, id, name, location, resourceGroup, subscriptionId, ...)
or dotted paths such as ``properties.allowBlobPublicAccess``. Anything else is rejected
with a :class:`KqlError`, which the API turns into Azure's 400 error body.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Tables the simulator fills; the other documented tables exist but are empty here.
TABLES = (
    "resources",
    "resourcecontainers",
    "authorizationresources",
    "policyresources",
    "resourcechanges",
    "resourcecontainerchanges",
)
CHANGE_TABLES = frozenset({"resourcechanges", "resourcecontainerchanges"})
DOCUMENTED_TABLES = frozenset(
    {
        *TABLES,
        "advisorresources",
        "alertsmanagementresources",
        "appserviceresources",
        "awsresources",
        "azurebusinesscontinuityresources",
        "chaosresources",
        "communitygalleryresources",
        "computeresources",
        "desktopvirtualizationresources",
        "dnsresources",
        "edgeorderresources",
        "elasticsanresources",
        "extendedlocationresources",
        "featureresources",
        "guestconfigurationresources",
        "healthresourcechanges",
        "healthresources",
        "insightsresources",
        "iotsecurityresources",
        "kubernetesconfigurationresources",
        "kustoresources",
        "maintenanceresources",
        "managedservicesresources",
        "migrateresources",
        "networkresources",
        "orbitalresources",
        "patchassessmentresources",
        "patchinstallationresources",
        "recoveryservicesresources",
        "resourcechanges",
        "resourcecontainerchanges",
        "securityresources",
        "servicefabricresources",
        "servicehealthresources",
        "spotresources",
        "supportresources",
        "tagsresources",
    }
)
CROSS_TABLE = frozenset({"resources", "resourcecontainers"})
MAX_UNION_LEGS = 3
MAX_JOINS = 3
MAX_MV_EXPANDS = 3
MAX_MV_EXPAND_ROWS = 400
JOIN_FLAVORS = ("innerunique", "inner", "leftouter", "fullouter")
_FLAVOR_NAMES = {
    "leftsemi": "LeftSemi",
    "leftanti": "LeftAnti",
    "leftantisemi": "LeftAntiSemi",
    "rightsemi": "RightSemi",
    "rightanti": "RightAnti",
    "rightantisemi": "RightAntiSemi",
    "rightouter": "RightOuter",
}

# Error codes in Resource Graph's 400 details. Seen in Azure's answers: ParserFailure,
# DisallowedLogicalTableName, UnsupportedJoinFlavor, DisallowedMaxNumberOfRemoteTables.
# The others name a documented rule whose exact code we have not seen.
PARSER_FAILURE = "ParserFailure"
BAD_TABLE = "DisallowedLogicalTableName"
BAD_JOIN_FLAVOR = "UnsupportedJoinFlavor"
TOO_MANY_TABLES = "DisallowedMaxNumberOfRemoteTables"
BAD_UNION = "UnsupportedUnionUsage"
BAD_OPERATOR_USE = "UnsupportedOperatorUsage"
SIMULATOR_ONLY = "NotSupportedBySimulator"

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<num>\d+)"
    r"|(?P<dt>datetime\(\s*[0-9][0-9:.TZ +-]*\))"
    r"|(?P<op>!in~|in~|==|=~|!=|!~|>=|<=|[|(),=<>])"
    r"|(?P<ident>(?:mv|project)-[a-z]+|!?[A-Za-z_$][A-Za-z0-9_.$]*))"
)

RowGetter = Callable[[], dict[str, Any]]
Predicate = Callable[[str, Any, RowGetter], bool]


class KqlError(ValueError):
    """The query breaks Resource Graph's rules or leaves the simulator's subset.

    ``code`` is the detail code of Azure's 400 answer (see the constants above).
    """

    def __init__(
        self, message: str, position: int = 0, token: str = "", code: str = PARSER_FAILURE
    ) -> None:
        super().__init__(message)
        self.position = position
        self.token = token
        self.code = code


@dataclass
class Query:
    """A parsed query: its union legs, a filter per leg, projection and row limit."""

    tables: list[str]
    where: Predicate | None = None
    project: list[str] | None = None
    limit: int | None = None
    meta_only: bool = True
    text: str = ""
    fields_used: list[str] = field(default_factory=list)
    withsource: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    leg_where: dict[str, Predicate | None] = field(default_factory=dict)
    joins: list[tuple[str, str, int]] = field(default_factory=list)
    mv_expands: int = 0


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

    def table(self) -> tuple[str, str]:
        """A table name: (lower-cased, as written)."""
        tok = self.take("ident")
        name = tok.value.lower()
        if name not in DOCUMENTED_TABLES:
            raise KqlError(
                f"Table {tok.value} is invalid, unsupported or disallowed.",
                tok.pos,
                tok.value,
                BAD_TABLE,
            )
        return name, tok.value

    def parse(self) -> Query:
        if self.at_word("union"):
            tok = self.peek()
            raise KqlError(
                "A union must follow its input table: 'T | union [kind=inner|outer] "
                "[withsource=Column] Table'.",
                tok.pos,  # type: ignore[union-attr]
                "union",
                BAD_UNION,
            )
        name, label = self.table()
        query = Query(tables=[name], labels={name: label}, leg_where={name: None})
        while self.peek() is not None:
            self.take("op", "|")
            self.operator(query)
        self.check_limits(query)
        if query.joins or query.mv_expands:
            raise KqlError(
                "The query is within Resource Graph's limits, but the simulator does not "
                "evaluate join or mv-expand.",
                0,
                "join" if query.joins else "mv-expand",
                SIMULATOR_ONLY,
            )
        query.text = self.text
        query.fields_used = self.fields
        query.meta_only = all(f.lower() in ("type", "subscriptionid") for f in self.fields)
        query.where = _leg_dispatch(query)
        return query

    def check_limits(self, query: Query) -> None:
        """Resource Graph's documented per-query limits on union legs, joins and mv-expand."""
        if len(query.tables) > MAX_UNION_LEGS:
            raise KqlError(
                f"At most {MAX_UNION_LEGS} union legs are allowed in a query; this one has "
                f"{len(query.tables)}.",
                0,
                "union",
                TOO_MANY_TABLES,
            )
        if len(query.joins) > MAX_JOINS:
            raise KqlError(
                f"At most {MAX_JOINS} join operators are allowed in a query.",
                query.joins[MAX_JOINS][2],
                "join",
                TOO_MANY_TABLES,
            )
        cross = [(left, right) for left, right, _pos in query.joins if left != right]
        if len(cross) > 1 and not all({a, b} <= CROSS_TABLE for a, b in cross):
            raise KqlError(
                "Only one cross-table join is allowed in a query, unless every cross-table "
                "join is between Resources and ResourceContainers.",
                0,
                "join",
                TOO_MANY_TABLES,
            )
        if query.mv_expands > MAX_MV_EXPANDS:
            raise KqlError(
                f"At most {MAX_MV_EXPANDS} mv-expand operators are allowed in a query.",
                0,
                "mv-expand",
                BAD_OPERATOR_USE,
            )

    def operator(self, query: Query) -> None:
        tok = self.take("ident")
        word = tok.value.lower()
        if word == "union":
            self.union(query, tok)
        elif word == "where":
            cond = self.expression()
            for table in query.tables:
                previous = query.leg_where[table]
                query.leg_where[table] = cond if previous is None else _and(previous, cond)
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
        elif word == "join":
            self.join(query, tok)
        elif word in ("mv-expand", "mvexpand"):
            self.mv_expand(query)
        else:
            raise KqlError(f"Operator '{tok.value}' is not supported", tok.pos, tok.value)

    def union(self, query: Query, at: _Tok) -> None:
        """``union [kind=inner|outer] [withsource=Col] (Table | (Table | where ...))``."""
        if query.project is not None or query.limit is not None:
            raise KqlError(
                "The simulator evaluates 'project' and 'take' only after the last union.",
                at.pos,
                "union",
                SIMULATOR_ONLY,
            )
        while self.peek() is not None and self.peek().kind == "ident":  # type: ignore[union-attr]
            option = self.peek().value.lower()  # type: ignore[union-attr]
            nxt = self.peek(1)
            if nxt is None or nxt.value != "=":
                break
            self.i += 2
            if option == "kind":
                kind = self.take("ident")
                if kind.value.lower() not in ("inner", "outer"):
                    raise KqlError(
                        f"Union kind '{kind.value}' is not supported; use inner or outer.",
                        kind.pos,
                        kind.value,
                        BAD_UNION,
                    )
            elif option == "withsource":
                query.withsource = self.take("ident").value
            elif option == "isfuzzy":
                raise KqlError(
                    "Fuzzy resolution of union leg tables isn't allowed.",
                    nxt.pos,
                    "isfuzzy",
                    BAD_UNION,
                )
            else:
                raise KqlError(f"Unknown union parameter '{option}'", nxt.pos, option)
        tok = self.peek()
        cond: Predicate | None = None
        if tok is not None and tok.value == "(":
            self.i += 1
            name, label = self.table()
            while self.peek() is not None and self.peek().value == "|":  # type: ignore[union-attr]
                self.i += 1
                self.take("ident", "where")
                inner = self.expression()
                cond = inner if cond is None else _and(cond, inner)
            self.take("op", ")")
        else:
            name, label = self.table()
        if self.peek() is not None and self.peek().value == ",":  # type: ignore[union-attr]
            raise KqlError(
                "A single table is allowed per union: 'T | union [kind=inner|outer] "
                "[withsource=Column] Table'.",
                self.peek().pos,  # type: ignore[union-attr]
                ",",
                BAD_UNION,
            )
        main = query.tables[0]
        if name != main and {main, name} != CROSS_TABLE:
            raise KqlError(
                f"A union may be used within a single table or between the Resources and "
                f"ResourceContainers tables, not between {query.labels[main]} and {label}.",
                at.pos,
                label,
                BAD_UNION,
            )
        if name in query.tables:
            previous = query.leg_where[name]
            if previous is None or cond is None:
                query.leg_where[name] = None
            else:
                query.leg_where[name] = _or(previous, cond)
            query.tables.append(name)  # counts as a leg
            return
        query.tables.append(name)
        query.labels[name] = label
        query.leg_where[name] = cond

    def join(self, query: Query, at: _Tok) -> None:
        """Validate a join (flavour, hints, right-hand table) and skip over it."""
        while self.peek() is not None and self.peek().kind == "ident":  # type: ignore[union-attr]
            option = self.peek().value.lower()  # type: ignore[union-attr]
            nxt = self.peek(1)
            if nxt is None or nxt.value != "=":
                break
            self.i += 2
            value = self.take("ident")
            if option == "kind":
                if value.value.lower() not in JOIN_FLAVORS:
                    pretty = _FLAVOR_NAMES.get(value.value.lower(), value.value)
                    raise KqlError(
                        f'The join kind "{pretty}" is not supported or not allowed.',
                        value.pos,
                        value.value,
                        BAD_JOIN_FLAVOR,
                    )
            elif option.startswith("hint."):
                raise KqlError(
                    "Custom join strategies, such as broadcast join, aren't allowed.",
                    nxt.pos,
                    option,
                    BAD_OPERATOR_USE,
                )
        depth = 0
        right: str | None = None
        tok = self.peek()
        if tok is not None and tok.value == "(":
            depth = 1
            self.i += 1
            right = self.table()[0]
        else:
            right = self.table()[0]
        while self.peek() is not None:
            tok = self.peek()
            if tok.value == "(":  # type: ignore[union-attr]
                depth += 1
            elif tok.value == ")":  # type: ignore[union-attr]
                depth -= 1
            elif tok.value == "|" and depth == 0:  # type: ignore[union-attr]
                break
            self.i += 1
        query.joins.append((query.tables[0], right, at.pos))

    def mv_expand(self, query: Query) -> None:
        """Validate an mv-expand's row limit and skip over it."""
        query.mv_expands += 1
        while self.peek() is not None and self.peek().value != "|":  # type: ignore[union-attr]
            tok = self.peek()
            self.i += 1
            if tok.kind == "ident" and tok.value.lower() == "limit":  # type: ignore[union-attr]
                count = self.take("num")
                if int(count.value) > MAX_MV_EXPAND_ROWS:
                    raise KqlError(
                        f"The mv-expand row limit must not exceed {MAX_MV_EXPAND_ROWS}.",
                        count.pos,
                        count.value,
                        BAD_OPERATOR_USE,
                    )

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
        if self.at_word("todatetime"):
            return self.time_condition()
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

    def time_condition(self) -> Predicate:
        """``todatetime(field) >|>=|<|<= datetime(<ISO 8601>)``."""
        self.i += 1
        self.take("op", "(")
        column = self.take("ident").value
        self.fields.append(column)
        self.take("op", ")")
        op_tok = self.peek()
        if op_tok is None or op_tok.value not in (">", ">=", "<", "<="):
            raise self.fail("a time comparison (>, >=, <, <=)")
        self.i += 1
        lit = self.peek()
        if lit is None or lit.kind != "dt":
            raise self.fail("a datetime(...) literal")
        self.i += 1
        bound = parse_datetime(lit.value[lit.value.index("(") + 1 : -1].strip())
        if bound is None:
            raise KqlError(f"'{lit.value}' is not a valid datetime literal", lit.pos, lit.value)
        return _time_condition(column, op_tok.value, bound)

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


def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 instant (naive means UTC; up to 7 fractional digits, as Kusto's)."""
    text = text.strip().replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    head, dot, tail = text.partition(".")
    if dot:
        digits = len(tail) - len(tail.lstrip("0123456789"))
        tail = tail[: min(digits, 6)] + tail[digits:]
        text = f"{head}.{tail}" if digits else head + tail
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _time_condition(column: str, op: str, bound: datetime) -> Predicate:
    def predicate(key: str, meta: Any, get_row: RowGetter) -> bool:
        value = field_value(get_row(), column)
        moment = parse_datetime(value) if isinstance(value, str) else None
        if moment is None:  # todatetime() of a non-date is null; null compares false
            return False
        if op == ">":
            return moment > bound
        if op == ">=":
            return moment >= bound
        if op == "<":
            return moment < bound
        return moment <= bound

    return predicate


def _leg_dispatch(query: Query) -> Predicate | None:
    """One predicate for the whole query: each row is filtered by its own leg's conditions."""
    preds = {t: query.leg_where.get(t) for t in query.tables}
    distinct = {id(p) for p in preds.values()}
    if len(distinct) == 1:
        return next(iter(preds.values()))

    def predicate(key: str, meta: Any, get_row: RowGetter) -> bool:
        chosen = preds.get(meta.table)
        return True if chosen is None else chosen(key, meta, get_row)

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
