"""Catalog-driven, set-based encoding: one DuckDB SELECT turns model rows into TikTok events.

The SELECT yields, per row: ``__key`` (the primary key as text), ``__payload`` (the event as
JSON text, NULLs and empty objects left out, PII normalised and hashed), ``__hash`` (of the
payload, for the state), ``__errors`` (why the row is invalid, or NULL), ``__warnings`` and
``__match`` (the match keys it carries, as bits: see match.py). No Python runs per row except
the vectorized phone UDF. Pure: this module only writes SQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from reverse_etl.destinations.shared.blanks import (
    can_be_blank,
    custom_property_json,
    has_value,
    no_value,
    unless_blank,
)
from reverse_etl.destinations.shared.contents_json import (
    ContentsSpec,
    contents_json,
    is_json_text,
    not_objects,
    not_struct_items,
    unparsed_warnings,
    when_json,
)
from reverse_etl.destinations.shared.json_ids import json_id_list, not_ids
from reverse_etl.destinations.shared.phones import PHONE_UDF, needs_parsing
from reverse_etl.destinations.shared.phones import distinct_phones_sql as shared_distinct_phones
from reverse_etl.destinations.shared.rows import flatten_objects as flatten_struct_objects
from reverse_etl.destinations.shared.sql import (
    MILLISECONDS_FROM,
    always_parses,
    blank,
    blank_event_id_warning,
    control_character_checks,
    derived_event_id,
    email_ok,
    empty_key_checks,
    event_id_text,
    holds_text,
    id_list_json,
    ident,
    inexact_id_checks,
    inexact_item_checks,
    json_objects,
    lit,
    one_id_list_json,
    one_of,
    own_json,
    strip,
    when_holds_json,
)
from reverse_etl.destinations.shared.sql import already_hashed as _already_hashed
from reverse_etl.destinations.shared.sql import as_text as _as_text
from reverse_etl.destinations.shared.sql import boolean as _boolean
from reverse_etl.destinations.shared.sql import integer as _integer
from reverse_etl.destinations.shared.sql import is_list as _is_list
from reverse_etl.destinations.shared.sql import jkey as _jkey
from reverse_etl.destinations.shared.sql import number as _number
from reverse_etl.destinations.shared.sql import unix_seconds as _time
from reverse_etl.destinations.tiktok.catalog import CONTENT_KEYS, OBJECTS, TRIMMED, Hashing, Kind
from reverse_etl.destinations.tiktok.mapping import ColumnMapping, MappedColumn

if TYPE_CHECKING:
    import pyarrow as pa  # imported where rows are handled: validate starts without it (#18)
from reverse_etl.destinations.tiktok.vocab import (
    LEGACY_EVENTS,
    RESERVED_EVENTS,
    STANDARD_EVENTS,
    standard_events_for,
)

FUTURE_SKEW_SECONDS = 300
# TikTok rejects an event_time before 2000-01-01T00:00:00Z (a 1900 placeholder date, a negative
# or zero epoch). It documents no other age limit (its window is unconfirmed): older events
# only warn that TikTok may not attribute them.
EARLIEST_EVENT_TIME = 946_684_800
EARLIEST_EVENT_DATE = "2000-01-01"
# make_timestamp() takes microseconds as BIGINT: seconds before year 1 would overflow it.
_YEAR_ONE = -62_135_596_800
OLD_WEB_APP_DAYS = 7
OLD_OFFLINE_CRM_DAYS = 28


@dataclass(frozen=True)
class EncodeSpec:
    """Everything the encoder needs besides the rows."""

    model: str
    source: str  # WEB, APP, OFFLINE, CRM
    key_columns: tuple[str, ...]
    derive_event_id: bool
    limited_data_use: bool = False
    default_phone_region: str | None = None
    # The rows come from a warehouse diff that already computed the key (__row_key), a row
    # hash (__row_hash, recorded as the state's hash) and new/changed (__change).
    prekeyed: bool = False
    # column -> name of a column holding its hashed phone, computed once per row
    hashed_phones: tuple[tuple[str, str], ...] = ()
    # A table of (raw, e164) for the distinct trimmed phones of the rows (phone_table_sql)
    phone_table: str | None = None

    # column -> name of a column holding whether its e-mail is well formed (email_ok), so
    # that the row warning and the match key share one regex per row
    checked_emails: tuple[tuple[str, str], ...] = ()
    # column -> name of a column holding its text trimmed of whitespace (``strip``), computed
    # once per row: hashing, the row checks and the match keys read it several times each
    texts: tuple[tuple[str, str], ...] = ()

    def text(self, column: str) -> str:
        """SQL: the trimmed text of a hashed scalar ``column``."""
        name = dict(self.texts).get(column)
        return ident(name) if name is not None else strip(ident(column))

    def hashed_phone(self, column: str) -> str | None:
        return dict(self.hashed_phones).get(column)

    def email_check(self, column: str) -> str | None:
        return dict(self.checked_emails).get(column)


# --- values -------------------------------------------------------------------------------
def _hash(value: str, hashing: Hashing, region: str | None) -> str:
    """SQL for one PII string, ``value``: its text trimmed of whitespace (``strip``; NULL-safe).
    Already 64 hex chars -> lower-cased as is."""
    v = value
    if hashing is Hashing.EMAIL:
        hashed = f"sha256(lower({v}))"
    elif hashing is Hashing.PHONE:
        hashed = f"sha256({PHONE_UDF}({v}, {lit(region or '')}))"
    elif hashing is Hashing.IDFA:  # a raw IDFA upper-case, a hashed one lower-case
        hashed = f"upper({v})"
    elif hashing is Hashing.GAID:  # lower-case, raw or hashed
        hashed = f"lower({v})"
    else:
        hashed = f"sha256({v})"
    return (
        f"CASE WHEN {v} = '' THEN NULL WHEN {_already_hashed(v)} THEN lower({v}) ELSE {hashed} END"
    )


def _string(expr: str, t: pa.DataType) -> str:
    return f"CAST({expr} AS VARCHAR)"


# How each scalar kind is written (a SQL expression over the column, then to_json).
_SCALARS = {
    Kind.ID: _as_text,
    Kind.STRING: _string,
    Kind.NUMBER: _number,
    Kind.INTEGER: _integer,
    Kind.BOOLEAN: _boolean,
    Kind.TIME: _time,
}


def _value_json(m: MappedColumn, t: pa.DataType, spec: EncodeSpec) -> str:
    """SQL producing the JSON text of one column's value, or NULL to leave it out."""
    col = ident(m.column)
    param = m.param
    if param is None:  # custom property: sent as the column's own JSON
        return custom_property_json(col, t)  # a blank one left out, as a NULL one
    kind = param.kind
    if param.hashing is not Hashing.NONE:
        pre = spec.hashed_phone(m.column)
        if pre is not None:
            return f"to_json({ident(pre)})"
        if _is_list(t):
            hashed = (
                f"list_filter(list_transform({col}, x -> "
                f"{_hash(strip('x'), param.hashing, spec.default_phone_region)}),"
                " x -> x IS NOT NULL)"
            )
            return f"to_json(NULLIF({hashed}, []))"
        text = spec.text(m.column)
        return f"to_json({_hash(text, param.hashing, spec.default_phone_region)})"
    scalar = _SCALARS.get(kind)
    if scalar is not None:
        value = scalar(col, t)
        if param.name in TRIMMED:  # ' 192.0.2.1 ' (a CSV's): the address as it is meant
            value = strip(value)
        sent = f"to_json({value})"
        # a blank ID or text is left out, as a NULL one (a number's text is checked instead)
        return unless_blank(sent, col, t) if kind in (Kind.ID, Kind.STRING) else sent
    if kind is Kind.ID_LIST:
        # one ID as a list of one; none left out (``[null]`` is refused, ``[""]`` names none)
        if is_json_text(t):  # JSON: the IDs it holds, checked row by row (json_ids.py)
            return when_json(col, json_id_list(col), one_id_list_json(col, t))
        return id_list_json(col, t) if _is_list(t) else one_id_list_json(col, t)
    if kind is Kind.CONTENTS:
        return _contents_json(col, t)
    raise AssertionError(f"unhandled kind {kind}")


def _contents_json(col: str, t: pa.DataType) -> str:
    import pyarrow as pa

    if is_json_text(t):  # JSON, checked row by row (contents_json.py)
        return when_json(col, contents_json(col, _JSON_CONTENTS), f"to_json({col})")
    if not _is_list(t) or not pa.types.is_struct(t.value_type):
        return f"to_json({col})"  # static validation reports the type; TikTok decides
    struct: pa.StructType = t.value_type
    light = _content_items(col, struct, json=False)
    if not any(holds_text(struct.field(i).type) for i in range(struct.num_fields)):
        return light
    # A text key may be JSON (a warehouse's): tested once, on the column's type (own_json)
    return when_holds_json(col, _content_items(col, struct, json=True), light)


def _content_items(col: str, struct: pa.StructType, *, json: bool) -> str:
    """SQL: the JSON array of a list-of-structs ``contents``' items (``json``: its other text
    keys are JSON, sent without their nulls)."""
    import pyarrow as pa

    kinds = {k.name: k.kind for k in CONTENT_KEYS}
    parts = []
    for i in range(struct.num_fields):
        f = struct.field(i)
        x = f"x.{ident(f.name)}"
        kind = kinds.get(f.name)
        if kind is Kind.ID:
            val = unless_blank(f"to_json({_as_text(x, f.type)})", x, f.type)
        elif kind is Kind.NUMBER:
            val = f"to_json({_number(x, f.type)})"
        elif kind is Kind.INTEGER:
            val = f"to_json({_integer(x, f.type)})"
        elif kind is Kind.STRING and pa.types.is_decimal(f.type):
            # its own digits, as a top-level text's (to_json writes a DECIMAL as a DOUBLE:
            # 12345678901 was sent "12345678901.0", 99999999999999999.99 "1e+17"'s text)
            val = f"to_json(CAST({x} AS VARCHAR))"
        elif kind is Kind.STRING and not can_be_blank(f.type):
            # TikTok's text keys are strings: a number, a boolean, a date (or a nested
            # value) goes out as its JSON's text (7 -> "7"), as a JSON contents' does
            val = f"to_json(json_extract_string({own_json(x, f.type, json=json)}, '$'))"
        elif kind is Kind.STRING and json:  # a JSON string's text, a JSON number's too
            text = f"json_extract_string(to_json({x}), '$')"
            val = f"CASE WHEN NOT {blank(text)} THEN to_json({text}) END"
        elif json and can_be_blank(f.type):
            # A JSON string of only whitespace (or "") is blank too, as in a JSON contents
            # (contents_json.typed): the string's text is tested, not the JSON's quotes.
            # to_json: a VARCHAR key beside a JSON one is this branch's too.
            text = f"json_extract_string(to_json({x}), '$')"
            val = f"CASE WHEN NOT {blank(text)} THEN {own_json(x, f.type, json=True)} END"
        else:  # a blank text key is left out of the item, as a NULL one
            val = unless_blank(own_json(x, f.type, json=json), x, f.type)
        parts.append(f"{_jkey(f.name)} || {val}")
    return json_objects(col, "'{' || concat_ws(',', " + ", ".join(parts) + ") || '}'")


# A JSON contents' objects as a list of structs is written: the content keys typed as above
# (a text key as text: ``{"brand": 7}`` is sent "7"), and other keys as their own JSON.
_JSON_CONTENTS = ContentsSpec(
    keys={k.name: (k.name, k.kind) for k in CONTENT_KEYS}, keep_unknown=True
)


def _inexact_items(col: str, item: pa.DataType, x: str, what: str) -> list[str]:
    """A reason when an item ``x`` (SQL over the lambda's ``x``) of the list ``col`` is an ID
    of a float type past the whole numbers it holds exactly (``inexact_id_checks``): none
    unless ``item`` is a float type."""
    return inexact_item_checks(col, item, x, what)


def _contents_checks(m: MappedColumn, t: pa.DataType) -> list[str]:
    """A JSON contents that is not a list of objects (a number, an object, a list of
    numbers) makes its row invalid: TikTok would refuse the event. So does an item's
    content_id of a float type past its exact whole numbers (it was sent rounded)."""
    import pyarrow as pa

    if m.param is None or m.param.kind is not Kind.CONTENTS:
        return []
    if _is_list(t) and pa.types.is_struct(t.value_type):
        struct: pa.StructType = t.value_type
        index = struct.get_field_index("content_id")
        if index < 0:
            return []
        item = struct.field(index).type
        return _inexact_items(ident(m.column), item, "x.content_id", "a contents item's content_id")
    col = ident(m.column)
    scalars = not_struct_items(col, t)
    if scalars is not None:  # a list of text or numbers (a jsonb ['a'] read as VARCHAR[])
        return [_reason(scalars, lit(f"{m.column} is not a list of objects"))]
    if not is_json_text(t):
        return []
    return [when_json(col, _reason(not_objects(col), lit(f"{m.column} is not a list of objects")))]


def _contents_warnings(m: MappedColumn, t: pa.DataType) -> list[str]:
    """A contents item's number that does not parse (``price 'abc'``, ``quantity 2.5``) is
    left out of the item: said, as a warning, rather than silently."""
    import pyarrow as pa

    if m.param is None or m.param.kind is not Kind.CONTENTS:
        return []
    if is_json_text(t):
        return unparsed_warnings(ident(m.column), ((k.name, k.kind) for k in CONTENT_KEYS))
    if not _is_list(t) or not pa.types.is_struct(t.value_type):
        return []
    kinds = {k.name: k.kind for k in CONTENT_KEYS}
    out = []
    for f in t.value_type:
        kind = kinds.get(f.name)
        parser = _KIND_PARSERS.get(kind) if kind in (Kind.NUMBER, Kind.INTEGER) else None
        if parser is None or always_parses(parser[0], f.type):
            continue
        fn, what = parser
        x = f"x.{ident(f.name)}"
        unparsed = f"{x} IS NOT NULL AND ({fn(x, f.type)}) IS NULL"
        bad = f"len(list_filter({ident(m.column)}, x -> {unparsed})) > 0"
        out.append(_reason(bad, lit(f"a contents item's {f.name} is not {what} (left out)")))
    return out


# --- rows ---------------------------------------------------------------------------------
def _key_sql(spec: EncodeSpec, schema: pa.Schema) -> str:
    cols = [_as_text(ident(c), schema.field(c).type) for c in spec.key_columns]
    if len(cols) == 1:
        return cols[0]
    any_null = " OR ".join(f"{c} IS NULL" for c in cols)
    return f"CASE WHEN {any_null} THEN NULL ELSE to_json([{', '.join(cols)}]) END"


def _payload_sql(mapping: ColumnMapping, schema: pa.Schema, spec: EncodeSpec, key_sql: str) -> str:
    top: list[str] = []
    nested: dict[str, list[str]] = {name: [] for name in OBJECTS}
    item: list[str] = []  # content_id & co.: the single item of properties.contents
    ldu = spec.limited_data_use and spec.source in ("WEB", "APP")
    for m in mapping.columns:
        value = _value_json(m, schema.field(m.column).type, spec)
        if ldu and m.param is not None and m.param.name == "limited_data_use":
            # A row that says nothing (NULL, blank) takes the destination's setting: with
            # ``limited_data_use: true`` only an explicit false lifts it for an event.
            value = f"coalesce({value}, 'true')"
        frag = f"{_jkey(m.path[-1])} || {value}"
        if len(m.path) == 1:
            top.append(frag)
        elif m.param is not None and m.param.folded:
            item.append(frag)
        else:
            nested.setdefault(m.path[0], []).append(frag)
    if item:
        inner = "concat_ws(',', " + ", ".join(item) + ")"
        nested["properties"].append(f"{_jkey('contents')} || '[{{' || NULLIF({inner}, '') || '}}]'")
    if spec.derive_event_id:
        top.append(f"{_jkey('event_id')} || to_json({derived_event_id(spec.model, key_sql)})")
    if ldu and not mapping.has("limited_data_use"):
        top.append(f"{_jkey('limited_data_use')} || 'true'")
    for obj, frags in nested.items():
        if frags:
            inner = "concat_ws(',', " + ", ".join(frags) + ")"
            # NULLIF, not CASE WHEN inner <> '': the object is built once (|| with NULL is
            # NULL, and concat_ws leaves it out).
            top.append(f"{_jkey(obj)} || '{{' || NULLIF({inner}, '') || '}}'")
    return "'{' || concat_ws(',', " + ", ".join(top) + ") || '}'"


def _reason(cond: str, text: str) -> str:
    """A SQL fragment yielding ``text`` (a SQL string expression) when ``cond`` holds."""
    return f"CASE WHEN {cond} THEN {text} END"


def _key_checks(key_sql: str) -> list[str]:
    # Duplicate keys are found afterwards, on the keys alone (see DUPLICATE_KEY): a window
    # function here would hold every column of every row in memory.
    return [_reason(f"({key_sql}) IS NULL", lit("primary key is null"))]


DUPLICATE_KEY = "duplicate primary key"


def _quoted(expr: str) -> str:
    """SQL for the text ``'<expr>'`` (a value quoted inside a message)."""
    return f"'''' || {expr} || ''''"


def _event_checks(column: str, source: str) -> list[str]:
    ev = f"CAST({ident(column)} AS VARCHAR)"
    # blank is str.strip's whitespace: trim() left '\t\n ', sent as the event's name
    missing = blank(ident(column))
    out = [_reason(missing, lit("event is missing"))]
    if source == "OFFLINE":
        # a blank name is missing only, as a NULL one (NOT list_contains of NULL is NULL)
        names = sorted(STANDARD_EVENTS | set(LEGACY_EVENTS))
        # Names match exactly (case and spaces): ' Purchase ' is none, and the reason, looked
        # up only for the rows it catches, says how to write it when spaces are all that is
        # wrong (trim() as the model's SQL has it: spaces only).
        spaced = lit(f": the spaces around it keep it out: {_TRIM_HINT}")
        out.append(
            _reason(
                f"NOT {missing} AND NOT {one_of(ev, names)}",
                f"'event ' || {_quoted(ev)} || "
                + lit(" is not a standard event (OFFLINE takes standard events only)")
                + f" || CASE WHEN {one_of(f'trim({ev})', names)} THEN {spaced} ELSE '' END",
            )
        )
    return out


_TRIM_HINT = "write trim(event) in the model"


def _reserved_warning(ev: str, source: str) -> str | None:
    """SQL: a warning for a WEB or APP event named by one of TikTok's reserved names, which it
    maps to another event (H-RES: ``Registration`` is reported as ``CompleteRegistration``):
    sent, as TikTok takes it, but the model should write the event it means. No reference
    says TikTok refuses one (they "cannot be used as custom event names", being mapped)."""
    standard = standard_events_for(source)  # Checkout and Registration are app events
    reserved = [(n, t) for n, t in sorted(RESERVED_EVENTS.items()) if n not in standard]
    if not reserved:
        return None
    # One IN test per row; the message is looked up only for the rows it catches.
    messages = " ".join(
        f"WHEN {lit(n)} THEN "
        + lit(f"event {n!r} is a reserved name TikTok reports as {t!r}: write {t!r}")
        for n, t in reserved
    )
    return _reason(one_of(ev, [n for n, _ in reserved]), f"CASE {ev} {messages} END")


def _utc_text(seconds: str) -> str:
    """SQL for Unix ``seconds`` as ISO 8601 UTC text (the raw number when before year 1).

    make_timestamp, not to_timestamp: it yields a TIMESTAMP, which strftime prints as is,
    whatever the session's time zone."""
    iso = f"strftime(make_timestamp(({seconds}) * 1000000), '%Y-%m-%dT%H:%M:%SZ')"
    raw = f"CAST({seconds} AS VARCHAR) || ' (Unix seconds)'"
    return f"CASE WHEN ({seconds}) >= {_YEAR_ONE} THEN {iso} ELSE {raw} END"


def _time_checks(column: str, t: pa.DataType, source: str) -> tuple[list[str], list[str]]:
    import pyarrow as pa

    et = _time(ident(column), t)
    errors = [
        _reason(f"({et}) IS NULL", lit("event_time is missing or not a time")),
        # The time is not PII: it is quoted so that a 1900 placeholder is easy to find.
        _reason(
            f"({et}) < {EARLIEST_EVENT_TIME}",
            f"'event_time ' || {_utc_text(et)} || "
            + lit(f" is before {EARLIEST_EVENT_DATE}: TikTok rejects it"),
        ),
        # Milliseconds are in the future too: said once, as milliseconds (below).
        _reason(
            f"({et}) > epoch(now()) + {FUTURE_SKEW_SECONDS}"
            + (f" AND ({et}) <= {MILLISECONDS_FROM}" if pa.types.is_integer(t) else ""),
            lit("event_time is in the future"),
        ),
    ]
    if pa.types.is_integer(t):
        errors.append(
            _reason(
                f"({et}) > {MILLISECONDS_FROM}",
                lit("event_time looks like milliseconds: send Unix seconds"),
            )
        )
    days = OLD_WEB_APP_DAYS if source in ("WEB", "APP") else OLD_OFFLINE_CRM_DAYS
    warning = _reason(
        # Rows before EARLIEST_EVENT_TIME are invalid already: no warning on top.
        f"({et}) >= {EARLIEST_EVENT_TIME} AND ({et}) < epoch(now()) - {days * 86400}",
        lit(f"event_time is more than {days} days old (TikTok may not attribute it)"),
    )
    return errors, [warning]


_KIND_PARSERS = {
    Kind.NUMBER: (_number, "a number"),
    Kind.INTEGER: (_integer, "an integer"),
    Kind.BOOLEAN: (_boolean, "a boolean"),
}


def phone_unparseable(
    col: str, t: pa.DataType, region: str | None, pre: str | None, text: str | None = None
) -> str:
    """SQL: the row holds a phone number that does not parse (``pre``: its hashed column;
    ``text``: SQL for its trimmed text, ``strip(col)`` when not given)."""
    if _is_list(t):
        x = strip("x")
        hashed = _hash(x, Hashing.PHONE, region)
        return f"len(list_filter({col}, x -> {x} <> '' AND ({hashed}) IS NULL)) > 0"
    v = text or strip(col)
    if pre is not None:
        return f"{v} <> '' AND {ident(pre)} IS NULL"
    return f"{v} <> '' AND ({_hash(v, Hashing.PHONE, region)}) IS NULL"


def _phone_check(
    col: str,
    t: pa.DataType,
    name: str,
    region: str | None,
    pre: str | None = None,
    *,
    text: str | None = None,
) -> str:
    hint = "" if region else " (without a +country code it needs default_phone_region)"
    bad = phone_unparseable(col, t, region, pre, text)
    return _reason(bad, lit(f"{name} is not a valid phone number{hint}"))


def email_malformed(
    col: str, t: pa.DataType, pre: str | None = None, text: str | None = None
) -> str:
    """SQL: the row holds an e-mail value that is neither an address nor a SHA-256
    (``pre``: the column holding ``email_ok`` of it)."""
    if _is_list(t):
        x = strip("x")
        return f"len(list_filter({col}, x -> {x} <> '' AND NOT {email_ok(x)})) > 0"
    v = text or strip(col)
    ok = ident(pre) if pre is not None else email_ok(v)
    return f"{v} <> '' AND NOT {ok}"


def _helper_names(
    kind: str, columns: Sequence[str], schema: pa.Schema
) -> tuple[tuple[str, str], ...]:
    """(column, name of its helper column) for a projection under the encoder, named so that
    no model column can be taken for one (``SELECT *, x AS __retl_text_0`` beside a model
    column of that name read the model's value: another column was hashed as the e-mail).
    DuckDB's names ignore case."""
    taken = [n.lower() for n in schema.names]
    prefix = f"__retl_{kind}_"
    while any(n.startswith(prefix) for n in taken):
        prefix = "_" + prefix
    return tuple((c, f"{prefix}{i}") for i, c in enumerate(columns))


def _hashed_scalars(
    mapping: ColumnMapping, schema: pa.Schema, hashing: Hashing | None = None
) -> list[str]:
    """The mapped columns of one value (not a list) that are hashed (as ``hashing`` only,
    when given)."""
    return [
        m.column
        for m in mapping.columns
        if m.param is not None
        and m.param.hashing is not Hashing.NONE
        and (hashing is None or m.param.hashing is hashing)
        and not _is_list(schema.field(m.column).type)
    ]


def _strip_once(
    relation: str, schema: pa.Schema, mapping: ColumnMapping, spec: EncodeSpec
) -> tuple[str, EncodeSpec]:
    """Each hashed scalar's text trimmed of whitespace, once per row, in a projection under
    the encoder: hashing, the row checks and the match keys read it several times each, and
    ``strip`` evaluated at each use cost a quarter more encode time."""
    hashed = _hashed_scalars(mapping, schema)
    if not hashed:
        return relation, spec
    names = _helper_names("text", hashed, schema)
    extra = ", ".join(f"{strip(f'CAST({ident(c)} AS VARCHAR)')} AS {ident(n)}" for c, n in names)
    return f"(SELECT *, {extra} FROM {relation}) AS __texts", replace(spec, texts=names)


def _check_emails_once(
    relation: str, schema: pa.Schema, mapping: ColumnMapping, spec: EncodeSpec
) -> tuple[str, EncodeSpec]:
    """Whether each (scalar) e-mail is well formed, in a projection under the encoder: the
    row warning and the match key both need it, and the regex is the costly part."""
    emails = _hashed_scalars(mapping, schema, Hashing.EMAIL)
    if not emails:
        return relation, spec
    names = _helper_names("email_ok", emails, schema)
    extra = ", ".join(f"{email_ok(spec.text(c))} AS {ident(n)}" for c, n in names)
    return f"(SELECT *, {extra} FROM {relation}) AS __emails", replace(spec, checked_emails=names)


def _value_checks(m: MappedColumn, t: pa.DataType, spec: EncodeSpec) -> list[str]:
    import pyarrow as pa

    param = m.param
    if param is None:
        return []
    col = ident(m.column)
    out: list[str] = []
    if param.allowed is not None and not _is_list(t):
        text = f"CAST({col} AS VARCHAR)"
        allowed = sorted(param.allowed)
        # A value TikTok takes in another case ('usd', 'Product') or without the spaces around
        # it (' USD ') says how to write it: the codes are matched exactly, and 'usd' read as a
        # currency TikTok does not know. trim() as the model's SQL has it (spaces only): the
        # hint is given only when what it says to write is accepted.
        c = m.column
        fixes = [
            (f"upper({text})", f"upper-case: write upper({c})"),
            (f"lower({text})", f"lower-case: write lower({c})"),
            (f"trim({text})", f"without the spaces around it: write trim({c})"),
            (
                f"upper(trim({text}))",
                f"upper-case, without the spaces around it: write trim(upper({c}))",
            ),
            (
                f"lower(trim({text}))",
                f"lower-case, without the spaces around it: write trim(lower({c}))",
            ),
        ]
        whens = " ".join(
            f"WHEN {one_of(fixed, allowed)} THEN {lit(f' (TikTok takes it {how} in the model)')}"
            for fixed, how in fixes
        )
        case_hint = f"CASE {whens} ELSE '' END"
        out.append(
            _reason(
                f"NOT {blank(col)} AND NOT {one_of(text, allowed)}",
                f"{lit(param.name + ' ')} || {_quoted(text)} || "
                + lit(" is not accepted by TikTok")
                + f" || {case_hint}",
            )
        )
    if param.hashing is Hashing.PHONE:
        pre = spec.hashed_phone(m.column)
        region = spec.default_phone_region
        out.append(_phone_check(col, t, param.name, region, pre, text=spec.text(m.column)))
    parser = _KIND_PARSERS.get(param.kind)
    scalar = not pa.types.is_struct(t) and not _is_list(t)
    if parser is not None and scalar and not always_parses(parser[0], t):
        fn, what = parser
        out.append(
            _reason(
                f"{has_value(col, t)} AND ({fn(col, t)}) IS NULL",  # blank text: none, as NULL
                lit(f"{param.name} is not {what}"),
            )
        )
    if param.kind is Kind.ID_LIST and _is_list(t):
        out += _inexact_items(col, t.value_type, "x", f"an item of {param.name}")
    if param.kind is Kind.ID_LIST and is_json_text(t):  # JSON: an object is no ID
        out.append(when_json(col, _reason(not_ids(col), lit(f"{param.name} is not a list of IDs"))))
    if spec.source in param.required_for and param.name not in ("event", "event_time"):
        out.append(
            _reason(
                # '' is missing too, and '\t' (trim() took spaces only), and a NaN ID
                no_value(col, t) if param.kind is Kind.ID else blank(col),
                lit(f"{param.name} is required for {spec.source} events"),
            )
        )
    return out


def _checks(
    mapping: ColumnMapping, schema: pa.Schema, spec: EncodeSpec, key_sql: str
) -> tuple[list[str], list[str]]:
    """(error fragments, warning fragments): SQL yielding a reason when a check fails."""
    errors = _key_checks(key_sql) + empty_key_checks(spec.key_columns, schema)
    warnings: list[str] = []
    cols = mapping.by_param()
    event_id = cols.get("event_id")
    event_id_column = event_id.column if event_id is not None else None
    errors += control_character_checks(spec.key_columns, event_id_column, schema)
    errors += inexact_id_checks(spec.key_columns, event_id_column, schema)
    # Any other ID (lead_id, order_id, app_id ...) of a float type rounds the same way: a
    # 19-digit lead ID as a DOUBLE was sent as another lead's. Decided on the column's type.
    done = {*spec.key_columns, event_id_column}
    other_ids = tuple(
        m.column
        for m in mapping.columns
        if m.param is not None and m.param.kind is Kind.ID and m.column not in done
    )
    errors += inexact_id_checks(other_ids, None, schema)
    if event_id is not None and len(event_id.path) == 1:
        warnings += blank_event_id_warning(spec.key_columns, event_id.column, schema)
    if "event" in cols:
        errors += _event_checks(cols["event"].column, spec.source)
        warnings += _event_warnings(cols["event"].column, spec.source)
    if "event_time" in cols:
        m = cols["event_time"]
        time_errors, time_warnings = _time_checks(
            m.column, schema.field(m.column).type, spec.source
        )
        errors += time_errors
        warnings += time_warnings
    for m in mapping.columns:
        t = schema.field(m.column).type
        errors += _value_checks(m, t, spec) + _contents_checks(m, t)
        warnings += _contents_warnings(m, t)
        if m.param is not None and m.param.hashing is Hashing.EMAIL:
            warnings.append(
                _reason(
                    email_malformed(
                        ident(m.column), t, spec.email_check(m.column), spec.text(m.column)
                    ),
                    lit(f"{m.param.name} is not an e-mail address (sent, but matches no one)"),
                )
            )
    return errors, warnings + _companion_warnings(cols, spec.source)


def _blank(col: str) -> str:
    """SQL: NULL or only whitespace (``shared/sql.py`` blank)."""
    return blank(ident(col))


def _companion_warnings(cols: dict[str, MappedColumn], source: str) -> list[str]:
    """Rows without a value the source expects beside the others (when the model has the
    column: without it, the mapping warns once for the model)."""
    out = []
    if source == "WEB" and "page_url" in cols:
        out.append(
            _reason(
                _blank(cols["page_url"].column),
                lit("page_url is missing (TikTok expects page.url on WEB events)"),
            )
        )
    if source == "APP" and "idfa" in cols and "att_status" in cols:
        # a blank att_status is left out as a NULL one is (shared/blanks.py): none either
        idfa, att_status = _blank(cols["idfa"].column), _blank(cols["att_status"].column)
        out.append(
            _reason(
                f"NOT {idfa} AND {att_status}",
                lit("idfa without att_status (TikTok cannot tell whether tracking was allowed)"),
            )
        )
    return out


def _squash(name: str) -> str:
    """An event name without case, spaces or punctuation: how a typo'd standard name looks."""
    return re.sub("[^a-z0-9]", "", name.lower())


def _event_warnings(column: str, source: str) -> list[str]:
    ev = f"CAST({ident(column)} AS VARCHAR)"
    if source == "OFFLINE":
        return [
            _reason(
                f"({ev} = 'PageView' OR {ev} = 'Pageview')",
                f"'event ' || {_quoted(ev)} || "
                + lit(" is not an OFFLINE standard event (TikTok may not count it)"),
            )
        ]
    if source not in ("WEB", "APP"):
        return []  # CRM event names are the CRM's own stage names
    reserved = _reserved_warning(ev, source)
    return [_custom_event_guess(ev, source), *([reserved] if reserved is not None else [])]


def _custom_event_guess(ev: str, source: str) -> str:
    """SQL: a warning for a name that is no standard (or legacy, or reserved) name but spells
    one once case, spaces and punctuation are ignored (``purchase``, ``add_to_cart``): the
    standard event was probably meant, and a custom event is not optimised for.

    One CASE on the squashed name, each branch excluding the exact names it stands for: no IN
    list, which DuckDB would plan as a join beside the encoder."""
    standard = standard_events_for(source)
    meant = {_squash(n): n for n in sorted(standard)}
    meant.update({_squash(old): new for old, new in sorted(LEGACY_EVENTS.items())})
    known = sorted(standard | set(LEGACY_EVENTS) | set(RESERVED_EVENTS))
    branches = []
    for squashed, name in sorted(meant.items()):
        same = [k for k in known if _squash(k) == squashed]
        exact = " OR ".join(f"{ev} = {lit(k)}" for k in same)
        message = f"'event ' || {_quoted(ev)} || " + lit(
            f" is sent as a custom event: did you mean {name!r}?"
        )
        # ' Purchase ': names match exactly, spaces too; say that spaces are all that is wrong.
        spaced = f"'event ' || {_quoted(ev)} || " + lit(
            " is sent as a custom event: the spaces around it keep it from being "
        )
        trimmed = f"trim({ev})"
        branches.append(
            f"WHEN {lit(squashed)} THEN CASE WHEN {exact} THEN NULL "
            f"WHEN {one_of(trimmed, same)} THEN {spaced} || {_quoted(trimmed)} || "
            f"{lit(': ' + _TRIM_HINT)} ELSE {message} END"
        )
    squash = f"lower(regexp_replace({ev}, '[^A-Za-z0-9]', '', 'g'))"
    return f"CASE {squash} {' '.join(branches)} END"


def build_encode_sql(
    relation: str, schema: pa.Schema, mapping: ColumnMapping, spec: EncodeSpec
) -> str:
    """The SELECT that encodes every row of ``relation`` (whose columns are ``schema``)."""
    from reverse_etl.destinations.tiktok.match import (  # they build on this module
        match_sql,
        unmatched_warning,
    )

    relation, spec = _strip_once(relation, schema, mapping, spec)
    relation, spec = _hash_phones_once(relation, schema, mapping, spec)
    relation, spec = _check_emails_once(relation, schema, mapping, spec)
    key_sql = ident("__row_key") if spec.prekeyed else _key_sql(spec, schema)
    payload = _payload_sql(mapping, schema, spec, key_sql)
    errors, warns = _checks(mapping, schema, spec, key_sql)
    err = "NULLIF(concat_ws('; ', " + ", ".join(errors) + "), '')"
    warn = "NULLIF(concat_ws('; ', " + ", ".join(warns) + "), '')" if warns else "NULL"
    # A row that carries no match key warns, after its other reasons: read from __match.
    unmatched = unmatched_warning(spec.source, "__match")
    warnings = f"NULLIF(concat_ws('; ', __warnings, {unmatched}), '') AS __warnings"
    if spec.prekeyed:
        passthrough = (
            f",\n         {ident('__row_hash')} AS __hash_in, {ident('__change')} AS __change_in"
        )
        outer = f"__hash_in AS __hash, __errors, {warnings}, __match, __change_in"
    else:
        passthrough, outer = "", f"md5(__payload) AS __hash, __errors, {warnings}, __match"
    derived = derived_event_id(spec.model, key_sql) if spec.derive_event_id else None
    event_id = event_id_text(mapping, schema, derived)
    return (
        f"SELECT __key, __payload, __event_id, {outer} FROM (\n"
        f"  SELECT {key_sql} AS __key,\n"
        f"         {payload} AS __payload,\n"
        f"         {event_id} AS __event_id,\n"
        f"         {err} AS __errors,\n"
        f"         {warn} AS __warnings,\n"
        f"         {match_sql(mapping, schema, spec)} AS __match{passthrough}\n"
        f"  FROM {relation}\n"
        ") AS __encoded"
    )


def _phone_columns(schema: pa.Schema, mapping: ColumnMapping) -> list[str]:
    return [
        m.column
        for m in mapping.columns
        if m.param is not None
        and m.param.hashing is Hashing.PHONE
        and not _is_list(schema.field(m.column).type)
    ]


def distinct_phones_sql(relation: str, schema: pa.Schema, mapping: ColumnMapping) -> str | None:
    """Every distinct trimmed phone of the rows, as ``raw`` (None: no phone column)."""
    return shared_distinct_phones(relation, _phone_columns(schema, mapping))


def phone_map_sql(
    relation: str, schema: pa.Schema, mapping: ColumnMapping, spec: EncodeSpec, table: str
) -> str | None:
    """The phone table, parsed in SQL by the per-row UDF: every distinct (trimmed) phone of
    the rows and its E.164 (the plan parses them in Python instead: ``phone_table_sql``).
    None when no phone column is mapped.

    It reads the phone columns of ``relation`` once more (for a model, DuckDB reads only
    those columns). The encoder still hashes a phone that is missing from the table (a model
    that returns other rows the second time) row by row, so the table only saves work.
    """
    distinct = distinct_phones_sql(relation, schema, mapping)
    if distinct is None:
        return None
    region = lit(spec.default_phone_region or "")
    return (
        f"CREATE OR REPLACE TEMP TABLE {table} AS "
        f"SELECT raw, {PHONE_UDF}(raw, {region}) AS e164 FROM ({distinct}) AS __distinct_phones "
        f"WHERE {needs_parsing('raw')}"
    )


def _hash_phones_once(
    relation: str, schema: pa.Schema, mapping: ColumnMapping, spec: EncodeSpec
) -> tuple[str, EncodeSpec]:
    """Phone parsing is the one step in Python: do it once per row (the payload and the
    validity check both need it) in a projection under the encoder, or look it up in the
    phone table (``phone_map_sql``) when there is one."""
    phones = _phone_columns(schema, mapping)
    if not phones:
        return relation, spec
    names = _helper_names("hashed_phone", phones, schema)
    region = spec.default_phone_region
    texts = {c: ident(n) for c, n in spec.texts}
    if spec.phone_table is None:
        extra = ", ".join(
            f"{_hash(spec.text(c), Hashing.PHONE, region)} AS {ident(n)}" for c, n in names
        )
        wrapped = f"(SELECT *, {extra} FROM {relation}) AS __phones"
        return wrapped, replace(spec, hashed_phones=names)
    joins = " ".join(
        f"LEFT JOIN {spec.phone_table} AS __ph{i} ON __ph{i}.raw = __p.{texts[c]}"
        for i, (c, _) in enumerate(names)
    )
    extra = ", ".join(
        # A NULL phone is settled here: the per-row branch would call the Python parser for
        # every vector that holds one.
        f"CASE WHEN __ph{i}.raw IS NOT NULL THEN sha256(__ph{i}.e164) "
        f"WHEN __p.{ident(c)} IS NULL THEN NULL "
        f"ELSE {_hash(f'__p.{texts[c]}', Hashing.PHONE, region)} END AS {ident(n)}"
        for i, (c, n) in enumerate(names)
    )
    wrapped = f"(SELECT __p.*, {extra} FROM (SELECT * FROM {relation}) AS __p {joins}) AS __phones"
    return wrapped, replace(spec, hashed_phones=names)


def flatten_objects(schema: pa.Schema, relation: str) -> tuple[pa.Schema, str]:
    """STRUCT columns named after a payload object are read field by field (shared/rows.py)."""
    return flatten_struct_objects(schema, relation, OBJECTS)
