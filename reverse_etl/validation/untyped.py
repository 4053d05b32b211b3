"""The warning of a model's expressions that a warehouse server runs as written for want of
their operands' types (the engine's ``untyped``, ``engine/typed.py``): one text, said by
``retl plan`` and ``retl sync`` (``pipeline/plan_warnings.untyped_warning``) and by ``retl
validate`` (rule untyped-expression, from the schemas it found)."""

from __future__ import annotations

from pathlib import Path

from reverse_etl.destinations.shared.pii_text import mask_text
from reverse_etl.errors import Problem

_SHOWN_UNTYPED = 3  # expressions named; the rest counted
_SHOWN_CHARS = 60  # characters of an expression named


def _shortened(text: str) -> str:
    """An expression of the model as named: masked first (``mask_text``: a literal e-mail
    address or phone number in the model's text), so that no cut leaves one unmasked."""
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def untyped_problem(found: list[str], dialect: str, file: Path | None) -> Problem | None:
    """The warning of ``found`` (expressions run as written in the warehouse of
    ``dialect`` for want of their operands' types) at the model's ``file``: what ``retl
    plan`` and ``retl sync`` say (``untyped_warning``) and ``retl validate`` too (rule
    untyped-expression, from the schemas it found). None when there are none."""
    if not found:
        return None
    shown = "; ".join(_shortened(mask_text(f)) for f in found[:_SHOWN_UNTYPED])
    if len(found) > _SHOWN_UNTYPED:
        shown += f"; and {len(found) - _SHOWN_UNTYPED} more"
    return Problem(
        f"{len(found)} expression(s) may give other values in the warehouse ({dialect}) than "
        f"DuckDB gives, their operands' types not found, and run as written: {shown} (a "
        "fraction cast to an integer is rounded by DuckDB, truncated by Spark; DuckDB's "
        "division is a DOUBLE's; len() of a list, a date minus a date, epoch_ms() of a time "
        "are rewritten by their types)",
        file=file,
        hint="cast the operand to its type in the model (cast(x as decimal(12, 2)), "
        f"cast(x as double)), or write the model in the warehouse's SQL: "
        f"config(dialect='{dialect}')",
        severity="warning",
    )
