"""TikTokDestination: from a model's output schema to encode SQL, and from rows to requests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pyarrow as pa
from pydantic import SecretStr

from reverse_etl.config.destinations import DestinationConfig
from reverse_etl.destinations.tiktok.auth import CredentialsStore
from reverse_etl.destinations.tiktok.config import TikTokConfig
from reverse_etl.destinations.tiktok.encode import (
    EncodeSpec,
    build_encode_sql,
    flatten_objects,
    key_columns_for,
)
from reverse_etl.destinations.tiktok.mapping import ColumnMapping, key_only_columns, map_columns
from reverse_etl.destinations.tiktok.vocab import EVENT_SOURCES
from reverse_etl.errors import AuthError, ConfigError, Problem
from reverse_etl.state.diff import WAREHOUSE_COLUMNS


@dataclass(frozen=True)
class EncodePlan:
    """How one destination turns its model's rows into events."""

    mapping: ColumnMapping
    spec: EncodeSpec
    sql: str
    relation: str = ""  # the rows the SQL reads (struct columns flattened) ...
    schema: pa.Schema | None = None  # ... and their columns

    def with_phone_map(self, table: str) -> EncodePlan:
        """The same plan, reading hashed phones from ``table`` (see encode.phone_map_sql)."""
        assert self.schema is not None
        spec = replace(self.spec, phone_table=table)
        sql = build_encode_sql(self.relation, self.schema, self.mapping, spec)
        return replace(self, spec=spec, sql=sql)


class TikTokDestination:
    """One configured ``tiktok_events`` destination."""

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

    def _problem(self, message: str, key: str | None = None, hint: str | None = None) -> Problem:
        return Problem(
            message,
            file=self.config.file,
            line=self.config.line,
            key=f"destinations.{self.name}" + (f".{key}" if key else ""),
            hint=hint,
        )

    def encode_plan(
        self,
        schema: pa.Schema,
        relation: str,
        model_primary_key: Sequence[str] | None,
        *,
        prekeyed: bool = False,
    ) -> tuple[EncodePlan | None, list[Problem]]:
        """The encode SQL over ``relation``, plus every problem found on the way."""
        s = self.settings
        source = s.event_data_source
        schema, relation = flatten_objects(schema, relation)
        names = list(schema.names)
        configured = [s.primary_key] if isinstance(s.primary_key, str) else s.primary_key
        keys = key_columns_for(names, configured, model_primary_key)
        # Key columns that are not TikTok parameters identify rows but are not sent.
        ignore = key_only_columns(keys[0] if keys else ())
        if prekeyed:
            ignore += list(WAREHOUSE_COLUMNS)
        mapping = map_columns(names, source, ignore=ignore)
        problems = [
            Problem(
                i.text,
                file=self.config.file,
                line=self.config.line,
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
        return EncodePlan(
            mapping, spec, build_encode_sql(relation, schema, mapping, spec), relation, schema
        ), problems

    def stored_token(self) -> SecretStr | None:
        """With ``auth_method: oauth`` and no usable ``access_token``: the token stored by
        ``retl auth tiktok`` (None when there is none, or it is not needed)."""
        s = self.settings
        if s.auth_method != "oauth" or (
            s.access_token is not None and s.access_token.is_available()
        ):
            return None
        credentials = CredentialsStore().load(s.oauth_app_id)
        return credentials.access_token if credentials is not None else None

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
