"""The rules: a model's inferred output columns against the TikTok parameter catalog.

Pure: columns in, findings out. A finding points at the column it is about (whose line is in
its model's rendered SQL); ``run.py`` maps that to a file and line. Mapping itself is
``mapping.map_columns`` and the key logic ``encode.key_columns_for``: the very code a sync
uses, so validate cannot disagree with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reverse_etl.columns import OutputColumn, TypeClass
from reverse_etl.destinations.tiktok.catalog import CATALOG, OBJECTS, OPEN_OBJECTS
from reverse_etl.destinations.tiktok.encode import key_columns_for
from reverse_etl.destinations.tiktok.mapping import ColumnIssue, key_only_columns, map_columns
from reverse_etl.validation.types import check_type
from reverse_etl.validation.values import check_allowed, check_events

# Any one of these lets TikTok match an event to a person; ip only together with user_agent.
IDENTIFIERS = ("email", "phone", "external_id", "ttclid", "ttp", "idfa", "gaid")


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
    role: str  # parameter | custom | key | unknown | unnamed


@dataclass
class CheckResult:
    placed: list[Placed] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def flatten(columns: Sequence[OutputColumn]) -> list[OutputColumn]:
    """STRUCT columns named after a payload object are read field by field, as
    ``encode.flatten_objects`` does at sync time: ``user`` -> ``user.email`` …"""
    out: list[OutputColumn] = []
    for col in columns:
        if col.name in OBJECTS and col.type.cls is TypeClass.STRUCT:
            out += [
                OutputColumn(
                    f"{col.name}.{f.name}",
                    f.type,
                    f.line,
                    f.values,
                    from_star=f.from_star,
                    model=f.model,
                )
                for f in col.fields
            ]
        else:
            out.append(col)
    return out


def check_columns(
    columns: Sequence[OutputColumn],
    *,
    source: str,
    configured_key: Sequence[str] | None,
    model_key: Sequence[str] | None,
    complete: bool = True,
) -> CheckResult:
    """Every rule for one destination. ``complete`` False: the column list is partial (a star
    over an unknown table), so rules about missing columns are skipped."""
    result = CheckResult()
    flat = flatten(columns)
    for col in flat:
        if not col.named:
            result.findings.append(
                Finding(
                    "unnamed-column",
                    "error",
                    f"output column {col.name} has no name",
                    "name it after a TikTok parameter: ... AS event",
                    col,
                )
            )
    named = [c for c in flat if c.named]
    names = [c.name for c in named]
    keys = key_columns_for(names, configured_key, model_key)
    key_only = key_only_columns(keys[0]) if keys else []
    # Repeated names are reported here, so map_columns sees each name once.
    result.findings += _duplicates(named)
    mapping = map_columns(list(dict.fromkeys(names)), source, ignore=key_only)
    # A partial column list may hold the column a "missing" warning is about.
    issues = [i for i in mapping.issues if complete or i.rule != "missing-recommended"]
    result.findings += _mapping_findings(issues, named)
    by_name = {m.column: m for m in mapping.columns}
    for col in flat:
        m = by_name.get(col.name) if col.named else None
        if not col.named:
            result.placed.append(Placed(col, None, "unnamed"))
        elif col.name in key_only:
            result.placed.append(Placed(col, None, "key"))
        elif m is None:
            result.placed.append(Placed(col, None, "unknown"))
        else:
            role = "parameter" if m.param is not None else "custom"
            result.placed.append(Placed(col, ".".join(m.path), role))
    for m in mapping.columns:
        col = next(c for c in named if c.name == m.column)
        if m.param is not None:
            result.findings += _param_findings(col, m.param.name, source)
    if complete:
        result.findings += _required(mapping.by_param(), source)
        result.findings += _keys(keys, names, configured_key)
        result.findings += _identifiers(set(mapping.by_param()), source)
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


def _mapping_findings(
    issues: Sequence[ColumnIssue], named: Sequence[OutputColumn]
) -> list[Finding]:
    """map_columns' issues (on names without repeats) as findings, on their column's line."""
    first: dict[str, OutputColumn] = {}
    for col in named:
        first.setdefault(col.name, col)
    out = []
    for issue in issues:
        where = first.get(issue.column)
        custom = "." in issue.column and issue.column.split(".", 1)[0] in OPEN_OBJECTS
        if issue.rule is not None:
            rule = issue.rule
        elif issue.severity != "error":
            rule = "not-for-source"
        elif CATALOG.lookup(issue.column) is None and not custom:
            rule = "unknown-parameter"
        else:
            rule = "duplicate-column"  # another column already maps to the same payload path
        out.append(Finding(rule, issue.severity, issue.text, issue.hint, where))
    return out


def _param_findings(col: OutputColumn, param_name: str, source: str) -> list[Finding]:
    spec = CATALOG.lookup(param_name)
    assert spec is not None
    out = [
        Finding("type", v.severity, f"column {col.name}: {v.message}", v.hint, col)
        for v in check_type(spec, col.type)
    ]
    if col.values is None:
        return out
    if spec.name == "event":
        out += [
            Finding(rule, v.severity, v.message, v.hint or None, col)
            for rule, v in check_events(col.values, source)
        ]
    out += [
        Finding("allowed-value", v.severity, v.message, v.hint, col)
        for v in check_allowed(spec, col.values)
    ]
    return out


def _required(by_param: Mapping[str, object], source: str) -> list[Finding]:
    return [
        Finding(
            "missing-required",
            "error",
            f"no '{p.name}' column: {source} events need one",
            f"add `... AS {p.name}` to the model's SELECT",
        )
        for p in CATALOG.required(source)
        if p.name not in by_param
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
            "columns: " + ", ".join(names),
            destination_key="primary_key" if configured else None,
        )
    ]


def _identifiers(params: set[str], source: str) -> list[Finding]:
    if params & set(IDENTIFIERS) or {"ip", "user_agent"} <= params:
        return []
    if source == "CRM" and "lead_id" in params:
        return []  # a CRM event is matched to its lead through lead_id
    return [
        Finding(
            "no-identifier",
            "warning",
            "no column identifies the person (email, phone, external_id, ttclid, ttp, "
            "ip with user_agent, idfa or gaid): TikTok cannot match these events",
            "add at least one; e-mail, phone and external_id are hashed before sending",
        )
    ]
