"""MetaDestination: from a model's output schema to encode SQL, and from rows to requests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from pydantic import SecretStr

from reverse_etl.config.destinations import DestinationConfig
from reverse_etl.destinations.base import (
    Capabilities,
    ColumnRules,
    EncodePlan,
    OfflineEnvelope,
    OnChange,
    ResolvedSource,
    Session,
    Target,
)
from reverse_etl.destinations.meta.catalog import ALL, CATALOG
from reverse_etl.destinations.meta.config import MetaConfig
from reverse_etl.destinations.meta.encode import (
    EncodeSpec,
    build_encode_sql,
    distinct_phones_sql,
    flatten_objects,
)
from reverse_etl.destinations.meta.fingerprint import describe_mapping
from reverse_etl.destinations.meta.mapping import (
    ColumnMapping,
    contents_key_issues,
    key_only_columns,
    map_columns,
)
from reverse_etl.destinations.meta.match import match_bits
from reverse_etl.destinations.meta.vocab import DEDUP_WINDOW_SECONDS, MAX_EVENTS_PER_REQUEST
from reverse_etl.destinations.shared.coverage import MatchBits, MatchCoverage
from reverse_etl.destinations.shared.phones import build_phone_table, register_phone_udf
from reverse_etl.destinations.shared.rows import key_columns_for
from reverse_etl.errors import ConfigError, Problem

if TYPE_CHECKING:
    import pyarrow as pa  # annotations only (#18)

    from reverse_etl.check import DestinationCheck
    from reverse_etl.delivery.retry import RetryPolicy
    from reverse_etl.engine.duckdb import DuckDBEngine
    from reverse_etl.sandbox import SandboxServer

_TABLES = itertools.count()
# The parameters whose values are PII: a key made of them is shown hashed in reports.
PII_PARAMS = frozenset(
    {
        "email",
        "phone",
        "external_id",
        "first_name",
        "last_name",
        "date_of_birth",
        "city",
        "zip_code",
    }
)


@dataclass(frozen=True)
class MetaEncoding:
    """How a Meta destination turns its model's rows into events (``EncodePlan.detail``)."""

    mapping: ColumnMapping
    spec: EncodeSpec
    sql: str
    relation: str  # the rows the SQL reads (struct columns flattened) ...
    schema: pa.Schema  # ... and their columns

    def with_phone_table(self, table: str) -> MetaEncoding:
        """The same encoding, reading parsed phones from ``table`` (shared/phones.py)."""
        spec = replace(self.spec, phone_table=table)
        sql = build_encode_sql(self.relation, self.schema, self.mapping, spec)
        return replace(self, spec=spec, sql=sql)


class MetaDestination:
    """One configured ``meta_conversions`` destination: the Destination contract for Meta."""

    type_name: ClassVar[str] = "meta_conversions"
    capabilities: ClassVar[Capabilities] = Capabilities(
        platform="Meta",
        max_events_per_request=MAX_EVENTS_PER_REQUEST,
        dedup_window_seconds=DEDUP_WINDOW_SECONDS,
        match_coverage=True,
        preflight_check=True,
        docs="docs/meta.md",
        request_settings="pixel_id, action_source and test_event_code",
    )

    def __init__(self, config: DestinationConfig) -> None:
        assert isinstance(config.settings, MetaConfig)
        self.config = config
        self.settings: MetaConfig = config.settings

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def event_source(self) -> str:
        return self.settings.action_source

    @property
    def on_change(self) -> OnChange:
        return self.settings.on_change

    def notices(self) -> list[str]:
        return list(self.settings.notices())

    def config_warnings(self) -> list[Problem]:
        return []

    def rules(self) -> ColumnRules:
        from reverse_etl.destinations.meta.rules import MetaRules

        return MetaRules(self.settings.action_source)

    def state_scope(self) -> str:
        """The pixel: pointing a destination at another pixel starts from an empty state.

        A ``test_event_code`` run keeps a state of its own, per code: Meta shows its events
        in the Test Events tab and does not use them for ads, so a row it sent must still go
        out live once the code is removed (in the live scope it was never sent)."""
        scope = f"meta:{self.settings.pixel_id}"
        code = self.settings.test_event_code
        return scope if code is None else f"{scope}:test:{code}"

    def _configured_key(self) -> list[str] | None:
        pk = self.settings.primary_key
        return [pk] if isinstance(pk, str) else pk

    def key_columns(
        self, names: Sequence[str], model_key: Sequence[str] | None
    ) -> tuple[str, ...] | None:
        keys = key_columns_for(names, self._configured_key(), model_key)
        return None if keys is None else keys[0]

    def _problem(
        self,
        message: str,
        key: str | None = None,
        hint: str | None = None,
        severity: str = "error",
    ) -> Problem:
        return Problem(
            message,
            file=self.config.file,
            line=self.config.line_of(key) if key else self.config.line,
            key=f"destinations.{self.name}" + (f".{key}" if key else ""),
            hint=hint,
            severity=severity,
        )

    def encode_plan(
        self,
        schema: pa.Schema,
        relation: str,
        model_key: Sequence[str] | None,
        *,
        prekeyed: bool = False,
        ignore: Sequence[str] = (),
        now: int | None = None,
    ) -> tuple[EncodePlan | None, list[Problem]]:
        """The encode SQL over ``relation``, plus every problem found on the way. ``now``:
        the Unix seconds the time checks compare with (tests; default: the clock)."""
        s = self.settings
        schema, relation = flatten_objects(schema, relation)
        names = list(schema.names)
        keys = key_columns_for(names, self._configured_key(), model_key)
        # Key columns that are not Meta parameters identify rows but are not sent.
        ignore = [*ignore, *key_only_columns(keys[0] if keys else ())]
        if prekeyed:
            # the diff module imports Arrow: validate (never prekeyed) goes without it (#18)
            from reverse_etl.state.diff import WAREHOUSE_COLUMNS

            ignore += list(WAREHOUSE_COLUMNS)
        mapping = map_columns(names, s.action_source, ignore=ignore)
        issues = [*mapping.issues, *contents_key_issues(mapping, schema)]
        problems = [self._problem(i.text, "model", i.hint, i.severity) for i in issues]
        # Rows that say their own action_source need what their source needs: a website row
        # without page_url is invalid, with its reason (checks.py); validate says it first.
        per_row = mapping.has("action_source")
        for required in CATALOG.required(s.action_source):
            if per_row and required.required_for != ALL:
                continue
            if not mapping.has(required.name):
                problems.append(
                    self._problem(
                        f"model '{s.model}' has no '{required.name}' column"
                        + (
                            ""
                            if required.required_for == ALL
                            else f" ({s.action_source} events need it)"
                        ),
                        "model",
                        f"add `... AS {required.name}` to the model's SELECT",
                    )
                )
        problems += self._key_problems(keys, names)
        if keys is None or any(p.severity == "error" for p in problems):
            return None, problems
        spec = EncodeSpec(
            model=s.model,
            action_source=s.action_source,
            key_columns=keys[0],
            derive_event_id=keys[1],
            limited_data_use=s.limited_data_use,
            default_phone_region=s.default_phone_region,
            prekeyed=prekeyed,
            now=now,
        )
        sql = build_encode_sql(relation, schema, mapping, spec)
        return _plan(MetaEncoding(mapping, spec, sql, relation, schema)), problems

    def _key_problems(
        self, keys: tuple[tuple[str, ...], bool] | None, names: Sequence[str]
    ) -> list[Problem]:
        s = self.settings
        if keys is None:
            return [
                self._problem(
                    f"model '{s.model}' has no event_id column and no primary key",
                    "primary_key",
                    "add an event_id column, set primary_key here, or "
                    "{{ config(primary_key='...') }} in the model",
                )
            ]
        missing = [k for k in keys[0] if k not in names]
        if missing:
            return [
                self._problem(
                    f"primary key column '{missing[0]}' is not in model '{s.model}'",
                    "primary_key",
                    "columns: " + ", ".join(names),
                )
            ]
        return []

    def prepare(self, engine: DuckDBEngine, plan: EncodePlan) -> EncodePlan:
        """Each distinct phone number parsed once (on every core), then looked up per row."""
        encoding: MetaEncoding = plan.detail
        register_phone_udf(engine)  # phones missing from the table, and lists of phones
        distinct = distinct_phones_sql(encoding.relation, encoding.schema, encoding.mapping)
        if distinct is None:
            return plan
        table = f"__retl_meta_phones_{next(_TABLES)}"
        # Meta documents a phone as digits with its country code (12133734253): read so
        # when they are no national number of the default region.
        region = encoding.spec.default_phone_region
        build_phone_table(engine, distinct, region, table, digits_international=True)
        reading = encoding.with_phone_table(table)
        return replace(plan, sql=reading.sql, detail=reading, tables=(*plan.tables, table))

    def _match_bits(self) -> MatchBits:
        return match_bits(self.name, self.config.file.name)

    def coverage_sql(self) -> list[str]:
        return self._match_bits().sql()

    def coverage(self, rows: int, counts: Sequence[int]) -> MatchCoverage:
        return self._match_bits().coverage(rows, counts)

    def target(self, sandbox: SandboxServer | None) -> Target:
        """The configured Graph API and token, or the running emulator, which is told about
        the pixel first (it serves only the pixels it knows) and takes its own token."""
        if sandbox is not None:
            from reverse_etl.sandbox import DEMO_META_TOKEN

            sandbox.meta.add_pixel(self.settings.pixel_id)
            return Target(sandbox.base_url, SecretStr(DEMO_META_TOKEN), sandbox=True)
        return Target(self.settings.api_base_url, self.access_token())

    def access_token(self) -> SecretStr:
        """The token to send (its environment variable is read now, not at load)."""
        token = self.settings.access_token
        if token is None:
            raise ConfigError(
                "access_token is required",
                file=self.config.file,
                line=self.config.line_of("access_token"),
                key=f"destinations.{self.name}.access_token",
                hint="access_token: \"{{ env_var('META_ACCESS_TOKEN') }}\"",
            )
        return token.reveal()

    def check(self, sandbox: SandboxServer | None, policy: RetryPolicy) -> DestinationCheck:
        """``retl check``: the token and the pixel, through one read of the pixel."""
        from reverse_etl.destinations.meta.check import check_one

        return check_one(self, sandbox, policy)

    def open(self, target: Target, policy: RetryPolicy) -> AbstractContextManager[Session]:
        from reverse_etl.destinations.meta.session import open_session

        return open_session(self, target, policy)

    def known_source(self, target: Target) -> ResolvedSource | None:
        """Meta has no event source to resolve: the pixel is the settings' (as ``open``)."""
        s = self.settings
        return ResolvedSource(s.action_source, s.pixel_id, "configured")

    def offline_envelope(self, *, sandbox: bool) -> OfflineEnvelope:
        """Meta resolves nothing at send time: the envelope is the settings' (the sandbox
        serves the configured pixel)."""
        from reverse_etl.destinations.meta.session import envelope_prefix

        return OfflineEnvelope(envelope_prefix(self.settings.test_event_code))


def _plan(encoding: MetaEncoding) -> EncodePlan:
    spec = encoding.spec
    mask = any(
        m.param is not None and m.param.name in PII_PARAMS and m.column in spec.key_columns
        for m in encoding.mapping.columns
    )
    return EncodePlan(
        sql=encoding.sql,
        key_columns=spec.key_columns,
        mask_keys=mask,
        mapping=describe_mapping(encoding),
        detail=encoding,
    )
