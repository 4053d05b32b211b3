"""Plans are values: what a sync would send, per destination, computed without the network.

``retl plan`` shows a plan; ``retl sync`` builds the very same plan and then executes it. The
plan runs the model, the encoder and the diff against the state in DuckDB, and keeps counts,
reasons and a few sample payloads; the rows themselves are streamed again when sending.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from reverse_etl.destinations.base import Coverage, Destination, EncodePlan
from reverse_etl.destinations.registry import other_catalogs
from reverse_etl.destinations.shared.pii_text import (
    mask_text,
    masked_key,
    pii_name,
    pii_value_sql,
)
from reverse_etl.destinations.shared.sql import lit
from reverse_etl.destinations.shared.text import either, percent
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.engine.file_paths import file_literal
from reverse_etl.errors import Problem, ValidationFailed
from reverse_etl.models.compile import CompiledModel
from reverse_etl.pipeline.personal_ids import Sources, personal_reads
from reverse_etl.state.dedup import DedupCounts, held_reason
from reverse_etl.state.fingerprint import fingerprint, mapping_changes
from reverse_etl.state.store import ScopeInfo
from reverse_etl.validation.foreign import foreign_columns

if TYPE_CHECKING:
    from reverse_etl.pipeline.unchanged import CleanDiff

# Invalid rows are many (one per row): the plan keeps the first ones and counts the rest.
# Reasons are grouped, so they are few, unless they quote values (an event name, a time):
# that many distinct reasons are kept, the rest counted.
MAX_INVALID_LISTED = 20
MAX_REASONS = 1000
_TABLES = itertools.count()
# Rows per row group of the plan's file. Each thread of the encode buffers a row group
# before writing it: 200k first syncs peaked at 386 MB with 16,384, 314-325 MB with 1,024 to
# 4,096; the 1M first sync at 439-442 MB with 4,096, 408-414 MB with 1,024-2,048, against
# 417-426 MB for a temporary table (docs/performance.md).
PLAN_ROW_GROUP = 2048
MAX_SAMPLES = 3
DUPLICATE_KEY = "duplicate primary key"
# What a run says of a destination whose diff it skipped (``inputs.py``, ``unchanged.py``).
MODEL_NOT_RUN = (
    "the model's files and the state are as when the last sync left nothing to send: "
    "the model was not run"
)


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
    """What one destination's sync would send, with counts, reasons and samples."""

    destination: Destination
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
    invalid_reasons_not_listed: int = 0  # distinct reasons past MAX_REASONS
    warning_reasons_not_listed: int = 0
    mapping: dict[str, Any] = field(default_factory=dict)
    mapping_fingerprint: str = ""
    mapping_change: MappingChange | None = None
    previous: ScopeInfo | None = None
    samples: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    dedup: DedupCounts = field(default_factory=DedupCounts)  # held back, resent, twice
    match_keys: Coverage | None = None  # share of the rows to send per match key
    # What this sync's diff was computed from, kept to be recorded once everything it found
    # is acknowledged (``inputs.remember_sent``): the next diff is then skipped.
    record_after_send: CleanDiff | None = None
    # The file ``rows_table`` reads, when it reads it as written (no duplicate key): the send
    # reads it directly (``send.stream_chunks``).
    rows_file: Path | None = None
    # False when the diff was skipped, its inputs and the state being as at a diff that
    # found nothing to send (``unchanged.py``): the counts are the recorded ones.
    model_run: bool = True

    @property
    def name(self) -> str:
        return self.destination.name

    @property
    def notes(self) -> tuple[Problem, ...]:
        """What the run says of this destination that is neither a warning nor an error: a
        value destinations.yml spells in another case (``web`` read as ``WEB``), a model not
        run. Text output says them as they happen; ``--format json`` lists them here."""
        skipped = () if self.model_run else (Problem(MODEL_NOT_RUN, severity="note"),)
        return (*self.destination.config.notes, *skipped)

    @property
    def held_reason(self) -> str:
        """Why the changed rows counted in ``dedup.held`` are not sent (on_change)."""
        d = self.destination
        hours = round(d.capabilities.dedup_window_seconds / 3600)
        return held_reason(d.on_change, hours, d.capabilities.platform)

    @property
    def rows_valid(self) -> int:
        return self.rows_total - self.rows_invalid

    @property
    def rows_to_send(self) -> int:
        return self.rows_new + self.rows_changed

    @property
    def invalid_rows_not_listed(self) -> int:
        """Invalid rows past the first MAX_INVALID_LISTED (``invalid_rows``)."""
        return self.rows_invalid - len(self.invalid_rows)

    def to_dict(self, root: Path | None = None) -> dict[str, Any]:
        """The plan's ``--format json`` entry; files inside ``root`` (the project) are named
        relative to it, as the text output names them."""
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
            "on_change": self.destination.on_change,
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
            "invalid_reasons_not_listed": self.invalid_reasons_not_listed,
            "invalid_rows": [{"key": r.key, "reason": r.reason} for r in self.invalid_rows],
            "invalid_rows_not_listed": self.invalid_rows_not_listed,
            "warning_reasons": [{"reason": r, "rows": n} for r, n in self.warning_reasons],
            "warning_reasons_not_listed": self.warning_reasons_not_listed,
            "warnings": [w.shown_from(root).render() for w in self.warnings],
            "notes": [n.shown_from(root).render() for n in self.notes],
            "model_run": self.model_run,
            "skip_invalid_record": s.skip_invalid_record,
            "samples": list(self.samples),
            "match_keys": self.match_keys.to_dict() if self.match_keys else None,
        }


@dataclass(frozen=True)
class ModelInput:
    """The model's rows as the local DuckDB sees them: a relation (the model's own SQL, or a
    table its rows were staged into from another warehouse) and its Arrow schema."""

    relation: str
    schema: pa.Schema
    prekeyed: bool = False  # rows of a warehouse diff (see state/diff.py)
    unchanged_elsewhere: int = 0  # unchanged rows the warehouse diff kept where they are
    dedup: DedupCounts = field(default_factory=DedupCounts)  # held rows stay out too
    record_after_send: CleanDiff | None = None  # see DestinationPlan
    model_run: bool = True  # see DestinationPlan


def encode_plan_for(
    dest: Destination, compiled: CompiledModel, model: ModelInput, ignore: Sequence[str] = ()
) -> tuple[EncodePlan, list[Problem]]:
    """Map the model's columns; raise ValidationFailed with every problem at once.
    ``ignore``: columns another platform reads, not sent here."""
    schema, relation = model.schema, model.relation
    encode, problems = dest.encode_plan(
        schema, relation, compiled.model.primary_key, prekeyed=model.prekeyed, ignore=ignore
    )
    errors = [p for p in problems if p.severity == "error"]
    if errors or encode is None:
        raise ValidationFailed.from_problems(
            errors or problems,
            summary=f"destination '{dest.name}': model '{compiled.name}' does not fit "
            f"{dest.config.type}",
        )
    if not encode.mask_keys and any(pii_name(k) for k in encode.key_columns):
        encode = replace(encode, mask_keys=True)  # a key column named after personal data
    return encode, [p for p in problems if p.severity != "error"]


@dataclass(frozen=True)
class StateView:
    """What the plan needs from the state for one destination (None: nothing synced)."""

    scope: str
    previous: ScopeInfo | None


def build_destination_plan(
    engine: DuckDBEngine,
    dest: Destination,
    compiled: CompiledModel,
    model: ModelInput,
    state: StateView,
    *,
    full_refresh: bool = False,
    samples: int = MAX_SAMPLES,
    sources: Sources = (),
) -> DestinationPlan:
    """Run the model, the encoder and the diff once for counts, reasons and samples.
    ``sources``: the source columns each of the model's columns reads, as static inference
    found them (``DestinationValidation.sources``; empty: unknown)."""
    encode, warnings = encode_plan_for(dest, compiled, model, foreign(dest, compiled, model))
    encode = dest.prepare(engine, encode)
    table, rows_file = encode_rows(engine, encode)
    counts = count_rows(engine, dest, table)
    # A key or event id whose values hold an e-mail address or a phone number (``'lead-' ||
    # email``) is shown and logged hashed, whatever its column is called; so is an event id
    # holding a key that is (``customer_phone AS event_id``), and a key or event id that
    # reads what a personal-data column reads (``customer_id || '-' || order_id`` beside
    # ``customer_id AS external_id``: ``personal_ids.py``).
    lineage = personal_reads(dest, encode.key_columns, sources)
    mask_keys = encode.mask_keys or counts.pii_keys or lineage.keys
    mask_ids = counts.pii_event_ids or lineage.event_ids or (mask_keys and counts.ids_hold_keys)
    if (mask_keys, mask_ids) != (encode.mask_keys, encode.mask_event_ids):
        encode = replace(encode, mask_keys=mask_keys, mask_event_ids=mask_ids)
    changed = counts.changed
    invalid, invalid_more = _reasons(engine, table, "__errors") if counts.invalid else ([], 0)
    # Warnings are about rows that are sent: an invalid row's say nothing of what is sent
    # (its errors are listed), and counted it made "4 rows with warnings" of 2 sent.
    sent = f"(SELECT __warnings FROM {table} WHERE __errors IS NULL)"
    warned, warned_more = _reasons(engine, sent, "__warnings") if counts.warned else ([], 0)
    previous = state.previous
    print_ = fingerprint(encode.mapping)
    change = None
    if previous is not None and previous.mapping and previous.mapping_fingerprint != print_:
        change = MappingChange(
            tuple(mapping_changes(orjson.loads(previous.mapping), encode.mapping)), changed
        )
    return DestinationPlan(
        destination=dest,
        compiled=compiled,
        encode=encode,
        scope=state.scope,
        full_refresh=full_refresh,
        rows_table=table,
        rows_file=rows_file,
        warnings=tuple(warnings),
        rows_total=counts.total + model.unchanged_elsewhere + model.dedup.held,
        rows_invalid=counts.invalid,
        rows_warned=counts.warned,
        rows_new=counts.new,
        rows_changed=changed,
        rows_unchanged=counts.unchanged + model.unchanged_elsewhere,
        invalid_rows=tuple(invalid_rows(engine, table, encode.mask_keys) if counts.invalid else ()),
        invalid_reasons=tuple(invalid),
        warning_reasons=tuple(warned),
        invalid_reasons_not_listed=invalid_more,
        warning_reasons_not_listed=warned_more,
        mapping=encode.mapping,
        mapping_fingerprint=print_,
        mapping_change=change,
        previous=previous,
        samples=tuple(
            sample_payloads(
                engine,
                table,
                samples,
                masked_id=dest.capabilities.event_id_field if encode.mask_event_ids else None,
            )
        ),
        dedup=model.dedup,
        match_keys=counts.coverage,
        record_after_send=model.record_after_send,
        model_run=model.model_run,
    )


def foreign(dest: Destination, compiled: CompiledModel, model: ModelInput) -> list[str]:
    """The model's columns another platform reads: not sent here, as ``retl validate`` says
    (validation/foreign.py)."""
    names = model.schema.names
    keys = dest.key_columns(names, compiled.model.primary_key) or ()
    others = other_catalogs(dest.config.type)
    return list(foreign_columns(names, dest.rules(), others, keys=keys))


def encode_rows(engine: DuckDBEngine, encode: EncodePlan) -> tuple[str, Path | None]:
    """The diff left only new and changed rows (and rows with a duplicate key). One pass
    encodes them into a Parquet file of the workbench's scratch folder, read through a view
    of the returned name; the counts, samples and the send then read it, so nothing is
    encoded twice. Only valid rows keep a payload. Also returned: the file itself when the
    view reads it as written (no duplicate key), else None.

    A file rather than a temporary table: DuckDB holds a table's pages in its memory up to
    its limit (170 MB of payloads at 200k rows, kept through the send and the fold), and
    writing them cost more than compressing them into row groups of ``PLAN_ROW_GROUP`` rows
    and writing those to disk; each column of a file is read alone, so the counts do not
    read the payloads (issue #18, docs/performance.md)."""
    table = f"__retl_rows_{next(_TABLES)}"
    path = engine.scratch.new(table, ".parquet")
    # What the model's run and the phone pre-pass left in DuckDB's allocator goes back before
    # the encode, and what the encode leaves goes back after it: otherwise each step's peak
    # sits on the one before (-16 MB at the 200k first sync's encode; docs/performance.md).
    engine.release_memory()
    # A large pre-pass table (a phone table of a million numbers) under the wide encode:
    # out of core from the start, rather than out of memory first (engine.joins_outgrow).
    engine.execute(
        f"""COPY (
            SELECT __key, __hash, __errors, __warnings, __change, __match,
                   CASE WHEN __errors IS NULL AND __change <> 'unchanged' THEN __payload END
                       AS __payload,
                   CASE WHEN __errors IS NULL AND __change <> 'unchanged' THEN __event_id END
                       AS __event_id
            FROM (SELECT *, __change_in AS __change FROM ({encode.sql})))
            TO {lit(str(path))} (FORMAT parquet, COMPRESSION lz4_raw,
                                 ROW_GROUP_SIZE {PLAN_ROW_GROUP})""",
        out_of_core=engine.joins_outgrow(encode.tables),
    )
    # And before the duplicate keys' pass: its hash table on top of the pages the encode
    # left set the peak of a 4M-row Spark first sync (550 against 525 MB; docs/performance.md)
    engine.release_memory()
    plain = _rows_view(engine, table, f"read_parquet({file_literal(path)})")
    engine.release_memory()
    return table, path if plain else None


def release_rows(engine: DuckDBEngine, table: str) -> None:
    """Drop what ``encode_rows`` made (its view, file and duplicate keys) before the
    workbench closes (which removes the file anyway)."""
    engine.execute(f"DROP VIEW IF EXISTS {table}")
    engine.execute(f"DROP TABLE IF EXISTS {_duplicates(table)}")
    engine.scratch.discard(table)


def _duplicates(table: str) -> str:
    """The table of the keys ``table``'s rows share (``_rows_view``)."""
    return f"{table}_duplicates"


def _rows_view(engine: DuckDBEngine, table: str, rows: str) -> bool:
    """The view of the plan's rows: as written, but rows sharing a key are all invalid
    (which one is "the" event would be a guess), their payloads dropped.

    The keys are grouped by their 64-bit hash first, and only the keys of a hash seen twice
    (the duplicates, and the rare collision) are grouped by their text: a hash table of
    every key's text took ~95 MB above the workbench's limit at 10M rows, and grew with the
    rows; one of hashes takes ~55 MB, and half the time (issue #17). With no duplicate (the
    usual case), the view reads the file as it is, and True is returned."""
    duplicates = _duplicates(table)
    twice = (
        f"SELECT hash(__key) FROM {rows} WHERE __key IS NOT NULL "
        "GROUP BY hash(__key) HAVING count(*) > 1"
    )
    engine.execute(
        f"""CREATE OR REPLACE TEMP TABLE {duplicates} AS
            SELECT __key FROM {rows}
            WHERE __key IS NOT NULL AND hash(__key) IN ({twice})
            GROUP BY __key HAVING count(*) > 1"""
    )
    if not engine.rows(f"SELECT 1 FROM {duplicates} LIMIT 1"):
        engine.execute(f"DROP TABLE {duplicates}")
        engine.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM {rows}")
        return True
    engine.execute(
        f"""CREATE OR REPLACE TEMP VIEW {table} AS
            SELECT * EXCLUDE (__duplicate) REPLACE (
                CASE WHEN __duplicate THEN concat_ws('; ', __errors, '{DUPLICATE_KEY}')
                     ELSE __errors END AS __errors,
                CASE WHEN __duplicate THEN NULL ELSE __payload END AS __payload)
            FROM (SELECT *, coalesce(__key IN (SELECT __key FROM {duplicates}), false)
                            AS __duplicate
                  FROM {rows})"""
    )
    return False


@dataclass(frozen=True)
class RowCounts:
    total: int
    invalid: int
    warned: int
    new: int
    changed: int
    unchanged: int
    coverage: Coverage | None
    pii_keys: bool = False  # a key's text holds an e-mail address or a phone number
    pii_event_ids: bool = False  # so does an event id sent
    ids_hold_keys: bool = False  # an event id sent holds its row's key


def count_rows(engine: DuckDBEngine, dest: Destination, table: str) -> RowCounts:
    """Every count in one scan; match keys are summed in the same pass (no second scan)."""
    extra = dest.coverage_sql()
    (total, invalid, warned, new, changed, unchanged, *match_counts) = engine.rows(
        f"""SELECT count(*),
               count(*) FILTER (WHERE __errors IS NOT NULL),
               count(*) FILTER (WHERE __warnings IS NOT NULL AND __errors IS NULL),
               count(*) FILTER (WHERE __errors IS NULL AND __change = 'new'),
               count(*) FILTER (WHERE __errors IS NULL AND __change = 'changed'),
               count(*) FILTER (WHERE __errors IS NULL AND __change = 'unchanged'),
               coalesce(bool_or({pii_value_sql("__key")}), false),
               coalesce(bool_or({pii_value_sql("__event_id")}), false),
               coalesce(bool_or(__key <> '' AND contains(__event_id, __key)), false)
               {"".join(", " + e for e in extra)}
            FROM {table}"""
    )[0]
    pii_keys, pii_event_ids, ids_hold_keys = (bool(match_counts.pop(0)) for _ in range(3))
    coverage = dest.coverage(int(new) + int(changed), match_counts) if extra else None
    return RowCounts(
        int(total),
        int(invalid),
        int(warned),
        int(new),
        int(changed),
        int(unchanged),
        coverage,
        pii_keys,
        pii_event_ids,
        ids_hold_keys,
    )


def invalid_rows(engine: DuckDBEngine, table: str, mask: bool) -> list[InvalidRow]:
    """The first invalid rows, by key (hashed when the key is PII)."""
    return [
        InvalidRow(masked_key(k) if mask and k is not None else k, mask_text(str(r)))
        for k, r in engine.rows(
            f"SELECT __key, __errors FROM {table} WHERE __errors IS NOT NULL "
            f"ORDER BY __key NULLS FIRST LIMIT {MAX_INVALID_LISTED}"
        )
    ]


def sample_payloads(
    engine: DuckDBEngine, table: str, samples: int, *, masked_id: str | None = None
) -> list[dict[str, Any]]:
    """The payloads of the first ``samples`` rows to send, by key.

    The keys are found first from the narrow columns: a row keeps its payload exactly when it
    has no errors and is not unchanged (``encode_rows``; a duplicated key's rows get an error
    with their payload removed), and those rows' keys are unique. Ordering the rows by key
    over the payload column itself read every payload back into the workbench: +34 MB of the
    200k first sync's peak RSS, its highest point (issue #18).

    A sample is printed (``retl plan`` in a pull request's checks, the JSON report, the local
    page): what is sent in clear is masked (an IP, a user agent, an e-mail address in a free
    text or a URL), as on the sandbox's page (``sandbox/feed.mask_pii``), and the event id
    (its field ``masked_id``) when event ids hold personal data."""
    if not samples:
        return []
    first = (
        f"SELECT __key FROM {table} WHERE __errors IS NULL AND __change <> 'unchanged' "
        f"ORDER BY __key LIMIT {samples}"
    )
    rows = engine.rows(
        f"SELECT __payload FROM {table} WHERE __key IN ({first}) AND __payload IS NOT NULL "
        "ORDER BY __key"
    )
    return [shown_payload(payload, masked_id) for (payload,) in rows]


def shown_payload(payload: str | bytes, masked_id: str | None) -> dict[str, Any]:
    """One encoded event as retl prints it (plan samples, ``retl show --payload``): what the
    catalogs mark ``masked`` and is not hashed, and personal data in free texts, masked
    (``sandbox/feed.mask_pii``); the event id (its field ``masked_id``) hashed when event ids
    hold personal data."""
    from reverse_etl.sandbox.feed import mask_pii

    sample = orjson.loads(payload)
    # the raw id hashed as the delivery log hashes it, before mask_pii (which would hash an
    # id that holds a phone number itself: twice, then)
    if masked_id is not None and isinstance(sample.get(masked_id), str):
        sample[masked_id] = masked_key(sample[masked_id])
    shown: dict[str, Any] = mask_pii(sample)
    return shown


def _reasons(engine: DuckDBEngine, rel: str, column: str) -> tuple[list[tuple[str, int]], int]:
    """Each reason and its rows, most rows first (at most MAX_REASONS), and how many
    distinct reasons are past that."""
    rows = engine.rows(
        f"SELECT r, count(*) AS n, count(*) OVER () AS reasons FROM (SELECT "
        f"unnest(string_split({column}, '; ')) AS r FROM {rel} WHERE {column} IS NOT NULL) "
        f"GROUP BY r ORDER BY n DESC, r LIMIT {MAX_REASONS}"
    )
    total = int(rows[0][2]) if rows else 0
    # A reason may quote the row's value ("currency 'zed@example.com' is not accepted"): its
    # personal data is masked, as the history does, and reasons that then read alike merge.
    merged: dict[str, int] = {}
    for r, n, _ in rows:
        text = mask_text(str(r))
        merged[text] = merged.get(text, 0) + int(n)
    return sorted(merged.items(), key=lambda item: (-item[1], item[0])), total - len(rows)


def check_invalid(plans: Sequence[DestinationPlan]) -> list[Problem]:
    """Problems for destinations whose invalid rows must stop the run (skip_invalid_record off)."""
    out = []
    for plan in plans:
        if plan.rows_invalid and not plan.destination.settings.skip_invalid_record:
            reasons = ", ".join(f"{r} ({n})" for r, n in plan.invalid_reasons[:3])
            more = len(plan.invalid_reasons) - 3 + plan.invalid_reasons_not_listed
            reasons += f" and {more} more reason(s) ('retl plan' lists them)" if more > 0 else ""
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
                f"min_match_coverage {m.minimum} ({percent(m.minimum or 0)}): nothing was sent",
                file=plan.destination.config.file,
                line=plan.destination.config.line_of("min_match_coverage"),
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
