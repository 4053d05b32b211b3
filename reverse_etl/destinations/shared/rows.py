"""How every platform finds a row's key and reads STRUCT payload objects. Pure: SQL text."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from reverse_etl.destinations.shared.sql import ident, lit

if TYPE_CHECKING:
    import pyarrow as pa  # imported where used: validate loads this without Arrow (#18)


def key_columns_for(
    names: Sequence[str], configured: Sequence[str] | None, model_pk: Sequence[str] | None
) -> tuple[tuple[str, ...], bool] | None:
    """(key columns, derive event_id?) or None when no key can be found.

    The key is the destination's ``primary_key``, else the model's ``config(primary_key=...)``,
    else the ``event_id`` column; event_id is derived from the key when the model has none.
    """
    has_event_id = "event_id" in names
    if configured:
        return tuple(configured), not has_event_id
    if model_pk:
        return tuple(model_pk), not has_event_id
    if has_event_id:
        return ("event_id",), False
    return None


def flatten_objects(
    schema: pa.Schema, relation: str, objects: Collection[str]
) -> tuple[pa.Schema, str]:
    """STRUCT columns named after a payload object (``objects``: TikTok's ``user``, Meta's
    ``user_data`` …) are read field by field, as if written ``"user.email"``: a model may
    build an object as a struct."""
    import pyarrow as pa

    if not any(f.name in objects and pa.types.is_struct(f.type) for f in schema):
        return schema, relation
    fields: list[pa.Field] = []
    parts: list[str] = []
    for f in schema:
        if f.name in objects and pa.types.is_struct(f.type):
            for child in f.type:
                name = f"{f.name}.{child.name}"
                parts.append(f"struct_extract({ident(f.name)}, {lit(child.name)}) AS {ident(name)}")
                fields.append(pa.field(name, child.type))
        else:
            parts.append(ident(f.name))
            fields.append(f)
    return pa.schema(fields), f"(SELECT {', '.join(parts)} FROM {relation}) AS __flat"
