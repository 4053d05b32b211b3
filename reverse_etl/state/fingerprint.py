"""A destination's mapping fingerprint: changes when the payload's shape or hashing changes."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import phonenumbers

from reverse_etl.destinations.tiktok.destination import EncodePlan

# Bump when the encoder writes the same columns differently (a new normalisation, say).
ENCODER_VERSION = 1


def describe_mapping(encode: EncodePlan) -> dict[str, Any]:
    """The parts of a mapping that decide the bytes sent: stable, JSON-ready."""
    spec = encode.spec
    return {
        "encoder": ENCODER_VERSION,
        # A new phone-number metadata release can normalise a number differently.
        "phonenumbers": phonenumbers.__version__,
        "source": spec.source,
        "key": list(spec.key_columns),
        "derived_event_id": spec.derive_event_id,
        "limited_data_use": spec.limited_data_use,
        "default_phone_region": spec.default_phone_region,
        "columns": {
            m.column: {
                "path": ".".join(m.path),
                "kind": m.param.kind.value if m.param else "custom",
                "hashing": m.param.hashing.value if m.param else "none",
            }
            for m in encode.mapping.columns
        },
    }


def fingerprint(description: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(description, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def mapping_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed between two mapping descriptions, for people."""
    out: list[str] = []
    old_cols, new_cols = old.get("columns", {}), new.get("columns", {})
    for col in sorted(new_cols.keys() - old_cols.keys()):
        out.append(f"column '{col}' added")
    for col in sorted(old_cols.keys() - new_cols.keys()):
        out.append(f"column '{col}' removed")
    for col in sorted(new_cols.keys() & old_cols.keys()):
        if new_cols[col] != old_cols[col]:
            out.append(f"column '{col}' now maps differently")
    for key in (
        "encoder",
        "phonenumbers",
        "source",
        "key",
        "derived_event_id",
        "limited_data_use",
        "default_phone_region",
    ):
        if old.get(key) != new.get(key):
            out.append(f"{key} changed ({old.get(key)!r} -> {new.get(key)!r})")
    return out
