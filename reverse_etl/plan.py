"""Plans are values: what a sync would send, per destination, computed without the network.

``retl plan`` shows a plan; ``retl sync`` builds the very same plan and then executes it. The
plan runs the model, the encoder and the diff against the state in DuckDB, and keeps counts,
reasons and a few sample payloads; the rows themselves are streamed again when sending.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa

from reverse_etl.destinations.tiktok.destination import EncodePlan, TikTokDestination
from reverse_etl.destinations.tiktok.e164 import parse_parallel
from reverse_etl.destinations.tiktok.encode import (
    DUPLICATE_KEY,
    PHONE_UDF,
    distinct_phones_sql,
    phone_table_sql,
)
from reverse_etl.destinations.tiktok.match import MatchCoverage, coverage_sql, either, percent
from reverse_etl.destinations.tiktok.pii import e164_arrow, sha256_hex
from reverse_etl.engine.base import iter_batches
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.errors import Problem, ValidationFailed
from reverse_etl.models.compile import CompiledModel
from reverse_etl.state.dedup import DedupCounts, held_reason
from reverse_etl.state.fingerprint import describe_mapping, fingerprint, mapping_changes
from reverse_etl.state.store import ScopeInfo

MAX_INVALID_LISTED = 20
PHONE_CHUNK = 100_000  # distinct phones parsed per round
_TABLES = itertools.count()
MAX_SAMPLES = 3
PII_PARAMS = frozenset({"email", "phone", "external_id"})


@dataclass(frozen=True)
class InvalidRow:
    """An invalid row: its key (masked when the key is PII) and why. Never raw PII."""

    key: str | None
    reason: str


@dataclass(frozen=True)
class MappingChange:
    """The mapping differs from the one of the last sync: ``changes`` say how, and how many
    rows sent before go out again (TikTok deduplicates them only within 48 hours)."""

    changes: tuple[str, ...]
    rows_resent: int  # rows sent before that go out again with the new mapping


@dataclass(frozen=True)
class DestinationPlan:
    destination: TikTokDestination
    compiled: CompiledModel
    encode: EncodePlan
    scope: str
    full_refresh: bool
    rows_table: str
    warnings: tuple[Problem, ...]
    rows_total: int
    rows_invalid: int
    rows_warned: int
    rows_new: int
    rows_changed: int
    rows_unchanged: int
    invalid_rows: tuple[InvalidRow, ...]
    invalid_reasons: tuple[tuple[str, int], ...]
    warning_reasons: tuple[tuple[str, int], ...]
    mapping: dict[str, Any] = field(default_factory=dict)
    mapping_fingerprint: str = ""
    mapping_change: MappingChange | None = None
    previous: ScopeInfo | None = None
    samples: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    dedup: DedupCounts = field(default_factory=DedupCounts)  # held back, resent, twice
    match_keys: MatchCoverage | None = None  # share of the rows to send per match key

    @property
    def name(self) -> str:
        return self.destination.name

    @property
    def held_reason(self) -> str:
        """Why the changed rows counted in ``dedup.held`` are not sent (on_change)."""
        return held_reason(self.destination.settings.on_change)

    @property
    def rows_valid(self) -> int:
        return self.rows_total - self.rows_invalid

    @property
    def rows_to_send(self) -> int:
        return self.rows_new + self.rows_changed

    def to_dict(self) -> dict[str, Any]:
        s = self.destination.settings
        return {
            "destination": self.name,
            "type": self.destination.config.type,
            "model": s.model,
            "event_source": self.destination.event_source,
            "state_scope": self.scope,
            "full_refresh": self.full_refresh,
            "rows": {
                "total": self.rows_total,
                "valid": self.rows_valid,
                "invalid": self.rows_invalid,
                "with_warnings": self.rows_warned,
                "new": self.rows_new,
                "changed": self.rows_changed,
                "unchanged": self.rows_unchanged,
                "to_send": self.rows_to_send,
                "changed_not_resent": self.dedup.held,
                "resent": self.dedup.resent,
                "double_counted": self.dedup.double_counted,
            },
            "on_change": s.on_change,
            "changed_not_resent_reason": self.held_reason if self.dedup.held else None,
            "mapping_fingerprint": self.mapping_fingerprint,
            "mapping_changed": None
            if self.mapping_change is None
            else {
                "changes": list(self.mapping_change.changes),
                "rows_resent": self.mapping_change.rows_resent,
            },
            "last_sync_at": self.previous.last_sync_at.isoformat()
            if self.previous and self.previous.last_sync_at
            else None,
            "invalid_reasons": [{"reason": r, "rows": n} for r, n in self.invalid_reasons],
            "invalid_rows": [{"key": r.key, "reason": r.reason} for r in self.invalid_rows],
            "warning_reasons": [{"reason": r, "rows": n} for r, n in self.warning_reasons],
            "warnings": [w.render() for w in self.warnings],
            "skip_invalid_record": s.skip_invalid_record,
            "samples": list(self.samples),
            "match_keys": self.match_keys.to_dict() if self.match_keys else None,
        }


def prepare_engine(engine: DuckDBEngine) -> None:
    engine.register_vector_udf(PHONE_UDF, e164_arrow, ["VARCHAR", "VARCHAR"], "VARCHAR")


@dataclass(frozen=True)
class ModelInput:
    """The model's rows as the local DuckDB sees them: a relation (the model's own SQL, or a
    table its rows were staged into from another warehouse) and its Arrow schema."""

    relation: str
    schema: pa.Schema
    prekeyed: bool = False  # rows of a warehouse diff (see state/diff.py)
    unchanged_elsewhere: int = 0  # unchanged rows the warehouse diff kept where they are
    dedup: DedupCounts = field(default_factory=DedupCounts)  # held rows stay out too


def encode_plan_for(
    dest: TikTokDestination, compiled: CompiledModel, model: ModelInput
) -> tuple[EncodePlan, list[Problem]]:
    """Map the model's columns; raise ValidationFailed with every problem at once."""
    schema, relation = model.schema, model.relation
    encode, problems = dest.encode_plan(
        schema, relation, compiled.model.primary_key, prekeyed=model.prekeyed
    )
    errors = [p for p in problems if p.severity == "error"]
    if errors or encode is None:
        raise ValidationFailed.from_problems(
            errors or problems,
            summary=f"destination '{dest.name}': model '{compiled.name}' does not fit "
            "tiktok_events",
        )
    return encode, [p for p in problems if p.severity != "error"]


@dataclass(frozen=True)
class StateView:
    """What the plan needs from the state for one destination (None: nothing synced)."""

    scope: str
    previous: ScopeInfo | None


def build_destination_plan(
    engine: DuckDBEngine,
    dest: TikTokDestination,
    compiled: CompiledModel,
    model: ModelInput,
    state: StateView,
    *,
    full_refresh: bool = False,
    samples: int = MAX_SAMPLES,
) -> DestinationPlan:
    """Run the model, the encoder and the diff once for counts, reasons and samples."""
    prepare_engine(engine)
    encode, warnings = encode_plan_for(dest, compiled, model)
    assert encode.schema is not None
    distinct = distinct_phones_sql(encode.relation, encode.schema, encode.mapping)
    if distinct is not None:
        # Each distinct phone number parsed once (on every core), then looked up per row.
        phone_table = f"__retl_phones_{next(_TABLES)}"
        build_phone_table(engine, distinct, encode.spec.default_phone_region, phone_table)
        encode = encode.with_phone_map(phone_table)
    # The diff left only new and changed rows (and rows with a duplicate key). One pass
    # encodes them into a temporary table; the counts, samples and the send then read it, so
    # nothing is encoded twice. Only valid rows keep a payload, and DuckDB spills the table
    # to disk beyond its memory limit.
    table = f"__retl_rows_{next(_TABLES)}"
    engine.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT __key, __hash, __errors, __warnings, __change, __match,
                   CASE WHEN __errors IS NULL AND __change <> 'unchanged' THEN __payload END
                       AS __payload
            FROM (SELECT *, __change_in AS __change FROM ({encode.sql}))"""
    )
    _mark_duplicate_keys(engine, table)
    rel = table
    # Match keys are summed in the same pass as the counts (match.py): no second scan.
    (total, invalid, warned, new, changed, unchanged, *match_counts) = engine.rows(
        f"""SELECT count(*),
               count(*) FILTER (WHERE __errors IS NOT NULL),
               count(*) FILTER (WHERE __warnings IS NOT NULL),
               count(*) FILTER (WHERE __errors IS NULL AND __change = 'new'),
               count(*) FILTER (WHERE __errors IS NULL AND __change = 'changed'),
               count(*) FILTER (WHERE __errors IS NULL AND __change = 'unchanged'),
               {", ".join(coverage_sql(dest.settings.event_data_source))}
            FROM {rel}"""
    )[0]
    match_keys = MatchCoverage.from_counts(
        dest.settings.event_data_source,
        int(new) + int(changed),
        match_counts,
        dest.settings.min_match_coverage,
    )
    total += model.unchanged_elsewhere + model.dedup.held
    unchanged += model.unchanged_elsewhere
    mask = any(
        m.param is not None and m.param.name in PII_PARAMS and m.column in encode.spec.key_columns
        for m in encode.mapping.columns
    )
    invalid_rows = (
        [
            InvalidRow(_mask(k) if mask else k, r)
            for k, r in engine.rows(
                f"SELECT __key, __errors FROM {rel} WHERE __errors IS NOT NULL "
                f"ORDER BY __key NULLS FIRST LIMIT {MAX_INVALID_LISTED}"
            )
        ]
        if invalid
        else []
    )
    sample_rows = (
        engine.rows(
            f"SELECT __payload FROM {rel} WHERE __payload IS NOT NULL ORDER BY __key "
            f"LIMIT {samples}"
        )
        if samples
        else []
    )
    description = describe_mapping(encode)
    print_ = fingerprint(description)
    change = None
    previous = state.previous
    if previous is not None and previous.mapping and previous.mapping_fingerprint != print_:
        change = MappingChange(
            tuple(mapping_changes(orjson.loads(previous.mapping), description)), int(changed)
        )
    return DestinationPlan(
        destination=dest,
        compiled=compiled,
        encode=encode,
        scope=state.scope,
        full_refresh=full_refresh,
        rows_table=table,
        warnings=tuple(warnings),
        rows_total=int(total),
        rows_invalid=int(invalid),
        rows_warned=int(warned),
        rows_new=int(new),
        rows_changed=int(changed),
        rows_unchanged=int(unchanged),
        invalid_rows=tuple(invalid_rows),
        invalid_reasons=tuple(_reasons(engine, rel, "__errors") if invalid else []),
        warning_reasons=tuple(_reasons(engine, rel, "__warnings") if warned else []),
        mapping=description,
        mapping_fingerprint=print_,
        mapping_change=change,
        previous=previous,
        samples=tuple(orjson.loads(r[0]) for r in sample_rows),
        dedup=model.dedup,
        match_keys=match_keys,
    )


def build_phone_table(
    engine: DuckDBEngine, distinct_sql: str, region: str | None, table: str
) -> None:
    """``table`` (raw, hashed) for the distinct phones ``distinct_sql`` returns.

    The numbers are parsed PHONE_CHUNK at a time, so only one chunk is ever Python objects;
    the results wait as Arrow arrays."""
    raws: list[pa.Array] = []
    e164s: list[pa.Array] = []
    for batch in iter_batches(engine.stream(distinct_sql, batch_rows=PHONE_CHUNK)):
        raw = batch.column(0)
        raws.append(raw)
        e164s.append(pa.array(parse_parallel(raw.to_pylist(), region), pa.string()))
    parsed = pa.table(
        {
            "raw": pa.chunked_array(raws, pa.string()),
            "e164": pa.chunked_array(e164s, pa.string()),
        }
    )
    staged = engine.stage(parsed.to_reader())
    try:
        engine.execute(phone_table_sql(table, staged))
    finally:
        engine.execute(f"DROP TABLE IF EXISTS {staged}")


def _mark_duplicate_keys(engine: DuckDBEngine, table: str) -> None:
    """Rows sharing a key are all invalid: which one is "the" event would be a guess."""
    engine.execute(
        f"""UPDATE {table}
            SET __errors = concat_ws('; ', __errors, '{DUPLICATE_KEY}'), __payload = NULL
            WHERE __key IN (
                SELECT __key FROM {table} WHERE __key IS NOT NULL
                GROUP BY __key HAVING count(*) > 1)"""
    )


def _reasons(engine: DuckDBEngine, rel: str, column: str) -> list[tuple[str, int]]:
    rows = engine.rows(
        f"SELECT r, count(*) AS n FROM (SELECT unnest(string_split({column}, '; ')) AS r "
        f"FROM {rel} WHERE {column} IS NOT NULL) GROUP BY r ORDER BY n DESC, r LIMIT 10"
    )
    return [(str(r), int(n)) for r, n in rows]


def _mask(key: str | None) -> str | None:
    return None if key is None else "sha256:" + sha256_hex(key)[:12]


def check_invalid(plans: Sequence[DestinationPlan]) -> list[Problem]:
    """Problems for destinations whose invalid rows must stop the run (skip_invalid_record off)."""
    out = []
    for plan in plans:
        if plan.rows_invalid and not plan.destination.settings.skip_invalid_record:
            reasons = ", ".join(f"{r} ({n})" for r, n in plan.invalid_reasons[:3])
            out.append(
                Problem(
                    f"{plan.rows_invalid} of {plan.rows_total} rows are invalid: {reasons}",
                    file=plan.destination.config.file,
                    line=plan.destination.config.line,
                    key=f"destinations.{plan.name}",
                    hint="fix the model, or set skip_invalid_record: true to send the valid rows",
                )
            )
    return out


def check_coverage(plans: Sequence[DestinationPlan]) -> list[Problem]:
    """Problems for destinations whose rows to send carry too few strong match keys: a run
    stops on them before anything is sent (min_match_coverage)."""
    out = []
    for plan in plans:
        m = plan.match_keys
        if m is None or not m.below_minimum:
            continue
        out.append(
            Problem(
                f"destination '{plan.name}': match coverage {percent(m.coverage)} ({m.strong} "
                f"of {m.rows} rows to send carry {either(m.strong_key_names)}) is below "
                f"min_match_coverage {m.minimum} ({percent(m.minimum)}): nothing was sent",
                file=plan.destination.config.file,
                line=plan.destination.config.line,
                key=f"destinations.{plan.name}.min_match_coverage",
                hint="add match keys to the model (see 'retl plan'), or lower min_match_coverage",
            )
        )
    return out


FAIL_ON = ("invalid", "warning")


def plan_failures(plans: Sequence[DestinationPlan], fail_on: str) -> list[str]:
    """Why ``retl plan --fail-on LEVEL`` fails (empty: it passes). ``invalid``: invalid rows,
    or match coverage below min_match_coverage (a sync would stop on either); ``warning``:
    those, and rows or columns with warnings."""
    out = []
    for plan in plans:
        if plan.rows_invalid:
            out.append(f"{plan.name}: {plan.rows_invalid} invalid row(s)")
        if plan.match_keys is not None and plan.match_keys.below_minimum:
            out.append(
                f"{plan.name}: match coverage {percent(plan.match_keys.coverage)} is below "
                f"min_match_coverage {plan.match_keys.minimum}"
            )
        if fail_on == "warning":
            if plan.rows_warned:
                out.append(f"{plan.name}: {plan.rows_warned} row(s) with warnings")
            if plan.warnings:
                out.append(f"{plan.name}: {len(plan.warnings)} warning(s) about the model")
    return out
