"""A destination's mapping fingerprint: changes when the payload's shape or hashing changes.

The description fingerprinted is the destination's own (``EncodePlan.mapping``): a JSON-ready
dict with a ``columns`` entry (column -> how it is sent) and any other settings that decide the
bytes sent. Platform-blind.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson


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
    # Every other entry, in the new description's order (then any the old one had alone).
    keys = [k for k in new if k != "columns"]
    keys += [k for k in old if k != "columns" and k not in new]
    for key in keys:
        if old.get(key) != new.get(key):
            out.append(f"{key} changed ({old.get(key)!r} -> {new.get(key)!r})")
    return out
