"""TikTokDestination: from a model's output schema to encode SQL, and from rows to requests."""

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
from reverse_etl.destinations.shared.coverage import MatchCoverage
from reverse_etl.destinations.shared.phones import build_phone_table, register_phone_udf
from reverse_etl.destinations.shared.rows import key_columns_for
from reverse_etl.destinations.tiktok.config import TikTokConfig
from reverse_etl.destinations.tiktok.encode import (
    EncodeSpec,
    build_encode_sql,
    distinct_phones_sql,
    flatten_objects,
)
from reverse_etl.destinations.tiktok.fingerprint import describe_mapping
from reverse_etl.destinations.tiktok.mapping import ColumnMapping, key_only_columns, map_columns
from reverse_etl.destinations.tiktok.match import match_bits
from reverse_etl.destinations.tiktok.vocab import (
    DEDUP_WINDOW_SECONDS,
    EVENT_SOURCES,
    MAX_EVENTS_PER_REQUEST,
)
from reverse_etl.errors import AuthError, ConfigError, Problem

if TYPE_CHECKING:
    import pyarrow as pa  # annotations only (#18)

    from reverse_etl.check import DestinationCheck
    from reverse_etl.delivery.retry import RetryPolicy
    from reverse_etl.destinations.tiktok.sources import EventSourceRequest
    from reverse_etl.engine.duckdb import DuckDBEngine
    from reverse_etl.sandbox import SandboxServer

_TABLES = itertools.count()
# Where an event source found by name goes in an envelope built without the network.
PENDING_SOURCE_ID = "<resolved when a sync sends>"
# The parameters whose values are PII: a key made of them is shown hashed in reports.
PII_PARAMS = frozenset({"email", "phone", "external_id"})


@dataclass(frozen=True)
class TikTokEncoding:
    """How a TikTok destination turns its model's rows into events (``EncodePlan.detail``)."""

    mapping: ColumnMapping
    spec: EncodeSpec
    sql: str
    relation: str = ""  # the rows the SQL reads (struct columns flattened) ...
    schema: pa.Schema | None = None  # ... and their columns

    def with_phone_map(self, table: str) -> TikTokEncoding:
        """The same plan, reading hashed phones from ``table`` (see encode.phone_map_sql)."""
        assert self.schema is not None
        spec = replace(self.spec, phone_table=table)
        sql = build_encode_sql(self.relation, self.schema, self.mapping, spec)
        return replace(self, spec=spec, sql=sql)


class TikTokDestination:
    """One configured ``tiktok_events`` destination: the Destination contract for TikTok."""

    type_name: ClassVar[str] = "tiktok_events"
    capabilities: ClassVar[Capabilities] = Capabilities(
        platform="TikTok",
        max_events_per_request=MAX_EVENTS_PER_REQUEST,
        dedup_window_seconds=DEDUP_WINDOW_SECONDS,
        resolves_event_source=True,
        match_coverage=True,
        preflight_check=True,
        docs="docs/tiktok.md",
        request_settings="event_source and event_source_id",
    )

    def __init__(self, config: DestinationConfig) -> None:
        assert isinstance(config.settings, TikTokConfig)
        self.config = config
        self.settings: TikTokConfig = config.settings

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def event_source(self) -> str:
        return EVENT_SOURCES[self.settings.event_data_source]

    @property
    def on_change(self) -> OnChange:
        return self.settings.on_change

    def notices(self) -> list[str]:
        return list(self.settings.notices())

    def config_warnings(self) -> list[Problem]:
        """An ``event_source_id`` with spaces around it (a padded environment variable): TikTok
        is sent it trimmed, but the state scope keeps it as written. Neither refused nor
        trimmed here: either would start a new scope and send every row again."""
        s = self.settings
        source_id = s.event_source_id
        if s.target_event_source != "ID" or source_id is None or source_id == source_id.strip():
            return []
        hours = DEDUP_WINDOW_SECONDS // 3600
        return [
            replace(
                self._problem(
                    f"event_source_id {source_id!r} has leading or trailing whitespace: it is "
                    "used as written in this destination's state (what was sent is remembered "
                    f"under it; TikTok is sent {source_id.strip()!r})",
                    "event_source_id",
                    "changing it later, even only to remove the spaces, starts a new dedup "
                    "scope: the next sync sends every row again, and TikTok drops a repeated "
                    f"event_id only within {hours} hours; remove them now only if this "
                    "destination has not sent anything yet",
                ),
                severity="warning",
            )
        ]

    def rules(self) -> ColumnRules:
        from reverse_etl.destinations.tiktok.rules import TikTokRules

        return TikTokRules(self.settings.event_data_source)

    def state_scope(self) -> str:
        """Known without the network, so ``retl plan`` can diff before anything is resolved:
        an ``ID`` destination is keyed by the ID, ``NAME``/``NEW`` by advertiser and name.
        Pointing a destination at another event source therefore starts from an empty state.

        A ``test_event_code`` run keeps a state of its own, per code: its events go to the
        Test Events tab, not to the live data, so a row it sent must still go out live once
        the code is removed (in the live scope it was never sent), and a new test code (a new
        Test Events session) sees every row again."""
        s = self.settings
        if s.target_event_source == "ID":
            scope = f"{s.event_data_source}:id:{s.event_source_id}"
        else:
            scope = f"{s.event_data_source}:name:{s.advertiser_id}:{s.event_source_name}"
        return scope if s.test_event_code is None else f"{scope}:test:{s.test_event_code}"

    def _configured_key(self) -> list[str] | None:
        pk = self.settings.primary_key
        return [pk] if isinstance(pk, str) else pk

    def key_columns(
        self, names: Sequence[str], model_key: Sequence[str] | None
    ) -> tuple[str, ...] | None:
        keys = key_columns_for(names, self._configured_key(), model_key)
        return None if keys is None else keys[0]

    def _problem(self, message: str, key: str | None = None, hint: str | None = None) -> Problem:
        return Problem(
            message,
            file=self.config.file,
            line=self.config.line_of(key) if key else self.config.line,
            key=f"destinations.{self.name}" + (f".{key}" if key else ""),
            hint=hint,
        )

    def encode_plan(
        self,
        schema: pa.Schema,
        relation: str,
        model_key: Sequence[str] | None,
        *,
        prekeyed: bool = False,
        ignore: Sequence[str] = (),
    ) -> tuple[EncodePlan | None, list[Problem]]:
        """The encode SQL over ``relation``, plus every problem found on the way."""
        s = self.settings
        source = s.event_data_source
        schema, relation = flatten_objects(schema, relation)
        names = list(schema.names)
        keys = key_columns_for(names, self._configured_key(), model_key)
        # Key columns that are not TikTok parameters identify rows but are not sent.
        ignore = [*ignore, *key_only_columns(keys[0] if keys else ())]
        if prekeyed:
            # the diff module imports Arrow: validate (never prekeyed) goes without it (#18)
            from reverse_etl.state.diff import WAREHOUSE_COLUMNS

            ignore += list(WAREHOUSE_COLUMNS)
        mapping = map_columns(names, source, ignore=ignore)
        problems = [
            Problem(
                i.text,
                file=self.config.file,
                line=self.config.line_of("model"),
                key=f"destinations.{self.name}.model",
                hint=i.hint,
                severity=i.severity,
            )
            for i in mapping.issues
        ]
        for required in (
            "event",
            "event_time",
            *(("app_id",) if source == "APP" else ()),
            *(("lead_id",) if source == "CRM" else ()),
        ):
            if not mapping.has(required):
                problems.append(
                    self._problem(
                        f"model '{s.model}' has no '{required}' column",
                        "model",
                        f"add `... AS {required}` to the model's SELECT",
                    )
                )
        if keys is None:
            problems.append(
                self._problem(
                    f"model '{s.model}' has no event_id column and no primary key",
                    "primary_key",
                    "add an event_id column, set primary_key here, or "
                    "{{ config(primary_key='...') }} in the model",
                )
            )
        else:
            missing = [k for k in keys[0] if k not in names]
            if missing:
                problems.append(
                    self._problem(
                        f"primary key column '{missing[0]}' is not in model '{s.model}'",
                        "primary_key",
                        "columns: " + ", ".join(names),
                    )
                )
        if any(p.severity == "error" for p in problems) or keys is None:
            return None, problems
        spec = EncodeSpec(
            model=s.model,
            source=source,
            key_columns=keys[0],
            derive_event_id=keys[1],
            limited_data_use=s.limited_data_use,
            default_phone_region=s.default_phone_region,
            prekeyed=prekeyed,
        )
        encoding = TikTokEncoding(
            mapping, spec, build_encode_sql(relation, schema, mapping, spec), relation, schema
        )
        return _plan(encoding), problems

    def prepare(self, engine: DuckDBEngine, plan: EncodePlan) -> EncodePlan:
        """Each distinct phone number parsed once (on every core), then looked up per row."""
        register_phone_udf(engine)
        encoding: TikTokEncoding = plan.detail
        assert encoding.schema is not None
        distinct = distinct_phones_sql(encoding.relation, encoding.schema, encoding.mapping)
        if distinct is None:
            return plan
        table = f"__retl_phones_{next(_TABLES)}"
        build_phone_table(engine, distinct, encoding.spec.default_phone_region, table)
        reading = encoding.with_phone_map(table)
        return replace(plan, sql=reading.sql, detail=reading, tables=(*plan.tables, table))

    def coverage_sql(self) -> list[str]:
        return match_bits(self.settings.event_data_source).sql()

    def coverage(self, rows: int, counts: Sequence[int]) -> MatchCoverage:
        s = self.settings
        return match_bits(s.event_data_source).coverage(rows, counts, s.min_match_coverage)

    def target(self, sandbox: SandboxServer | None) -> Target:
        if sandbox is not None:
            # The emulator (~0.1 s of imports) only when a run uses it (issue #18: start-up).
            from reverse_etl.destinations.tiktok.sandbox_target import override_for, seed_world

            seed_world(sandbox.world, [self.settings])
            o = override_for(sandbox, self.settings)
            return Target(o.base_url, o.token, sandbox=True, event_source_id=o.event_source_id)
        return Target(self.settings.api_base_url, self.access_token(self.stored_token()))

    def check(self, sandbox: SandboxServer | None, policy: RetryPolicy) -> DestinationCheck:
        """``retl check``: token, advertiser and event source through TikTok's read APIs."""
        from reverse_etl.destinations.tiktok.check import check_one
        from reverse_etl.destinations.tiktok.sandbox_target import seed_world

        if sandbox is not None:
            seed_world(sandbox.world, [self.settings])
        return check_one(self, sandbox, policy)

    def open(self, target: Target, policy: RetryPolicy) -> AbstractContextManager[Session]:
        from reverse_etl.destinations.tiktok.session import open_session

        return open_session(self, target, policy)

    def source_request(self, target: Target) -> EventSourceRequest:
        """The event source to resolve for ``target`` (the emulator's ID in a sandbox run)."""
        from reverse_etl.destinations.tiktok.sources import EventSourceRequest

        s = self.settings
        return EventSourceRequest(
            data_source=s.event_data_source,
            target=s.target_event_source,
            event_source_id=target.event_source_id or s.event_source_id,
            event_source_name=s.event_source_name,
            advertiser_id=s.advertiser_id,
            partner_name=s.partner_name,
        )

    def known_source(self, target: Target) -> ResolvedSource | None:
        """A source configured by ID (or the emulator's) is what ``open`` resolves without a
        call; one found or created by name needs TikTok (None)."""
        from reverse_etl.destinations.tiktok.sources import validate_request

        request = self.source_request(target)
        if request.target != "ID" or validate_request(request):
            return None  # the session says what is wrong, as before
        assert request.event_source_id is not None  # checked by validate_request
        source_id = request.event_source_id.strip()
        return ResolvedSource(self.event_source, source_id, "configured", request.event_source_name)

    def offline_envelope(self, *, sandbox: bool) -> OfflineEnvelope:
        """An ``ID`` source is known; a source found by name (``NAME``/``NEW``) is only known
        once a sync asks TikTok, so a placeholder stands for its ID."""
        from reverse_etl.destinations.tiktok.envelope import EnvelopeSpec
        from reverse_etl.destinations.tiktok.sandbox_target import DEMO_SOURCE_IDS

        s = self.settings
        pending: tuple[str, ...] = ()
        if s.target_event_source == "ID":
            source_id = (
                DEMO_SOURCE_IDS[s.event_data_source] if sandbox else (s.event_source_id or "")
            ).strip()
        else:
            source_id = PENDING_SOURCE_ID
            created = ", or created," if s.target_event_source == "NEW" else ""
            pending = (
                f"event_source_id: a sync looks up the {s.event_data_source} event source "
                f"named '{s.event_source_name}' in advertiser {s.advertiser_id}{created} when "
                f"it sends, and puts its ID where this body says {PENDING_SOURCE_ID}",
            )
        spec = EnvelopeSpec(
            EVENT_SOURCES[s.event_data_source], source_id, s.test_event_code, s.partner_name
        )
        return OfflineEnvelope(spec.prefix(), pending)

    def stored_token(self) -> SecretStr | None:
        """With ``auth_method: oauth`` and no usable ``access_token``: the token stored by
        ``retl auth tiktok`` (None when there is none, or it is not needed)."""
        s = self.settings
        if s.auth_method != "oauth" or (
            s.access_token is not None and s.access_token.is_available()
        ):
            return None
        # auth.py brings an HTTP server (the OAuth callback): not for every command (#18)
        from reverse_etl.destinations.tiktok.auth import CredentialsStore

        credentials = CredentialsStore().load(s.oauth_app_id)
        if credentials is None:
            return None
        # The token is the user's, not the project's: it goes only to the API that issued
        # it. A project's api_base_url (a pull request's, or a cloned repository's) could
        # otherwise name any host, plain http included, and `retl check` would send it there.
        issued = credentials.api_base_url.rstrip("/")
        if issued != s.api_base_url.rstrip("/"):
            raise AuthError(
                f"the stored OAuth token (app {credentials.app_id}) was issued by {issued}, not "
                f"by this destination's api_base_url {s.api_base_url}: retl sends a stored "
                "token only to the API that issued it",
                key=f"destinations.{self.name}.api_base_url",
                hint="remove api_base_url (or set it to that API), or run 'retl auth tiktok "
                "--api-base-url ...' for this one",
            )
        return credentials.access_token

    def access_token(self, stored: SecretStr | None = None) -> SecretStr:
        """The token to send: ``access_token`` when it resolves, else (oauth) the stored one.

        With ``auth_method: oauth``, an ``access_token`` whose environment variable is unset
        falls back to the token stored by ``retl auth tiktok``; without a stored token the
        missing variable is the error reported.
        """
        s = self.settings
        if s.access_token is not None:
            if (
                s.auth_method == "oauth"
                and stored is not None
                and not s.access_token.is_available()
            ):
                return stored
            return s.access_token.reveal()
        if s.auth_method == "oauth" and stored is not None:
            return stored
        if s.auth_method == "oauth":
            raise AuthError(
                "no access token: access_token is not set and no stored OAuth token was found",
                key=f"destinations.{self.name}.access_token",
                hint="run 'retl auth tiktok --app-id ... --secret ...' or set access_token "
                "with {{ env_var('TIKTOK_ACCESS_TOKEN') }}",
            )
        raise ConfigError(
            "access_token is required",
            file=self.config.file,
            key=f"destinations.{self.name}.access_token",
        )


def _plan(encoding: TikTokEncoding) -> EncodePlan:
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
