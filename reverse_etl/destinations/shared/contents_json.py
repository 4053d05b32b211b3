"""SQL for a ``contents`` column of JSON (a DuckDB ``CAST(... AS JSON)``, a warehouse's json or
jsonb whose values the workbench could not read as a list of structs): checked and encoded
row by row in SQL, as the list of structs would be.

Arrow carries JSON as text, so the encoders cannot tell it from VARCHAR by the schema: every
expression here holds for a column whose DuckDB type is JSON only (``typeof``, which DuckDB
folds when it plans the query). A VARCHAR column keeps what the encoder did before (static
validation refuses it).

A value that is neither NULL (SQL or JSON) nor an array of objects makes its row invalid
(``not_objects``). An array's null elements are left out, as a list's NULL structs are. Each
object is written as the platform's content: its known keys typed (an ID as text, a price a
number, a quantity an integer; a value that does not parse is left out, and
``unparsed_value`` says so) and renamed, its other keys sent as their own JSON or left out
(``ContentsSpec``); a key whose value is null is left out, and of two keys sent under one
name the first non-null one wins (``content_id`` and ``id`` for Meta), as ``coalesce`` picks
among a struct's fields. The keys stay in the object's order. Each object is parsed once
(its keys, their types and texts as lists). Pure: this module only writes SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reverse_etl.destinations.catalog import Kind
from reverse_etl.destinations.shared.json_ids import id_text
from reverse_etl.destinations.shared.sql import blank, integer, jkey, lit, number

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class ContentsSpec:
    """How a platform writes a content: ``keys`` maps a key of the model's objects to the
    name it is sent as and its kind (ID, NUMBER, INTEGER, STRING as text; None: the value's
    own JSON); another key is sent as its own JSON when ``keep_unknown``, else left out."""

    keys: Mapping[str, tuple[str, Kind | None]]
    keep_unknown: bool


def is_json_text(t: pa.DataType) -> bool:
    """The Arrow type a JSON column has (text): the column may be JSON, checked in SQL."""
    import pyarrow as pa

    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def when_json(col: str, sql: str, otherwise: str = "NULL") -> str:
    """SQL: ``sql`` when ``col`` is of DuckDB type JSON, else ``otherwise`` (decided once,
    when DuckDB plans the query: ``sql`` never runs on the text of a VARCHAR)."""
    return f"CASE WHEN typeof({col}) = 'JSON' THEN {sql} ELSE {otherwise} END"


def not_objects(col: str) -> str:
    """SQL: the JSON ``col`` holds a value that is not an array of objects (and nulls)."""
    kinds = f"json_type({col}, '$[*]')"
    return (
        f"coalesce(json_type({col}), 'NULL') <> 'NULL' AND (json_type({col}) <> 'ARRAY' OR "
        f"len(list_filter({kinds}, _t -> _t <> 'OBJECT' AND _t <> 'NULL')) > 0)"
    )


def not_struct_items(col: str, t: pa.DataType) -> str | None:
    """SQL: the list ``col`` (of Arrow type ``t``) holds an item, when its items are not
    structs (``VARCHAR[]``: what a warehouse's JSON list of strings reads as): such a
    contents is no list of objects, whatever the row; a ``JSON[]``'s items are each an
    object (or null) or not. None for any other type (no SQL)."""
    import pyarrow as pa

    if not (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)):
        return None
    if pa.types.is_struct(t.value_type):
        return None
    # A JSON[] (list(json_object(...)) in a model) reads as a list of text in Arrow too: its
    # items are objects or not by their JSON type (decided when DuckDB plans, as when_json).
    json_items = f"len(list_filter({col}, _x -> json_type(_x) NOT IN ('OBJECT', 'NULL'))) > 0"
    return (
        f"CASE WHEN typeof({col}) = 'JSON[]' THEN {json_items} "
        f"ELSE len(list_filter({col}, _x -> _x IS NOT NULL)) > 0 END"
    )


def _objects(col: str) -> str:
    """SQL: the elements of the JSON array ``col`` but its nulls (JSON[]; empty for any other
    value). For a valid row they are objects; another element's keys are none."""
    return f"list_filter(json_extract({col}, '$[*]'), _x -> _x <> 'null')"


def typed(t: str, s: str, kind: Kind | None, raw: str | None = None) -> str:
    """SQL: the JSON text sent for one value of a content key of ``kind`` (None: its own
    JSON, ``raw``), or NULL to leave it out (null, blank text as a struct's is:
    ``shared/blanks.py``, or a number that does not parse). ``t``:
    the value's ``json_type``; ``s``: its text (``json_extract_string``: a string's text, a
    number's or an object's JSON; NULL for null)."""
    import pyarrow as pa

    if kind is Kind.ID:
        return f"CASE WHEN NOT {blank(s)} THEN to_json({id_text(t, s)}) END"
    if kind is Kind.NUMBER:
        return f"to_json({number(s, pa.string())})"
    if kind is Kind.INTEGER:
        # As a struct's field of that type would be: 2.5 is no integer, "2" is one. A DOUBLE
        # is read from its text as a string is (digits exactly: -9223372036854775809, past
        # BIGINT, is no integer, where its DOUBLE rounded to -2**63 was one; 1e3 is 1000).
        return (
            f"to_json(CASE {t} WHEN 'BIGINT' THEN TRY_CAST({s} AS BIGINT) "
            f"WHEN 'UBIGINT' THEN TRY_CAST({s} AS BIGINT) "
            f"WHEN 'DOUBLE' THEN {integer(s, pa.string())} "
            f"WHEN 'VARCHAR' THEN {integer(s, pa.string())} END)"
        )
    if kind is Kind.STRING:
        return f"CASE WHEN NOT {blank(s)} THEN to_json({s}) END"
    assert raw is not None
    # ``s`` is NULL for null, and no other JSON but a string's text can be blank
    return f"CASE WHEN NOT {blank(s)} THEN CAST({raw} AS VARCHAR) END"


def _own_json(spec: ContentsSpec) -> bool:
    """Whether some value is sent as its own JSON (its raw text is read)."""
    return spec.keep_unknown or any(kind is None for _, kind in spec.keys.values())


def _member(spec: ContentsSpec) -> str:
    """SQL (over the key ``_k``, the n-th ``_n`` of the object ``_i``): {k: ``"name":``, the
    name it is sent as with its colon, v: the JSON sent}, v NULL when it is left out."""
    t, s = "_i.t[_n]", "_i.s[_n]"
    raw = "_i.v[_n]" if _own_json(spec) else None
    names = " ".join(f"WHEN {lit(k)} THEN {jkey(name)}" for k, (name, _) in spec.keys.items())
    values = " ".join(
        f"WHEN {lit(k)} THEN {typed(t, s, kind, raw)}" for k, (_, kind) in spec.keys.items()
    )
    if spec.keep_unknown:
        other_name, other = "to_json(_k) || ':'", typed(t, s, None, raw)
    else:
        other_name, other = "NULL", "NULL"
    return f"{{'k': CASE _k {names} ELSE {other_name} END, 'v': CASE _k {values} ELSE {other} END}}"


def _members(spec: ContentsSpec, objects: str) -> str:
    """SQL: for each of the ``objects`` (a JSON[] of a contents column), the list of its
    members that are sent ({k, v}: ``_member``), in the object's order; two may share a
    name."""
    # Each object read once: its keys, their values' types, texts and (when some value is
    # sent as its own JSON) JSON, in the object's order.
    raw = ", 'v': json_extract(_x, '$.*')" if _own_json(spec) else ""
    kv = (
        "{'k': json_keys(_x), 't': json_type(_x, '$.*'), "
        f"'s': json_extract_string(_x, '$.*'){raw}}}"
    )
    items = f"list_transform({objects}, _x -> {kv})"
    return (
        f"list_transform({items}, _i -> list_filter("
        f"list_transform(_i.k, (_k, _n) -> {_member(spec)}), _p -> _p.v IS NOT NULL))"
    )


def contents_json(col: str, spec: ContentsSpec) -> str:
    """SQL: the JSON array sent for the JSON ``col``, or NULL when it has no object (NULL,
    null, [], or a value ``not_objects`` makes invalid)."""
    # Of two members of one name (content_id and id; a key written twice), the first is sent:
    # looked for only in an object that has two.
    names = "list_transform(_ps, _q -> _q.k)"
    first = f"list_filter(_ps, (_p, _n) -> list_position({names}, _p.k) = _n)"
    kept = f"CASE WHEN len(list_distinct({names})) < len(_ps) THEN {first} ELSE _ps END"
    obj = f"'{{' || array_to_string(list_transform({kept}, _p -> _p.k || _p.v), ',') || '}}'"
    members = _members(spec, _objects(col))
    joined = f"array_to_string(list_transform({members}, _ps -> {obj}), ',')"
    return f"'[' || NULLIF({joined}, '') || ']'"


def sent_values(col: str, spec: ContentsSpec, name: str) -> str:
    """SQL: for each object of the JSON ``col``, the JSON ``contents_json`` sends under
    ``name`` (NULL: none), read as it reads it: the first of the object's keys sent under
    ``name`` whose value is not left out. A check of the value sent reads this (Meta's id):
    it judges exactly what is sent."""
    only = ContentsSpec(
        keys={k: v for k, v in spec.keys.items() if v[0] == name}, keep_unknown=False
    )
    objects = f"list_filter(json_extract({col}, '$[*]'), _x -> json_type(_x) = 'OBJECT')"
    return f"list_transform({_members(only, objects)}, _ps -> _ps[1].v)"


def unparsed_value(col: str, key: str, kind: Kind) -> str:
    """SQL: an object of the JSON ``col`` holds ``key`` with a value (not null) that is not a
    ``kind`` (left out of the content: ``typed`` gives NULL)."""
    path = lit("$[*]." + _quoted(key))
    values = f"list_zip(json_type({col}, {path}), json_extract_string({col}, {path}))"
    bad = f"_z[1] <> 'NULL' AND ({typed('_z[1]', '_z[2]', kind)}) IS NULL"
    return f"len(list_filter({values}, _z -> {bad})) > 0"


_WHAT = {Kind.NUMBER: "a number", Kind.INTEGER: "an integer"}


def unparsed_warnings(col: str, keys: Iterable[tuple[str, Kind | None]]) -> list[str]:
    """SQL fragments, one per number or integer key of ``keys`` (name, kind), yielding the
    warning that a JSON ``col``'s item holds a value of that key that does not parse (left
    out of the item), when ``col`` is of type JSON: the same words as a struct's."""
    out = []
    for key, kind in keys:
        if kind in _WHAT:
            warning = lit(f"a contents item's {key} is not {_WHAT[kind]} (left out)")
            cond = unparsed_value(col, key, kind)
            out.append(when_json(col, f"CASE WHEN {cond} THEN {warning} END"))
    return out


def _quoted(key: str) -> str:
    """A key as a JSON path member (``"content_id"``): the catalog's keys are plain names."""
    assert key.isidentifier(), key
    return f'"{key}"'
