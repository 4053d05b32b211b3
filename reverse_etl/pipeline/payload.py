"""``retl show MODEL --payload KEY``: the request body a sync would send for one row, now.

The row goes through the plan's own machinery (``plan.build_destination_plan``: the same
encode SQL, phone pre-pass and row checks as a sync), keyed the way the diff keys it
(``state/diff.py``'s row key, which is the ``__key`` reports and the delivery log show), and
is wrapped in the envelope the destination's session would open with
(``Destination.offline_envelope``). No network call, no state read, no token: the token is a
request header, never part of the body. The event is printed as the plan's samples are
(``plan.shown_payload``): what the catalogs mark ``masked`` (an IP, a user agent, a click ID)
masked, the hashed fields as sent.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from reverse_etl.config.suggest import did_you_mean
from reverse_etl.destinations.base import Destination
from reverse_etl.destinations.shared.pii_text import looks_pii, masked_key
from reverse_etl.destinations.shared.sql import lit
from reverse_etl.errors import Problem, UsageError, ValidationFailed
from reverse_etl.models.compile import CompiledModel, model_errors
from reverse_etl.pipeline.personal_ids import Sources
from reverse_etl.pipeline.plan import (
    DestinationPlan,
    ModelInput,
    StateView,
    build_destination_plan,
    encode_plan_for,
    foreign,
    release_rows,
    shown_payload,
)
from reverse_etl.state.diff import NEWEST_FORM, ROW_KEY, all_rows_sql, row_parts

if TYPE_CHECKING:
    from reverse_etl.engine.duckdb import DuckDBEngine
    from reverse_etl.pipeline.context import RunContext

KEY_SEPARATOR = "\x1f"  # between the parts of a composite key (state/diff.py's row key)
EXAMPLE_KEYS = 3


@dataclass(frozen=True)
class PayloadBody:
    """One destination's request body for one row (``body`` None: the row is invalid, and a
    sync would not send it: ``errors`` says why)."""

    destination: str
    platform: str
    key: str  # as reports show it: hashed (sha256:...) when the key is PII
    body: dict[str, Any] | None
    errors: str | None = None
    warnings: str | None = None
    pending: tuple[str, ...] = ()  # what a sync fills in when it sends

    def to_dict(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "platform": self.platform,
            "key": self.key,
            "body": self.body,
            "errors": self.errors,
            "warnings": self.warnings,
            "filled_in_when_sending": list(self.pending),
        }


def key_text(key: str, columns: Sequence[str]) -> str:
    """The key as the row key a sync uses: one column's value as text; for a key of several
    columns, their texts in order joined by U+001F, or (easier to type) a JSON list of them,
    ``'["2024-05-01", "o-1"]'``."""
    if len(columns) < 2 or not key.lstrip().startswith("["):
        return key
    try:
        parts = orjson.loads(key)
    except orjson.JSONDecodeError:
        return key
    if not isinstance(parts, list) or len(parts) != len(columns):
        return key
    return KEY_SEPARATOR.join(_part(p) for p in parts)


def _part(value: Any) -> str:
    if value is None:
        return "\x1eN"  # a NULL part's mark in the row key (state/diff.row_parts)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def payload_bodies(
    project: RunContext,
    model: str,
    key: str,
    destination: str | None = None,
    *,
    sandbox: bool = False,
) -> list[PayloadBody]:
    """See ``Project.payload``."""
    dests = _destinations(project, model, destination)
    validations = project.validate([f"destination:{d.name}" for d in dests])
    problems = list(dict.fromkeys(p for v in validations for p in v.errors))
    if problems:
        raise ValidationFailed.from_problems(
            problems, summary="validation failed: a sync would send nothing (see 'retl validate')"
        )
    compiled = project.graph.compiled(model)
    sources = {v.destination: v.sources for v in validations}  # for pipeline/personal_ids.py
    out: list[PayloadBody] = []
    missing: list[Problem] = []
    for dest in dests:
        with model_errors(compiled):
            body, not_found = _one(
                project, dest, compiled, key, sandbox=sandbox, sources=sources.get(dest.name, ())
            )
        if not_found is not None:
            missing.append(not_found)
        if body is not None:
            out.append(body)
    if missing:
        raise UsageError.from_problems(dict.fromkeys(missing))
    return out


def _destinations(project: RunContext, model: str, name: str | None) -> list[Destination]:
    known = list(project.graph.order)
    if model not in project.graph.models:
        raise UsageError(
            f"no model named '{model}'",
            key="MODEL",
            hint=did_you_mean(model, known)
            or ("models: " + ", ".join(known) if known else "add a .sql file to models/"),
        )
    everything = project.destinations_for_run(())
    if name is not None:
        named = [d for d in everything if d.name == name]
        if not named:
            names = [d.name for d in everything]
            raise UsageError(
                f"no destination named '{name}'",
                key="--destination",
                hint=did_you_mean(name, names) or "destinations: " + ", ".join(names),
            )
        if named[0].settings.model != model:
            reads = named[0].settings.model
            raise UsageError(
                f"destination '{name}' reads model '{named[0].settings.model}', not '{model}'",
                key="--destination",
                hint=f"retl show {reads} --payload KEY --destination {shlex.quote(name)}",
            )
        return named
    readers = [d for d in everything if d.settings.model == model]
    if not readers:
        raise UsageError(
            f"no destination reads model '{model}': there is no request body to show",
            key="MODEL",
            hint="destinations read: "
            + ", ".join(sorted({d.settings.model for d in everything}) or ["nothing"]),
        )
    return readers


def _one(
    project: RunContext,
    dest: Destination,
    compiled: CompiledModel,
    key: str,
    *,
    sandbox: bool,
    sources: Sources = (),
) -> tuple[PayloadBody | None, Problem | None]:
    """The body for ``dest``, or why the key matches no row."""
    bench = project.workbench
    whole = project.model_input(compiled)
    # A model that does not fit: every problem, first. Columns another platform reads are not
    # sent here, as in a plan (a model feeding TikTok and Meta has columns of each).
    encode_plan_for(dest, compiled, whole, foreign(dest, compiled, whole))
    columns = dest.key_columns(whole.schema.names, compiled.model.primary_key) or ()
    rows = row_parts(
        f"SELECT * FROM {whole.relation}", whole.schema, list(columns), form=NEWEST_FORM
    )
    text = key_text(key, columns)
    # As a first sync's diff: every row is new. Only the rows of this key go on (two rows
    # with it are both invalid, as in a sync).
    one = f"(SELECT * FROM ({all_rows_sql(rows.sql)}) AS __all WHERE {ROW_KEY} = {lit(text)})"
    relation = f"{one} AS __one"
    model = ModelInput(relation, bench.schema(f"SELECT * FROM {relation}"), prekeyed=True)
    plan = build_destination_plan(
        bench,
        dest,
        compiled,
        model,
        StateView(dest.state_scope(), None),
        samples=0,
        sources=sources,
    )
    try:
        # A key typed with an e-mail address or a phone number in it is never echoed, even
        # when no row has it (the plan's value test saw no rows).
        mask = plan.encode.mask_keys or looks_pii(text)
        if plan.rows_total == 0:
            return None, _not_found(bench, compiled.name, key, columns, rows.sql, mask=mask)
        return _body(bench, plan, dest, _shown(text, mask), sandbox), None
    finally:
        release_rows(bench, plan.rows_table)
        for table in plan.encode.tables:
            bench.execute(f"DROP TABLE IF EXISTS {table}")


def _body(
    bench: DuckDBEngine, plan: DestinationPlan, dest: Destination, shown: str, sandbox: bool
) -> PayloadBody:
    payload, errors, warnings = bench.rows(
        f"SELECT __payload, __errors, __warnings FROM {plan.rows_table} "
        "ORDER BY __errors NULLS FIRST LIMIT 1"
    )[0]
    platform = dest.capabilities.platform
    if payload is None:
        return PayloadBody(dest.name, platform, shown, None, str(errors), warnings)
    envelope = dest.offline_envelope(sandbox=sandbox)
    # Masked as the plan's samples are: printed output never holds an IP, a user agent or a
    # click ID in clear (the hashed fields are shown as sent).
    masked_id = dest.capabilities.event_id_field if plan.encode.mask_event_ids else None
    event = orjson.dumps(shown_payload(str(payload), masked_id))
    body = orjson.loads(envelope.prefix + event + b"]}")
    return PayloadBody(dest.name, platform, shown, body, None, warnings, envelope.pending)


def _not_found(
    bench: DuckDBEngine,
    model: str,
    key: str,
    columns: Sequence[str],
    rows_sql: str,
    *,
    mask: bool,
) -> Problem:
    shown = _shown(key, mask)
    if len(columns) == 1:
        form = f"the key is column {columns[0]}, as text"
    else:
        form = (
            f"the key is columns {', '.join(columns)}: write their values as a JSON list in "
            "that order"
        )
    found = (
        []
        if mask
        else bench.rows(
            f"SELECT DISTINCT {ROW_KEY} FROM ({rows_sql}) AS __k WHERE {ROW_KEY} IS NOT NULL "
            f"ORDER BY 1 LIMIT {EXAMPLE_KEYS}"
        )
    )
    if mask or any(looks_pii(str(k)) for (k,) in found):
        examples = ""  # PII keys (e-mails, phone numbers): none are shown
    else:
        examples = ", ".join(_typed(str(k), len(columns)) for (k,) in found)
        examples = f"; keys look like: {examples}" if examples else "; the model has no rows"
    return Problem(
        f"model '{model}' has no row with the key {_quoted(shown, mask)}",
        key="--payload",
        hint=form + examples,
    )


def _typed(row_key: str, columns: int) -> str:
    """A row key as a user types it: the text, or a JSON list of a composite key's parts."""
    if columns < 2:
        return f"'{row_key}'"
    return "'" + orjson.dumps(row_key.split(KEY_SEPARATOR)).decode() + "'"


def _shown(key: str, mask: bool) -> str:
    """The key as reports show it: hashed when it is PII (an e-mail is never echoed)."""
    return masked_key(key) if mask else key


def _quoted(shown: str, mask: bool) -> str:
    return shown if mask else f"'{shown}'"
