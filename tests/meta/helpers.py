"""Build a Meta destination from settings and encode a SELECT with it in a real DuckDB."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson

from reverse_etl.config.destinations import DestinationConfig
from reverse_etl.destinations.base import EncodePlan
from reverse_etl.destinations.meta.config import MetaConfig
from reverse_etl.destinations.meta.destination import MetaDestination
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.errors import Problem

NOW = 1_700_000_000  # the encoder's "now" in these tests (2023-11-14T22:13:20Z)
HOUR = 3600
DAY = 86_400
PIXEL = "1234567890123456"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def destination(**settings: Any) -> MetaDestination:
    values = {"type": "meta_conversions", "model": "m", "pixel_id": PIXEL, **settings}
    config = MetaConfig.model_validate(values)
    return MetaDestination(
        DestinationConfig("meta", "meta_conversions", "m", config, Path("destinations.yml"), 2)
    )


def plan_for(
    engine: DuckDBEngine,
    select: str,
    *,
    model_key: tuple[str, ...] | None = None,
    prekeyed: bool = False,
    **settings: Any,
) -> tuple[EncodePlan | None, list[Problem]]:
    dest = destination(**settings)
    schema = engine.schema(select)
    return dest.encode_plan(schema, f"({select}) AS t", model_key, prekeyed=prekeyed, now=NOW)


def encode(
    engine: DuckDBEngine,
    select: str,
    *,
    model_key: tuple[str, ...] | None = None,
    prekeyed: bool = False,
    prepare: bool = False,
    **settings: Any,
) -> list[dict[str, Any]]:
    """Encode ``select``'s rows; every row's columns, the payload parsed."""
    dest = destination(**settings)
    plan, problems = plan_for(engine, select, model_key=model_key, prekeyed=prekeyed, **settings)
    assert plan is not None, [p.render() for p in problems]
    if prepare:
        plan = dest.prepare(engine, plan)
    rows = engine.rows(
        "SELECT __key, __hash, __change_in, __errors, __warnings, __match, __payload, "
        f"__event_id FROM ({plan.sql}) ORDER BY __key NULLS FIRST"
    )
    out = []
    for k, h, c, e, w, m, p, event_id in rows:
        payload = orjson.loads(p)
        # __event_id (the delivery log's) is always the event id the payload carries
        assert event_id == payload.get("event_id"), (event_id, payload)
        out.append(
            {
                "key": k,
                "hash": h,
                "change": c,
                "errors": e,
                "warnings": w,
                "match": m,
                "payload": payload,
            }
        )
    return out


def at(seconds: int) -> str:
    """SQL for a TIMESTAMPTZ at Unix ``seconds``."""
    return f"to_timestamp({seconds})"


# A valid website purchase: the columns every row check needs. Tests override or drop them.
BASE: dict[str, str] = {
    "event": "'Purchase'",
    "event_id": "'e-1'",
    "event_time": at(NOW - HOUR),
    "page_url": "'https://shop.example/checkout'",
    "user_agent": "'Mozilla/5.0'",
    "ip": "'203.0.113.7'",
    "value": "42.5",
    "currency": "'USD'",
}


def select(**columns: str | None) -> str:
    """A one-row SELECT of BASE with ``columns`` added or replaced (None: left out)."""
    cols = {**BASE, **columns}
    return "SELECT " + ", ".join(f'{v} AS "{k}"' for k, v in cols.items() if v is not None)


def one(
    engine: DuckDBEngine, settings: dict[str, Any] | None = None, **columns: str | None
) -> dict[str, Any]:
    """Encode the one row of ``select(**columns)``."""
    (row,) = encode(engine, select(**columns), **(settings or {}))
    return row
