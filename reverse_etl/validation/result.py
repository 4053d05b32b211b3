"""What ``retl validate`` found: per destination, a row per column and located diagnostics.

``to_dict()`` is the stable JSON shape documented in docs/validate.md; bump
``JSON_VERSION`` on any change that is not a pure addition.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reverse_etl.destinations.shared.pii_text import mask_text
from reverse_etl.errors import Problem

if TYPE_CHECKING:
    from reverse_etl.columns.records import ColumnSources

JSON_VERSION = 1
SEVERITIES = ("error", "warning", "note")

# Every rule id a diagnostic can carry (docs/validate.md explains each).
RULES = (
    "parse-error",
    "unknown-table",
    "source-file",
    "source-table",
    "sql-text",
    "session-call",
    "connector-call",
    "warehouse-call",
    "warehouse-value",
    "untyped-expression",
    "unknown-column",
    "bad-type",
    "incomplete",
    "unnamed-column",
    "unknown-parameter",
    "duplicate-column",
    "unordered-aggregate",
    "not-for-source",
    "missing-recommended",
    "contents-key",
    "other-destination",
    "missing-required",
    "primary-key",
    "no-identifier",
    "type",
    "type-unknown",
    "event-name",
    "custom-event",
    "legacy-event",
    "allowed-value",
    "schemas-unavailable",
    "value-case",
    "padded-value",
)


@dataclass(frozen=True)
class Diagnostic:
    """A located :class:`Problem` with the rule that raised it and the column it is about."""

    rule: str
    problem: Problem
    column: str | None = None

    @property
    def severity(self) -> str:
        return self.problem.severity

    def to_dict(self, root: Path | None = None) -> dict[str, Any]:
        p = self.problem
        return {
            "severity": p.severity,
            "rule": self.rule,
            "column": self.column,
            # masked as every error's text is: a literal of the model (a pull request's) or a
            # value a warehouse returned may be a person's e-mail address or phone number
            "message": mask_text(p.message),
            "hint": None if p.hint is None else mask_text(p.hint),
            "file": display_path(p.file, root),
            "line": p.line,
            "key": p.key,
        }


@dataclass(frozen=True)
class ColumnRow:
    """One output column of the model and where it goes."""

    column: str
    field: str | None  # payload path; None when it is not sent
    role: str  # parameter | custom | key | other | unknown | unnamed
    type: str
    type_class: str
    file: Path | None
    line: int | None
    values: tuple[str, ...] | None
    status: str  # ok | error | warning | note

    @property
    def tiktok_field(self) -> str | None:
        """``field`` by its first name (the JSON keeps the key beside ``field``: version 1 of
        the shape, whatever the platform)."""
        return self.field

    def to_dict(self, root: Path | None = None) -> dict[str, Any]:
        return {
            "column": self.column,
            "field": self.field,
            "tiktok_field": self.field,
            "role": self.role,
            "type": self.type,
            "type_class": self.type_class,
            "file": display_path(self.file, root),
            "line": self.line,
            "values": [mask_text(v) for v in self.values] if self.values is not None else None,
            "status": self.status,
        }


@dataclass(frozen=True)
class TableSource:
    """A table the model reads and where its schema came from (None: unknown)."""

    table: str
    origin: str | None


@dataclass(frozen=True)
class DestinationValidation:
    """One destination's static check: its model's columns and every diagnostic."""

    destination: str
    model: str
    model_file: Path
    event_source: str
    columns: tuple[ColumnRow, ...]
    diagnostics: tuple[Diagnostic, ...]
    tables: tuple[TableSource, ...] = ()
    project_dir: Path | None = None  # paths in to_dict() are shown relative to it
    # The source columns each output column reads (``columns.records.column_sources``), for
    # the plan's masking of event ids built from personal data; not in ``to_dict()``.
    sources: ColumnSources = ()

    @property
    def problems(self) -> list[Problem]:
        return [d.problem for d in self.diagnostics]

    def count(self, severity: str) -> int:
        return sum(1 for d in self.diagnostics if d.severity == severity)

    @property
    def errors(self) -> list[Problem]:
        return [d.problem for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [d.problem for d in self.diagnostics if d.severity == "warning"]

    def ok(self, strict: bool = False) -> bool:
        """No errors; with ``strict``, no warnings either. Notes never fail."""
        return not self.errors and not (strict and self.warnings)

    def to_dict(self, *, strict: bool = False) -> dict[str, Any]:
        """The JSON shape (docs/validate.md); paths relative to the project when inside it."""
        root = self.project_dir
        return {
            "destination": self.destination,
            "model": self.model,
            "model_file": display_path(self.model_file, root),
            "event_source": self.event_source,
            "ok": self.ok(strict),
            "counts": {s: self.count(s) for s in SEVERITIES},
            "tables": [{"table": t.table, "schema_from": t.origin} for t in self.tables],
            "columns": [c.to_dict(root) for c in self.columns],
            "diagnostics": [d.to_dict(root) for d in self.diagnostics],
        }


def display_path(path: Path | str | None, root: Path | None) -> str | None:
    """A path as shown: relative to ``root`` (the project) when inside it, '/'-separated."""
    if path is None:
        return None
    p = Path(path)
    if root is not None:
        try:
            return p.relative_to(root).as_posix()
        except ValueError:
            pass
    return p.as_posix()


def document(
    results: list[DestinationValidation], *, strict: bool, project_warnings: int = 0
) -> dict[str, Any]:
    """The whole ``retl validate --format json`` document. ``project_warnings``: the warnings
    given while the project was read (the document's ``warnings``), which fail ``strict``
    too."""
    return {
        "version": JSON_VERSION,
        "ok": all(r.ok(strict) for r in results) and not (strict and project_warnings),
        "strict": strict,
        "counts": {s: sum(r.count(s) for r in results) for s in SEVERITIES},
        "destinations": [r.to_dict(strict=strict) for r in results],
    }


def owners(results: list[DestinationValidation]) -> dict[Diagnostic, list[str]]:
    """Each diagnostic and the destinations that have it, in order: a model's problem is one
    problem however many destinations read the model."""
    out: dict[Diagnostic, list[str]] = {}
    for r in results:
        for d in r.diagnostics:
            names = out.setdefault(d, [])
            if r.destination not in names:
                names.append(r.destination)
    return out


def unique_errors(results: list[DestinationValidation]) -> list[Problem]:
    """Every error of ``results``, each once."""
    return list(dict.fromkeys(p for r in results for p in r.errors))
