"""Catalog-driven, set-based encoding: one DuckDB SELECT turns model rows into Meta events.

The SELECT yields the columns the Destination contract lists (``base.py``): ``__key``,
``__hash``, ``__change_in`` (the diff's, for prekeyed rows; ``new`` otherwise), ``__errors``,
``__warnings``, ``__match`` (the match keys' bits, ``match.py``) and ``__payload``, the
server event as JSON text with NULLs and empty objects left out and customer information
normalised and hashed (``normalise.py``). It is built in
three layers: the rows with each hashed value computed once (the payload and the row checks
both read it), then the ``user_data`` object (the "at least one parameter" check reads it),
then the event. No Python runs per row except the vectorized phone UDF. Pure: this module
only writes SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reverse_etl.destinations.catalog import Hashing, Kind, ParamSpec
from reverse_etl.destinations.meta.catalog import CONTENT_FIELDS, OBJECTS, TRIMMED, USER_DATA
from reverse_etl.destinations.meta.mapping import ColumnMapping, MappedColumn
from reverse_etl.destinations.meta.normalise import country_form, hashed, text
from reverse_etl.destinations.shared.blanks import custom_property_json, unless_blank
from reverse_etl.destinations.shared.contents_json import (
    ContentsSpec,
    contents_json,
    is_json_text,
    when_json,
)
from reverse_etl.destinations.shared.json_ids import json_id_list
from reverse_etl.destinations.shared.phones import distinct_phones_sql as shared_distinct_phones
from reverse_etl.destinations.shared.rows import flatten_objects as flatten_struct_objects
from reverse_etl.destinations.shared.sql import (
    as_text,
    blank,
    boolean,
    derived_event_id,
    email_ok,
    event_id_text,
    id_list_json,
    ident,
    integer,
    is_list,
    jkey,
    json_objects,
    lit,
    number,
    one_id_list_json,
    strip,
    unix_seconds,
)

if TYPE_CHECKING:
    import pyarrow as pa  # imported where rows are handled: validate starts without it (#18)

# Columns of the first layer (``_prepared``), read by the payload and the row checks.
ACTION_SOURCE = "__meta_action_source"
EVENT_TIME = "__meta_event_time"
USER_DATA_JSON = "__meta_user_data"
# Sent as the model has them (the reference's "never hashed"; ``catalog.TRIMMED`` trimmed of the
# whitespace around them): a blank one (NULL, empty or only
# whitespace, as ``str.strip`` takes it) is left out of user_data, as a blank e-mail is (Meta
# refuses an empty string there, and "  " identifies no one).
NEVER_HASHED = frozenset({"ip", "user_agent", "fbc", "fbp"})


@dataclass(frozen=True)
class EncodeSpec:
    """Everything the encoder needs besides the rows."""

    model: str
    action_source: str  # the destination's; a model column overrides it per row
    key_columns: tuple[str, ...]
    derive_event_id: bool
    limited_data_use: bool = False
    default_phone_region: str | None = None
    # The rows come from a diff that already computed the key (__row_key), a row hash
    # (__row_hash, recorded as the state's hash) and new/changed (__change).
    prekeyed: bool = False
    # A table of (raw, e164) for the distinct trimmed phones of the rows (shared/phones.py)
    phone_table: str | None = None
    # Unix seconds the time checks take as now (tests); None: the clock when the SQL runs
    now: int | None = None

    @property
    def now_sql(self) -> str:
        return "epoch(now())" if self.now is None else str(int(self.now))


def sent_name(column: str) -> str:
    """The first layer's column holding what is sent for a hashed scalar ``column``."""
    return f"__meta_sent:{column}"


def text_name(column: str) -> str:
    """The first layer's column holding the trimmed text of a hashed scalar ``column``
    (``normalise.text``), computed once per row: its normal form, its hash and the row checks
    read it several times each."""
    return f"__meta_text:{column}"


def email_ok_name(column: str) -> str:
    """The first layer's column holding whether the scalar e-mail ``column`` is well formed
    (``email_ok``), computed once per row: the row warning and the match key both read it."""
    return f"__meta_email_ok:{column}"


def _hashed_columns(mapping: ColumnMapping, schema: pa.Schema) -> list[MappedColumn]:
    return [
        m
        for m in mapping.columns
        if m.param is not None
        and m.param.hashing is not Hashing.NONE
        and not is_list(schema.field(m.column).type)
    ]


def country_sql(mapping: ColumnMapping, schema: pa.Schema, alias: str = "__r.") -> str | None:
    """SQL for the row's normalised country (a raw one), which tells a US ZIP; ``alias``: the
    prefix of the first layer's columns where it is read ('' past that layer)."""
    m = mapping.by_param().get("country")
    if m is None:
        return None
    if is_list(schema.field(m.column).type):
        return country_form(text(f"{alias}{ident(m.column)}"))
    return country_form(f"{alias}{ident(text_name(m.column))}")


def _prepared(relation: str, schema: pa.Schema, mapping: ColumnMapping, spec: EncodeSpec) -> str:
    """The rows plus what the payload and the checks share: each hashed value (phones from the
    phone table when there is one), the row's action_source and its event_time."""
    cols = mapping.by_param()
    region = spec.default_phone_region
    country = country_sql(mapping, schema)
    joins: list[str] = []
    extra: list[str] = []
    hashed_columns = _hashed_columns(mapping, schema)
    for i, m in enumerate(hashed_columns):
        assert m.param is not None
        col = f"__r.{ident(m.column)}"
        trimmed = f"__r.{ident(text_name(m.column))}"
        t = schema.field(m.column).type
        sent = hashed(col, t, m.path[-1], region=region, country=country, trimmed=trimmed)
        if m.param.hashing is Hashing.PHONE_DIGITS and spec.phone_table is not None:
            # A NULL phone is settled here: the per-row branch would call the Python parser
            # for every vector holding one. A phone missing from the table (a model that
            # returned other rows the second time) is still parsed row by row.
            joins.append(f"LEFT JOIN {spec.phone_table} AS __ph{i} ON __ph{i}.raw = {trimmed}")
            sent = (
                f"CASE WHEN __ph{i}.raw IS NOT NULL THEN sha256(replace(__ph{i}.e164, '+', '')) "
                f"WHEN {col} IS NULL THEN NULL ELSE {sent} END"
            )
        extra.append(f"{sent} AS {ident(sent_name(m.column))}")
        if m.param.hashing is Hashing.EMAIL:
            extra.append(f"{email_ok(trimmed)} AS {ident(email_ok_name(m.column))}")
    source = lit(spec.action_source)
    if "action_source" in cols:
        source = (
            f"coalesce(NULLIF({text('__r.' + ident(cols['action_source'].column))}, ''), {source})"
        )
    extra.append(f"{source} AS {ident(ACTION_SOURCE)}")
    if "event_time" in cols:
        m = cols["event_time"]
        seconds = unix_seconds(f"__r.{ident(m.column)}", schema.field(m.column).type)
        extra.append(f"{seconds} AS {ident(EVENT_TIME)}")
    texts = "".join(
        f", {text(ident(m.column))} AS {ident(text_name(m.column))}" for m in hashed_columns
    )
    return (
        f"(SELECT __r.*, {', '.join(extra)} FROM (SELECT *{texts} FROM {relation}) AS __r "
        f"{' '.join(joins)}) AS __prepared"
    )


# --- values -------------------------------------------------------------------------------
def _value_json(m: MappedColumn, t: pa.DataType, spec: EncodeSpec) -> str:
    """SQL producing the JSON text of one column's value, or NULL to leave it out."""
    col = ident(m.column)
    param = m.param
    if param is None:  # a custom property: sent as the column's own JSON
        return custom_property_json(col, t)  # a blank one left out, as a NULL one
    if param.hashing is not Hashing.NONE:
        if not is_list(t):
            return f"to_json({ident(sent_name(m.column))})"
        one = hashed("x", t.value_type, m.path[-1], region=spec.default_phone_region)
        items = f"list_filter(list_transform({col}, x -> {one}), x -> x IS NOT NULL)"
        return f"to_json(NULLIF({items}, []))"
    if param.name == "event_time":
        return f"to_json({ident(EVENT_TIME)})"
    if param.name == "action_source":
        return f"to_json({ident(ACTION_SOURCE)})"
    if param.name == "currency":  # ISO 4217 codes are upper-case
        return f"to_json(NULLIF(upper({text(col)}), ''))"
    if param.name == "extinfo" and (is_list(t) or is_json_text(t)):
        # Positional: every item kept, as text (a NULL one as ""), never hashed.
        items = col if is_list(t) else extinfo_json_items(col)
        positional = f"to_json(list_transform({items}, x -> coalesce(CAST(x AS VARCHAR), '')))"
        return positional if is_list(t) else when_json(col, positional, _plain_json(col, t, param))
    if param.name in NEVER_HASHED and not is_list(t):
        value = f"CAST({col} AS VARCHAR)"
        if param.name in TRIMMED:  # ' 192.0.2.1 ' (a CSV's): the address, not a refused row
            value = strip(value)
        return f"CASE WHEN NOT {blank(col)} THEN to_json({value}) END"
    return _plain_json(col, t, param)


def extinfo_json_items(col: str) -> str:
    """SQL: the items of an extinfo of DuckDB type JSON (a warehouse's json or jsonb array,
    PostgreSQL's) as text, a JSON null as NULL; NULL when it holds no array. Only for a
    column whose type is JSON (``when_json``)."""
    return f"CASE WHEN json_type({col}) = 'ARRAY' THEN json_extract_string({col}, '$[*]') END"


def _plain_json(col: str, t: pa.DataType, param: ParamSpec) -> str:
    kind = param.kind
    if kind is Kind.ID:  # a blank ID or text is left out, as a NULL one
        return unless_blank(f"to_json({as_text(col, t)})", col, t)
    if kind is Kind.NUMBER:
        return f"to_json({number(col, t)})"
    if kind is Kind.INTEGER:
        return f"to_json({integer(col, t)})"
    if kind is Kind.BOOLEAN:
        return f"to_json({boolean(col, t)})"
    if kind is Kind.ID_LIST:
        # one ID as a list of one; none left out (``[null]``, ``[""]``)
        if is_json_text(t):  # JSON: the IDs it holds, checked row by row (json_ids.py)
            return when_json(col, json_id_list(col), one_id_list_json(col, t))
        return id_list_json(col, t) if is_list(t) else one_id_list_json(col, t)
    if kind is Kind.CONTENTS:
        return _contents_json(col, t)
    return unless_blank(f"to_json(CAST({col} AS VARCHAR))", col, t)


_CONTENT_KINDS = {"id": Kind.ID, "item_price": Kind.NUMBER, "quantity": Kind.INTEGER}


def content_fields(t: pa.DataType) -> dict[str, list[str]]:
    """Each field of Meta's content (``id``, ``item_price`` …) -> the SQL values of a list
    item ``x`` that may fill it, first wins (catalog's CONTENT_FIELDS); empty when ``t`` is
    not a list of structs."""
    import pyarrow as pa

    candidates: dict[str, list[str]] = {}
    if not is_list(t) or not pa.types.is_struct(t.value_type):
        return candidates
    struct: pa.StructType = t.value_type
    for f in struct:
        target = CONTENT_FIELDS.get(f.name)
        if target is None:
            continue
        x = f"x.{ident(f.name)}"
        kind = _CONTENT_KINDS.get(target, Kind.STRING)
        if kind is Kind.ID:  # a blank ID or text: none (the next candidate, else left out)
            value = unless_blank(as_text(x, f.type), x, f.type)
        elif kind is Kind.NUMBER:
            value = number(x, f.type)
        elif kind is Kind.INTEGER:
            value = integer(x, f.type)
        else:
            value = unless_blank(f"CAST({x} AS VARCHAR)", x, f.type)
        candidates.setdefault(target, []).append(value)
    return candidates


# A JSON contents' objects as a list of structs is written: renamed and typed as
# ``content_fields`` does, other keys left out.
JSON_CONTENTS = ContentsSpec(
    keys={
        key: (target, _CONTENT_KINDS.get(target, Kind.STRING))
        for key, target in CONTENT_FIELDS.items()
        if target is not None
    },
    keep_unknown=False,
)


def _contents_json(col: str, t: pa.DataType) -> str:
    """Each struct as Meta's content: content_id -> id, price -> item_price, …; keys Meta has
    no field for are left out."""
    import pyarrow as pa

    if is_json_text(t):  # JSON, checked row by row (contents_json.py)
        return when_json(col, contents_json(col, JSON_CONTENTS), f"to_json({col})")
    if not is_list(t) or not pa.types.is_struct(t.value_type):
        return f"to_json({col})"  # static validation reports the type; Meta decides
    candidates = content_fields(t)
    if not candidates:
        return "NULL"
    parts = [
        f"{jkey(target)} || to_json({v[0] if len(v) == 1 else 'coalesce(' + ', '.join(v) + ')'})"
        for target, v in candidates.items()
    ]
    return json_objects(col, "'{' || concat_ws(',', " + ", ".join(parts) + ") || '}'")


# --- rows ---------------------------------------------------------------------------------
def _object(frags: Sequence[str]) -> str:
    """SQL for a JSON object of ``frags`` (NULL ones left out), or NULL when all are."""
    # NULLIF, not CASE WHEN inner <> '': the object is built once.
    return "'{' || NULLIF(concat_ws(',', " + ", ".join(frags) + "), '') || '}'"


def _with_user_data(
    relation: str, schema: pa.Schema, mapping: ColumnMapping, spec: EncodeSpec
) -> str:
    frags = [
        f"{jkey(m.path[-1])} || {_value_json(m, schema.field(m.column).type, spec)}"
        for m in mapping.columns
        if m.path[0] == USER_DATA
    ]
    user_data = _object(frags) if frags else "NULL"
    return f"(SELECT *, {user_data} AS {ident(USER_DATA_JSON)} FROM {relation}) AS __users"


def _key_sql(spec: EncodeSpec, schema: pa.Schema) -> str:
    if spec.prekeyed:
        return ident("__row_key")
    cols = [as_text(ident(c), schema.field(c).type) for c in spec.key_columns]
    if len(cols) == 1:
        return cols[0]
    any_null = " OR ".join(f"{c} IS NULL" for c in cols)
    return f"CASE WHEN {any_null} THEN NULL ELSE to_json([{', '.join(cols)}]) END"


LDU = (
    f"{jkey('data_processing_options')} || '[\"LDU\"]', "
    f"{jkey('data_processing_options_country')} || '0', "
    f"{jkey('data_processing_options_state')} || '0'"
)


def _payload_sql(mapping: ColumnMapping, schema: pa.Schema, spec: EncodeSpec, key: str) -> str:
    top: list[str] = []
    nested: dict[str, list[str]] = {name: [] for name in OBJECTS}
    for m in mapping.columns:
        if m.path[0] == USER_DATA:
            continue
        frag = f"{jkey(m.path[-1])} || {_value_json(m, schema.field(m.column).type, spec)}"
        if len(m.path) == 1:
            top.append(frag)
        else:
            nested.setdefault(m.path[0], []).append(frag)
    if not mapping.has("action_source"):
        top.append(f"{jkey('action_source')} || to_json({ident(ACTION_SOURCE)})")
    if spec.derive_event_id:
        top.append(f"{jkey('event_id')} || to_json({derived_event_id(spec.model, key)})")
    top.append(f"{jkey(USER_DATA)} || {ident(USER_DATA_JSON)}")
    for obj, frags in nested.items():
        if frags:
            top.append(f"{jkey(obj)} || {_object(frags)}")
    if spec.limited_data_use:
        top.append(LDU)
    return "'{' || concat_ws(',', " + ", ".join(top) + ") || '}'"


def build_encode_sql(
    relation: str, schema: pa.Schema, mapping: ColumnMapping, spec: EncodeSpec
) -> str:
    """The SELECT that encodes every row of ``relation`` (whose columns are ``schema``)."""
    from reverse_etl.destinations.meta.checks import row_checks  # it reads this module
    from reverse_etl.destinations.meta.match import match_sql  # it reads this module too

    rows = _with_user_data(_prepared(relation, schema, mapping, spec), schema, mapping, spec)
    key = _key_sql(spec, schema)
    payload = _payload_sql(mapping, schema, spec, key)
    errors, warnings = row_checks(mapping, schema, spec, key)
    err = "NULLIF(concat_ws('; ', " + ", ".join(errors) + "), '')"
    warn = "NULLIF(concat_ws('; ', " + ", ".join(warnings) + "), '')" if warnings else "NULL"
    if spec.prekeyed:
        passthrough = f", {ident('__row_hash')} AS __hash_in, {ident('__change')} AS __change_in"
        outer = "__hash_in AS __hash, __change_in"
    else:
        passthrough, outer = "", "md5(__payload) AS __hash, 'new' AS __change_in"
    derived = derived_event_id(spec.model, key) if spec.derive_event_id else None
    event_id = event_id_text(mapping, schema, derived)
    match = match_sql(mapping, schema, spec)
    return (
        f"SELECT __key, {outer}, __errors, __warnings, __match, __payload, __event_id FROM (\n"
        f"  SELECT {key} AS __key,\n"
        f"         {payload} AS __payload,\n"
        f"         {event_id} AS __event_id,\n"
        f"         {err} AS __errors,\n"
        f"         {warn} AS __warnings,\n"
        f"         CAST({match} AS BIGINT) AS __match{passthrough}\n"
        f"  FROM {rows}\n"
        ") AS __encoded"
    )


def _phone_columns(schema: pa.Schema, mapping: ColumnMapping) -> list[str]:
    return [
        m.column
        for m in _hashed_columns(mapping, schema)
        if m.param is not None and m.param.hashing is Hashing.PHONE_DIGITS
    ]


def distinct_phones_sql(relation: str, schema: pa.Schema, mapping: ColumnMapping) -> str | None:
    """Every distinct trimmed phone of the rows, as ``raw`` (None: no scalar phone column)."""
    return shared_distinct_phones(relation, _phone_columns(schema, mapping))


def flatten_objects(schema: pa.Schema, relation: str) -> tuple[pa.Schema, str]:
    """STRUCT columns named after a payload object are read field by field (shared/rows.py)."""
    return flatten_struct_objects(schema, relation, OBJECTS)


__all__ = [
    "EncodeSpec",
    "build_encode_sql",
    "distinct_phones_sql",
    "flatten_objects",
]
