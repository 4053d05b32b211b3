"""The rules: a model's inferred output columns against a destination's parameter catalog.

Pure: columns in, findings out. A finding points at the column it is about (whose line is in
its model's rendered SQL); ``run.py`` maps that to a file and line. The platform is known only
through its :class:`ColumnRules`: mapping is ``rules.map_columns`` and the key logic
``rules.key_columns``, the very code a sync uses, so validate cannot disagree with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reverse_etl.columns import OutputColumn, TypeClass
from reverse_etl.config.suggest import did_you_mean
from reverse_etl.destinations.base import ColumnRules
from reverse_etl.destinations.catalog import ColumnIssue, MappedColumn, ParamSpec
from reverse_etl.validation.foreign import (
    OtherCatalogs,
    foreign_columns,
    foreign_message,
    knows,
)
from reverse_etl.validation.types import check_type


@dataclass(frozen=True)
class Finding:
    """One failed rule, about a column (``at``), the model as a whole, or a setting in
    destinations.yml (``destination_key``, e.g. ``primary_key``)."""

    rule: str
    severity: str
    message: str
    hint: str | None = None
    at: OutputColumn | None = None
    destination_key: str | None = None

    @property
    def column(self) -> str | None:
        return self.at.name if self.at is not None else None


@dataclass(frozen=True)
class Placed:
    """An output column (STRUCT payload objects flattened) and where it goes."""

    column: OutputColumn
    field: str | None
    role: str  # parameter | custom | key | other | unknown | unnamed


@dataclass
class CheckResult:
    placed: list[Placed] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def flatten(columns: Sequence[OutputColumn], objects: Sequence[str]) -> list[OutputColumn]:
    """STRUCT columns named after a payload object (``rules.objects``) are read field by
    field, as the encoder does at sync time: ``user`` -> ``user.email`` …"""
    out: list[OutputColumn] = []
    for col in columns:
        if col.name in objects and col.type.cls is TypeClass.STRUCT:
            out += [
                OutputColumn(
                    f"{col.name}.{f.name}",
                    f.type,
                    f.line,
                    f.values,
                    from_star=f.from_star,
                    model=f.model,
                    sources=f.sources,
                )
                for f in col.fields
            ]
        else:
            out.append(col)
    return out


def check_columns(
    columns: Sequence[OutputColumn],
    *,
    rules: ColumnRules,
    configured_key: Sequence[str] | None,
    model_key: Sequence[str] | None,
    complete: bool = True,
    others: OtherCatalogs = (),
) -> CheckResult:
    """Every rule for one destination. ``complete`` False: the column list is partial (a star
    over an unknown table), so rules about missing columns are skipped. ``others``: the
    catalogs of the other platforms, whose columns are noted and not sent."""
    result = CheckResult()
    result.findings += _unordered(columns)
    flat = flatten(columns, rules.objects)
    for col in flat:
        if not col.named:
            result.findings.append(
                Finding(
                    "unnamed-column",
                    "error",
                    f"output column {col.name} has no name",
                    f"name it after a {rules.platform} parameter: ... AS event",
                    col,
                )
            )
    named = [c for c in flat if c.named]
    names = [c.name for c in named]
    keys = rules.key_columns(names, configured_key, model_key)
    key_only = rules.key_only_columns(keys[0]) if keys else []
    # Repeated names are reported here, so map_columns sees each name once.
    result.findings += _duplicates(named)
    unique = list(dict.fromkeys(names))
    foreign = foreign_columns(unique, rules, others, keys=key_only)
    mapping = rules.map_columns(unique, ignore=[*key_only, *foreign])
    # A partial column list may hold the column a "missing" warning is about.
    issues = [i for i in mapping.issues if complete or i.rule != "missing-recommended"]
    result.findings += _mapping_findings(issues, named, rules)
    result.findings += _foreign_findings(foreign, named, rules)
    by_name = {m.column: m for m in mapping.columns}
    for col in flat:
        m = by_name.get(col.name) if col.named else None
        if not col.named:
            result.placed.append(Placed(col, None, "unnamed"))
        elif col.name in key_only:
            result.placed.append(Placed(col, None, "key"))
        elif col.name in foreign:
            result.placed.append(Placed(col, None, "other"))
        elif m is None:
            result.placed.append(Placed(col, None, "unknown"))
        else:
            role = "parameter" if m.param is not None else "custom"
            result.placed.append(Placed(col, ".".join(m.path), role))
    for m in mapping.columns:
        col = next(c for c in named if c.name == m.column)
        if m.param is not None:
            result.findings += _param_findings(col, m.param, rules)
    if complete:
        result.findings += _required(mapping.by_param(), named, rules)
        result.findings += _keys(keys, names, configured_key)
        result.findings += [
            Finding(i.rule or "no-identifier", i.severity, i.text, i.hint)
            for i in rules.identifier_issues(set(mapping.by_param()))
        ]
    untyped = [
        p.column.name
        for p in result.placed
        if p.role == "parameter" and p.column.type.cls is TypeClass.UNKNOWN
    ]
    if untyped:
        result.findings.append(
            Finding(
                "type-unknown",
                "note",
                "type not inferred, so not checked: " + ", ".join(untyped),
                "a CAST(... AS type) in the model makes it checkable",
            )
        )
    return result


# Types whose value cannot carry an aggregate's order (len(list(x)) is a number).
_ORDERLESS = frozenset(
    {
        TypeClass.INTEGER,
        TypeClass.NUMBER,
        TypeClass.BOOLEAN,
        TypeClass.TIMESTAMP,
        TypeClass.DATE,
        TypeClass.TIME,
        TypeClass.NULL,
    }
)


def _unordered(columns: Sequence[OutputColumn]) -> list[Finding]:
    """Columns built by list() / array_agg() / string_agg() without ORDER BY: every column
    is in the row's hash, so a row whose items came in another order is sent again."""
    return [
        Finding(
            "unordered-aggregate",
            "warning",
            f"column {col.name}: built by list(), array_agg() or string_agg() without ORDER "
            "BY, whose items come in another order from run to run (the engine aggregates in "
            "parallel): each sync would see the row as changed and send it again",
            "order the aggregate inside its parentheses, where it is written: "
            "list({...} ORDER BY sku), string_agg(x, ',' ORDER BY x)",
            col,
        )
        for col in columns
        if col.unordered and col.type.cls not in _ORDERLESS
    ]


def _duplicates(named: Sequence[OutputColumn]) -> list[Finding]:
    """Every occurrence of a name after its first (the engine would keep both columns)."""
    seen: set[str] = set()
    out = []
    for col in named:
        if col.name in seen:
            out.append(
                Finding(
                    "duplicate-column",
                    "error",
                    f"column {col.name}: column name appears more than once",
                    "alias one of them differently",
                    col,
                )
            )
        seen.add(col.name)
    return out


def _first(named: Sequence[OutputColumn]) -> dict[str, OutputColumn]:
    first: dict[str, OutputColumn] = {}
    for col in named:
        first.setdefault(col.name, col)
    return first


def _mapping_findings(
    issues: Sequence[ColumnIssue], named: Sequence[OutputColumn], rules: ColumnRules
) -> list[Finding]:
    """map_columns' issues (on names without repeats) as findings, on their column's line."""
    first = _first(named)
    out = []
    for issue in issues:
        where = first.get(issue.column)
        if issue.rule is not None:
            rule = issue.rule
        elif issue.severity != "error":
            rule = "not-for-source"
        elif not knows(rules, issue.column):
            rule = "unknown-parameter"
        else:
            rule = "duplicate-column"  # another column already maps to the same payload path
        out.append(Finding(rule, issue.severity, issue.text, issue.hint, where))
    return out


def _foreign_findings(
    foreign: Mapping[str, str], named: Sequence[OutputColumn], rules: ColumnRules
) -> list[Finding]:
    """A note per column of another platform's catalog: left out, not an error."""
    first = _first(named)
    return [
        Finding("other-destination", "note", foreign_message(c, p, rules), None, first.get(c))
        for c, p in foreign.items()
    ]


def _param_findings(col: OutputColumn, spec: ParamSpec, rules: ColumnRules) -> list[Finding]:
    out = [
        Finding("type", v.severity, f"column {col.name}: {v.message}", v.hint, col)
        for v in check_type(spec, col.type, rules)
    ]
    if col.values is None:
        return out
    # Value issues are about the column's values, said without the "column x:" prefix.
    out += [
        Finding(i.rule or "allowed-value", i.severity, i.message, i.hint or None, col)
        for i in rules.value_issues(spec, col.values)
    ]
    return out


def _required(
    by_param: Mapping[str, MappedColumn], named: Sequence[OutputColumn], rules: ColumnRules
) -> list[Finding]:
    """The required parameters no column gives (what is required may depend on the values
    of a column, when the platform's rows say their own source). A column that may be NULL
    has '' among its values: a row without a value of its own."""
    values = {
        c.name: (c.values | {""} if c.nullable else c.values) if c.values is not None else None
        for c in named
    }
    mapped = {param: values.get(m.column) for param, m in by_param.items()}
    return [
        Finding(i.rule or "missing-required", i.severity, i.text, i.hint)
        for i in rules.missing_required(mapped)
    ]


def _keys(
    keys: tuple[tuple[str, ...], bool] | None, names: Sequence[str], configured: object
) -> list[Finding]:
    if keys is None:
        return [
            Finding(
                "primary-key",
                "error",
                "no event_id column and no primary key",
                "add an event_id column, set primary_key on the destination, or "
                "{{ config(primary_key='...') }} in the model",
                destination_key="primary_key",
            )
        ]
    missing = [k for k in keys[0] if k not in names]
    if not missing:
        return []
    return [
        Finding(
            "primary-key",
            "error",
            f"primary key column '{missing[0]}' is not in the model",
            did_you_mean(missing[0], names) or "columns: " + ", ".join(names),
            destination_key="primary_key" if configured else None,
        )
    ]
