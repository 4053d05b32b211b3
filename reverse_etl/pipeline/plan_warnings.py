"""The warnings ``retl plan`` says of one destination, as located problems (``retl ui``'s Plan
page lists them). The sentences are built here once: the run (``runner.py``) and the CLI
(``cli/render.py``) say the same ones, each line after ``<destination>: ``."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, cast

from reverse_etl.errors import Problem
from reverse_etl.models.dialects import query_for
from reverse_etl.pipeline.plan import DestinationPlan
from reverse_etl.validation.untyped import untyped_problem

if TYPE_CHECKING:
    from reverse_etl.engine.base import Engine, TypedRewrites
    from reverse_etl.models.compile import CompiledModel

BELOW_MINIMUM = "below min_match_coverage, a sync stops before sending"


def mapping_change_text(plan: DestinationPlan) -> str | None:
    """What a mapping changed since the last sync means for the rows sent before."""
    change = plan.mapping_change
    if change is None:
        return None
    d = plan.destination
    hours = round(d.capabilities.dedup_window_seconds / 3600)
    return (
        "the mapping changed since the last sync ("
        + "; ".join(change.changes)
        + f"): {change.rows_resent} row(s) sent before will be sent again with the same "
        f"event_id ({d.capabilities.platform} deduplicates repeats only within {hours} hours "
        "of the first send)"
    )


def dedup_lines(
    name: str, held: int, reason: str, double_counted: int, platform: str = "TikTok"
) -> list[str]:
    """Changed rows held back by on_change, and events the platform counts twice (see
    docs/state.md)."""
    return [f"{name}: {line}" for line in _dedup_texts(held, reason, double_counted, platform)]


def _dedup_texts(held: int, reason: str, double_counted: int, platform: str) -> list[str]:
    lines = []
    if held:
        lines.append(f"{held} row(s) {reason}")
    if double_counted:
        lines.append(
            f"{double_counted} event(s) sent again more than 48 hours after their first "
            f"acknowledgement: {platform} counts them twice"
        )
    return lines


def plan_warnings(plan: DestinationPlan) -> list[Problem]:
    """Every warning ``retl plan`` says of ``plan``'s destination, in its order, without the
    destination's name: its settings' notices and warnings (at their key), a changed
    mapping, rows with warnings, warnings about the model's columns (at their file, line
    and key), match coverage below ``min_match_coverage`` (at that key) and the platform's
    words on it, and changed rows held back or counted twice (``on_change``). Invalid rows
    are not here: they are counted and listed by reason apart (``invalid_reasons``)."""
    d = plan.destination
    platform = d.capabilities.platform

    def at(key: str, text: str) -> Problem:
        line = d.config.line_of(key)
        return Problem(text, d.config.file, line, f"destinations.{plan.name}.{key}")

    out = [Problem(notice) for notice in d.notices()]
    out += d.config_warnings()
    changed = mapping_change_text(plan)
    if changed is not None:
        out.append(Problem(changed))
    out += [Problem(f"{n} row(s): {reason}") for reason, n in plan.warning_reasons]
    if plan.warning_reasons_not_listed:
        more = plan.warning_reasons_not_listed
        out.append(Problem(f"… and {more} more warning reason(s) (not kept)"))
    out += plan.warnings
    m = plan.match_keys
    if m is not None:
        if m.below_minimum:
            out.append(at("min_match_coverage", f"{m.summary()}: {BELOW_MINIMUM}"))
        out += [Problem(w) for w in m.warnings]
    dedup = plan.dedup
    held, twice = dedup.held, dedup.double_counted
    out += [at("on_change", t) for t in _dedup_texts(held, plan.held_reason, 0, platform)]
    out += [Problem(t) for t in _dedup_texts(0, "", twice, platform)]
    return [replace(p, severity="warning") for p in out]


def untyped_warning(compiled: CompiledModel, engine: Engine) -> Problem | None:
    """A warning at ``compiled``'s file when the warehouse runs it with expressions whose
    value may differ from DuckDB's because their operands' types could not be found (a
    fraction cast to an integer truncated, a division of DECIMALs; the engine's
    ``untyped``): they went as written, and were sent so, silently. None when there are
    none, or the engine needs no types (DuckDB itself)."""
    if not engine.capabilities.typed_rewrites:
        return None
    found = cast("TypedRewrites", engine).untyped(query_for(compiled, engine))
    return untyped_problem(found, engine.capabilities.dialect, compiled.model.path)
