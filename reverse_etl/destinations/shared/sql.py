"""SQL for values, shared by every platform's encoder: literals, identifiers, and how a
column of any type is written as text, a number, an integer, a boolean or Unix seconds.

Pure: this module only writes DuckDB SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import orjson

from reverse_etl.destinations.shared.json_nulls import without_nulls

if TYPE_CHECKING:
    # Each function imports it: they are handed Arrow types, so it is loaded by then, and
    # validate, which imports this module with the platforms, starts without Arrow (#18).
    import pyarrow as pa

    from reverse_etl.destinations.catalog import ColumnMapping

HEX64 = "'[0-9a-fA-F]{64}'"

# What a value is trimmed of before it is normalised and hashed, on every platform, in SQL
# (``strip``) and in Python (``pii.py``): the characters of Python's ``str.isspace()`` (its
# ``str.strip()``): tab, line feed, vertical tab, form feed, carriage return, the four
# information separators, space, NEL, and Unicode's space, line and paragraph separators (NO-BREAK
# SPACE, EM SPACE, IDEOGRAPHIC SPACE ...). DuckDB's trim() removes the spaces only, so a tab or
# a line break from a CSV was hashed with the value.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# The same characters as an RE2 class (\p{Z}: the space, line and paragraph separators).
WHITESPACE_CLASS = r"[\t\n\x{0b}\f\r\x{1c}-\x{1f}\x{85}\p{Z}]"
# As a SQL constant: chr() of each, so that the SQL text stays printable (folded once).
_WHITESPACE_SQL = " || ".join(f"chr({ord(c)})" for c in WHITESPACE)


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def strip(expr: str) -> str:
    """SQL: the text ``expr`` without leading or trailing ``WHITESPACE`` (NULL stays NULL).

    ``trim(x, chars)`` with those 29 characters took ~6 times as long as ``trim(x)`` (150 ms
    against 27 per 200k e-mails on one thread): a value that starts and ends with printable
    ASCII, nearly every one, is taken as it is, for ~4 ms more than ``trim(x)``."""
    ends = f"ord({expr}) BETWEEN 33 AND 126 AND ord(({expr})[-1]) BETWEEN 33 AND 126"
    return f"CASE WHEN {ends} THEN {expr} ELSE trim({expr}, {_WHITESPACE_SQL}) END"


def one_of(expr: str, values: Iterable[str]) -> str:
    """SQL true when ``expr`` is one of ``values`` (NULL when ``expr`` is NULL, as ``IN``).

    Not ``expr IN ('a', 'b', ...)``: DuckDB rewrites a long list of constants into a join
    (``in_clause``), one hash table per list beside the encode's phone join in the same
    pipeline, and hash tables that share a pipeline cannot spill together (duckdb#6733): the
    encode then ran out of its 200MB at 1M distinct phones and needed the 1GB fallback
    (docs/performance.md). ``list_contains`` on a constant list is a plain function."""
    return f"list_contains([{', '.join(lit(v) for v in values)}], {expr})"


def jkey(name: str) -> str:
    """A JSON object key with its colon, as a SQL string literal."""
    return lit(orjson.dumps(name).decode() + ":")


def json_objects(col: str, obj: str) -> str:
    """SQL: the JSON array of ``obj`` (a JSON object's text, never NULL or empty, over the
    element ``x``) for each non-NULL element of the list ``col``; NULL when there is none.

    One pass over the list: testing ``len(list_filter(...)) > 0`` first filtered every list
    twice, and took half of the contents' 0.43 CPU-s per 200k rows (issue #18)."""
    items = f"list_filter({col}, x -> x IS NOT NULL)"
    joined = f"array_to_string(list_transform({items}, x -> {obj}), ',')"
    return f"'[' || NULLIF({joined}, '') || ']'"


def id_list_json(col: str, t: pa.DataType) -> str:
    """SQL: the JSON array of the elements of the list ``col`` (of type ``t``) that are an ID,
    each as its text (``as_text``): NULL and blank (only ``WHITESPACE``) elements are left
    out, and so is a NaN or infinite float; NULL when none is left (no ``[]``). One pass, as
    ``json_objects``."""
    v = t.value_type
    # Filtered on the text (NULL for NULL, NaN and the infinities): only text can be blank,
    # so no test per element of other lists.
    keep = _not_blank("x") if is_text(v) else "x IS NOT NULL"
    texts = f"list_filter(list_transform({col}, x -> {as_text('x', v)}), x -> {keep})"
    return f"to_json(NULLIF({texts}, []))"


def one_id_list_json(col: str, t: pa.DataType) -> str:
    """SQL: one ID (a column that is no list) as the JSON array of it; NULL, and so left out,
    when it is NULL or blank (only ``WHITESPACE``), as such an element of a list
    (``id_list_json``): ``[null]`` and ``[""]`` name no product."""
    one = as_text(col, t)
    keep = _not_blank(f"({one})") if is_text(t) else f"({one}) IS NOT NULL"
    return f"CASE WHEN {keep} THEN to_json([{one}]) END"


_BLANK = lit(WHITESPACE_CLASS + "*")


def blank(expr: str) -> str:
    """SQL: ``expr`` is NULL or its text only ``WHITESPACE`` (as ``str.strip`` takes it: tabs
    and line breaks too, which ``trim`` leaves). A regex, not a trim: trim copies every (long)
    URL. A text whose first character is printable ASCII other than a space (nearly every
    one) is not blank without the regex: a quarter of its time on 200k URLs, one thread
    (5.1 against 21.0 ms)."""
    return f"coalesce({only_whitespace(f'CAST({expr} AS VARCHAR)')}, true)"


def only_whitespace(text: str) -> str:
    """SQL: the VARCHAR ``text`` is only ``WHITESPACE`` ('' too), as ``strip(text) = ''`` but
    without copying the text; NULL for NULL. The same SQL as ``blank``'s test, so DuckDB
    evaluates it once for a column both test (a text key: its blank check and its payload's
    event_id): a key's check with ``strip`` took 21 CPU-ms per 200k keys on one thread, this
    one 4.5 (issue #18)."""
    # CASE, not AND: DuckDB evaluates both sides of an AND for every row, a CASE's branch
    # only for the rows that take it.
    regex = f"regexp_full_match({text}, {_BLANK})"
    return f"CASE WHEN {_printable_first(text)} THEN false ELSE {regex} END"


def _printable_first(text: str) -> str:
    """SQL: the VARCHAR ``text`` starts with printable ASCII other than a space (so is not
    blank); NULL for NULL, FALSE for ''."""
    return f"(ascii({text}) BETWEEN 33 AND 126)"


def _not_blank(text: str) -> str:
    """SQL: the VARCHAR ``text`` holds more than ``WHITESPACE`` (NULL for NULL). A regex, not
    ``strip(x) <> ''``: in a list's lambda that CASE took three times as long (0.09 s against
    0.03 per 200k lists of 3 IDs, one thread); the regex, 0.045."""
    return (
        f"CASE WHEN {_printable_first(text)} THEN true "
        f"ELSE NOT regexp_full_match({text}, {_BLANK}) END"
    )


def derived_event_id(model: str, key: str) -> str:
    """SQL: the event id retl derives from the primary key when the model has none."""
    return f"'retl-' || substr(sha256({lit(model + ':')} || {key}), 1, 32)"


def event_id_text(mapping: ColumnMapping, schema: pa.Schema, derived: str | None) -> str:
    """SQL: the event id a payload carries, as text (NULL: none), for the encode's
    ``__event_id``: ``derived`` (``derived_event_id``) when given, else the text of the
    column mapped to ``event_id`` (an ID, written as ``as_text``; NULL when blank, as the
    payload leaves a blank one out: ``shared/blanks.py``)."""
    if derived is not None:
        return derived
    m = mapping.by_param().get("event_id")
    if m is None or len(m.path) != 1:
        return "CAST(NULL AS VARCHAR)"
    t = schema.field(m.column).type
    text = as_text(ident(m.column), t)
    return f"CASE WHEN NOT {blank(ident(m.column))} THEN {text} END" if is_text(t) else text


def is_list(t: pa.DataType) -> bool:
    """A LIST column, or a fixed-size ARRAY (``VARCHAR[2]``): DuckDB's list functions take
    both, and both are sent as a JSON array."""
    import pyarrow as pa

    return bool(pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t))


def as_text(expr: str, t: pa.DataType) -> str:
    """A column as VARCHAR for an ID: integral floats and decimals lose their '.0'."""
    import pyarrow as pa

    if pa.types.is_floating(t):
        # NaN and the infinities are no ID (NaN = trunc(NaN) held, and the cast to HUGEINT
        # failed the whole encode); past HUGEINT a float's own text. A FLOAT's digits are
        # those of its own text (``as_double``): 1e11::FLOAT is 100000000000, not the
        # 99999997952 it holds.
        d = as_double(expr, t)
        return (
            f"CASE WHEN NOT isfinite({expr}) THEN NULL WHEN {expr} = trunc({expr}) THEN "
            f"coalesce(CAST(TRY_CAST({d} AS HUGEINT) AS VARCHAR), CAST({expr} AS VARCHAR)) "
            f"ELSE CAST({expr} AS VARCHAR) END"
        )
    if pa.types.is_decimal(t) and t.scale > 0:
        return (
            f"CASE WHEN {expr} = trunc({expr}) THEN CAST(CAST({expr} AS HUGEINT) AS VARCHAR) "
            f"ELSE CAST({expr} AS VARCHAR) END"
        )
    return f"CAST({expr} AS VARCHAR)"


def number(expr: str, t: pa.DataType) -> str:
    """Numbers go out as DOUBLE whatever the column type, so that 42, 42.0 and DECIMAL 42.00
    write the same bytes (and a cast in the model does not look like a changed row)."""
    import pyarrow as pa

    if pa.types.is_string(t) or pa.types.is_large_string(t):
        # 'nan' and 'inf' read as DOUBLE: JSON has no such number (a body with NaN is no JSON).
        # ``strip``: every whitespace ``blank`` takes (trim() left '5' || chr(133) no number)
        v = f"TRY_CAST({strip(expr)} AS DOUBLE)"
        return f"CASE WHEN isfinite({v}) THEN {v} END"
    if pa.types.is_decimal(t) or pa.types.is_integer(t):
        return f"CAST({expr} AS DOUBLE)"
    if pa.types.is_floating(t):
        return f"CASE WHEN isfinite({expr}) THEN {as_double(expr, t)} END"
    return f"CASE WHEN isfinite(CAST({expr} AS DOUBLE)) THEN CAST({expr} AS DOUBLE) END"


def as_double(expr: str, t: pa.DataType) -> str:
    """SQL: a float ``expr`` (of type ``t``) as the DOUBLE that is sent for it. A FLOAT (REAL,
    a Parquet float32) is the DOUBLE of its own shortest text, what the model wrote
    (``0.1::FLOAT`` is 0.1, written ``0.1``): cast as it is, it widens exactly to the
    0.10000000149011612 it holds, and JSON would carry those digits. The shortest text of that
    DOUBLE is the FLOAT's (it has at most 9 digits, and a DOUBLE tells apart numbers 17 digits
    long). NaN and the infinities stay what they are (their text reads back)."""
    import pyarrow as pa

    if pa.types.is_floating(t) and not pa.types.is_float64(t):
        return f"CAST(CAST({expr} AS VARCHAR) AS DOUBLE)"
    return expr


def own_json(expr: str, t: pa.DataType, *, json: bool | None = None) -> str:
    """SQL: the JSON of a value sent as the model has it (a custom property), with no JSON
    ``null`` in it at any depth: both platforms refuse the whole event for one. A list's NULL
    items are left out, and so are a struct's NULL fields, a map's NULL values and a union's
    NULL member; a float's NaN and infinities too (DuckDB writes them ``NaN`` and
    ``Infinity``, which no JSON reader takes). A list, map, struct or union left empty by that
    is left out in turn, as a list of IDs left empty is (one the model wrote empty, ``[]`` or
    ``{}``, is sent as it is). A value of DuckDB type JSON (a JSON column; a warehouse's json,
    jsonb or VARIANT; a JSON leaf of the lists and structs they are read as) follows the same
    rule: a top-level ``null`` is left out, and so are ``null`` items and members at any
    depth, and an array or object emptied by that (``json_nulls.py``); the rest is sent as
    ``to_json`` writes it, and a value with no ``null`` is ``to_json``'s text itself.

    ``json``: whether ``expr``'s type holds JSON, when the caller knows (True or False);
    None: tested in SQL by ``when_holds_json``, which DuckDB folds when it plans for a column
    but not for a lambda's variable (an item of a list, tested item by item: 2x the time of
    a contents' text key, and 10 MB more at the peak of a 200k first sync), so a caller
    over a list's items tests the list column once instead (``when_holds_json``)."""
    kept = _kept(expr, t, 0)
    sent = f"to_json({expr if kept is None else kept})"
    if not holds_text(t) or json is False:
        return sent
    if json:
        return without_nulls(sent)
    # Arrow's string is VARCHAR or JSON: typeof tells, folded by DuckDB when it plans (a value
    # with no JSON in it keeps its SQL). The nulls left are a JSON leaf's only.
    return when_holds_json(expr, without_nulls(sent), sent)


def when_holds_json(col: str, sql: str, otherwise: str) -> str:
    """SQL: ``sql`` when the type of the column ``col`` holds DuckDB's JSON (it is JSON, or a
    list, struct or map with JSON in it), else ``otherwise``; decided once, when DuckDB plans
    the query, for a column (not for a lambda's variable)."""
    return f"CASE WHEN contains(typeof({col}), 'JSON') THEN {sql} ELSE {otherwise} END"


def holds_text(t: pa.DataType) -> bool:
    """Whether ``t`` is text, or a list, map, struct or union that holds text (maybe JSON)."""
    import pyarrow as pa

    if is_text(t):
        return True
    if is_list(t):
        return holds_text(t.value_type)
    if pa.types.is_map(t):
        return holds_text(t.item_type)
    if pa.types.is_struct(t) or pa.types.is_union(t):
        return any(holds_text(t.field(i).type) for i in range(t.num_fields))
    return False


def _kept(expr: str, t: pa.DataType, depth: int) -> str | None:
    """SQL: ``expr`` (of type ``t``) rebuilt as ``own_json`` sends it, NULL when it is left
    out; None when ``t`` is sent as it is (no list, map, struct, union or float in it: no work
    per row). Type-driven, so no text is parsed: a string ``'NaN'`` stays a string. A value
    with no NULL, NaN or infinity in it is written the same bytes as ``to_json`` writes it."""
    import pyarrow as pa

    if pa.types.is_floating(t):  # a FLOAT as its own digits (``as_double``)
        return f"CASE WHEN isfinite({expr}) THEN {as_double(expr, t)} END"
    x = f"__x{depth}"  # one lambda variable per level: an inner one may read no outer one
    if is_list(t):
        inner = _kept(x, t.value_type, depth + 1)
        items = expr if inner is None else f"list_transform({expr}, {x} -> {inner})"
        kept = f"list_filter({items}, {x} -> {x} IS NOT NULL)"
        kept = f"NULLIF({kept}, {_emptied(f'len({expr})', '[]')})"
        if inner is not None or pa.types.is_fixed_size_list(
            t
        ):  # an ARRAY: CASE would cast the list back
            return kept
        return _unless_null_in(expr, expr, kept)
    if pa.types.is_map(t):  # a key is written as text: "nan" is a JSON string
        inner = _kept(f"{x}.value", t.item_type, depth + 1)
        entries = f"map_entries({expr})"
        if inner is not None:
            entry = f"{{'key': {x}.key, 'value': {inner}}}"
            entries = f"list_transform({entries}, {x} -> {entry})"
        kept = f"list_filter({entries}, {x} -> {x}.value IS NOT NULL)"
        emptied = _emptied(f"cardinality({expr})", "[]")
        kept = f"map_from_entries(NULLIF({kept}, {emptied}))"
        return kept if inner is not None else _unless_null_in(f"map_values({expr})", expr, kept)
    if pa.types.is_struct(t):
        # Written as its JSON object, each field's "name": value, the NULL ones left out (a
        # struct has a field at least: one left with none is left out). The key as to_json
        # writes it (its escapes), folded once.
        fields, rebuilt = [], False
        for i in range(t.num_fields):
            f = t.field(i)
            value = f"struct_extract({expr}, {lit(f.name)})"
            inner = _kept(value, f.type, depth + 1)
            rebuilt = rebuilt or inner is not None
            fields.append(
                f"CAST(to_json({lit(f.name)}) AS VARCHAR) || ':' || to_json({inner or value})"
            )
        members = f"NULLIF(concat_ws(',', {', '.join(fields)}), '')"
        kept = f"CAST('{{' || {members} || '}}' AS JSON)"
        if rebuilt:
            return kept
        # Fields sent as they are: to_json of the struct when none is NULL
        full = " AND ".join(
            f"struct_extract({expr}, {lit(t.field(i).name)}) IS NOT NULL"
            for i in range(t.num_fields)
        )
        return f"CASE WHEN {full} THEN to_json({expr}) ELSE {kept} END"
    if pa.types.is_union(t):
        # Written as {"member": value}: built as that JSON, with the member rebuilt; left out
        # when the member is NULL.
        branches = []
        for i in range(t.num_fields):
            f = t.field(i)
            member = f"union_extract({expr}, {lit(f.name)})"
            inner = f"to_json({_kept(member, f.type, depth + 1) or member})"
            branches.append(f"WHEN {lit(f.name)} THEN {jkey(f.name)} || {inner}")
        return f"CAST('{{' || CASE union_tag({expr}) {' '.join(branches)} END || '}}' AS JSON)"
    return None


def _unless_null_in(items: str, whole: str, kept: str) -> str:
    """SQL: ``whole`` when the list ``items`` holds no NULL, else ``kept``: a value with no
    NULL in it is taken as it is, not rebuilt (a map of numbers rebuilt took eight times as
    long, 142 ms against 17 per 200k maps of two, one thread)."""
    return f"CASE WHEN list_position({items}, NULL) IS NULL THEN {whole} ELSE {kept} END"


def _emptied(size: str, empty: str) -> str:
    """SQL: ``empty`` when the container of that ``size`` had items (so that one left empty
    is left out by NULLIF), else NULL (one that was empty is sent as it is)."""
    return f"CASE WHEN {size} > 0 THEN {empty} END"


def integer(expr: str, t: pa.DataType) -> str:
    import pyarrow as pa

    # TRY_CAST: a whole number beyond BIGINT (1e19, a DECIMAL(38,0), a HUGEINT or UHUGEINT,
    # which reach Arrow as DECIMAL(38,0)) is no integer to send, so the row says so, rather
    # than failing the whole statement. A UBIGINT too: past 2**63 - 1 it was sent as it is.
    if pa.types.is_unsigned_integer(t) and t.bit_width == 64:
        return f"TRY_CAST({expr} AS BIGINT)"
    if pa.types.is_integer(t):
        return expr
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        # Digits are read exactly; other text as a number that must be whole ('3.0', '1e3').
        # TRY_CAST(text AS BIGINT) rounded '2.5' to 3 and read '0x10' as 16.
        v = strip(expr)  # every whitespace ``blank`` takes, as ``number``
        d = f"TRY_CAST({v} AS DOUBLE)"
        return (
            f"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]+') THEN TRY_CAST({v} AS BIGINT) "
            f"WHEN {d} = trunc({d}) THEN TRY_CAST({d} AS BIGINT) END"
        )
    x = as_double(expr, t) if pa.types.is_floating(t) else expr  # a FLOAT's own digits
    return f"CASE WHEN {x} = trunc({x}) THEN TRY_CAST({x} AS BIGINT) END"


def boolean(expr: str, t: pa.DataType) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(t):
        return expr
    # Text trimmed as ``number``'s (' true ' was no boolean); other types cast as they are
    text = pa.types.is_string(t) or pa.types.is_large_string(t)
    return f"TRY_CAST({strip(expr) if text else expr} AS BOOLEAN)"


def always_parses(parse: object, t: pa.DataType) -> bool:
    """Whether ``parse`` (``number``, ``integer`` or ``boolean``) gives a value for every
    non-NULL value of type ``t``: then a row check that it gave none ("price is not a
    number") cannot fail, and is not written. An integer or decimal is always a number (its
    DOUBLE), an integer short of UBIGINT always an integer, a boolean always a boolean; a
    float (NaN), text and a UBIGINT (past BIGINT) may not be. The contents' price and
    quantity checks, a list filter per row, took 31 of the 200k first sync's encode's
    CPU-ms on one thread for a DECIMAL price and an INTEGER quantity (issue #18)."""
    import pyarrow as pa

    if parse is number:
        return bool(pa.types.is_integer(t) or pa.types.is_decimal(t))
    if parse is integer:
        return pa.types.is_integer(t) and not (
            pa.types.is_unsigned_integer(t) and t.bit_width == 64
        )
    if parse is boolean:
        return bool(pa.types.is_boolean(t))
    return False


# Integer Unix seconds past this (the year 5138) are taken for milliseconds: an invalid row.
MILLISECONDS_FROM = 100_000_000_000


def unix_seconds(expr: str, t: pa.DataType) -> str:
    """Unix seconds, or NULL when the value is no time. TRY_CAST: a UBIGINT or DOUBLE beyond
    BIGINT (1e300, inf) makes the row invalid rather than failing the whole statement."""
    import pyarrow as pa

    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return _whole_seconds(expr)
    if pa.types.is_integer(t):
        cast = "CAST" if pa.types.is_signed_integer(t) else "TRY_CAST"
        return f"{cast}({expr} AS BIGINT)"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return f"TRY_CAST(floor({expr}) AS BIGINT)"
    # Text trimmed as ``number``'s: ' 2024-01-01 ' and '2024-01-01\t' were "not a time"
    text = strip(expr)
    zoned = f"TRY_CAST({text} AS TIMESTAMPTZ)"
    # Two casts, not one: in DuckDB 1.5.5 a text naming a time zone ('... Europe/Paris')
    # leaves that zone in its cast's state, and the texts after it in the same vector that
    # name none ('2024-06-01 00:00:00') were read in it (hours off, no error). A text that a
    # plain TIMESTAMP takes names no zone (an offset, UTC or Z at most, which leave nothing
    # behind), so the second cast never sees a zone name; the first sees only texts that name
    # their own (tests/test_text_values.py).
    return _whole_seconds(
        f"CASE WHEN TRY_CAST({text} AS TIMESTAMP) IS NULL THEN {zoned} ELSE {zoned} END"
    )


def _whole_seconds(time: str) -> str:
    """SQL: the Unix seconds of a DATE or TIMESTAMP (any precision, with a time zone or not),
    fractions dropped (floor), as for DOUBLE seconds: the cast of epoch()'s DOUBLE rounded
    09:00:00.6 up to 09:00:01. Integer microseconds, floored exactly (DuckDB's // and %
    truncate toward zero); NULL for 'infinity'."""
    us = f"epoch_us({time})"
    return f"({us} // 1000000 - CASE WHEN {us} % 1000000 < 0 THEN 1 ELSE 0 END)"


def already_hashed(v: str) -> str:
    """A SHA-256 already (sent lower-cased as is). The length test first: DuckDB runs the
    regex only on the rows it leaves."""
    return f"strlen({v}) = 64 AND regexp_full_match({v}, {HEX64})"


# Something@something.tld: what a mail server could deliver to, loosely. A value that fails
# it matches no one on either platform (sent, hashed, with a row warning).
EMAIL_PATTERN = r"'[^@\s]+@[^@\s]+\.[^@\s]+'"


def email_ok(v: str) -> str:
    """SQL: the (trimmed) text ``v`` is an e-mail address (something@something.tld) or
    already a SHA-256."""
    return f"({already_hashed(v)} OR regexp_full_match({v}, {EMAIL_PATTERN}))"


def blank_event_id_warning(
    key_columns: tuple[str, ...], event_id_column: str | None, schema: pa.Schema
) -> list[str]:
    """A SQL fragment yielding a warning when the event_id column, not the key, is NULL,
    blank, or a NaN or infinite float (sent as no event id): the event goes without one, so
    the platform cannot deduplicate it (a resend after a lost answer counts twice). A key
    column's NULL, blank or NaN is an error already (``empty_key_checks``)."""
    if event_id_column is None or key_columns == (event_id_column,):
        return []
    c = ident(event_id_column)
    text = as_text(c, schema.field(event_id_column).type)
    reason = lit("event_id is empty: the platform cannot deduplicate this event")
    return [f"CASE WHEN {blank(f'({text})')} THEN {reason} END"]


EMPTY_KEY = "primary key is blank, NaN or infinite"


def empty_key_checks(key_columns: tuple[str, ...], schema: pa.Schema) -> list[str]:
    """SQL fragments yielding a reason when a key column holds blank text (only whitespace)
    or a NaN or infinite float: invalid, as a NULL key is. Such a key is no row's identity
    (every blank row would share it), and as the event id the platform would deduplicate
    on nothing. The key's text alone cannot tell: the diff's key of NaN is 'nan'.

    A key of one column only: in a key of several columns one blank part is no error (the
    other parts tell the rows apart; such rows were sent before this check)."""
    import pyarrow as pa

    if len(key_columns) != 1:
        return []
    out = []
    for c in key_columns:
        if c not in schema.names:
            continue
        t = schema.field(c).type
        if is_text(t):  # an ENUM too: a blank one is left out of the payload as event_id
            # As text: a JSON column (Arrow's string too) compared with '' read '' as JSON,
            # and failed the whole statement.
            text = f"CAST({ident(c)} AS VARCHAR)"
            out.append(f"CASE WHEN {only_whitespace(text)} THEN {lit(EMPTY_KEY)} END")
        elif pa.types.is_floating(t):
            out.append(f"CASE WHEN NOT isfinite({ident(c)}) THEN {lit(EMPTY_KEY)} END")
    return out


# C0 control characters and DEL (RE2 syntax, in a SQL string): NUL from a CSV, say.
CONTROL_CHARACTER = r"'[\x00-\x1f\x7f]'"
_TEXT_TYPES = ("string", "large_string", "string_view")


def is_text(t: pa.DataType) -> bool:
    """Text, or an ENUM (an Arrow dictionary of text, whose labels may be blank too)."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        t = t.value_type
    return str(t) in _TEXT_TYPES


# A float holds every whole number below 2 to the power of its significand's bits, and from
# there on only some: a FLOAT (REAL) holds 16777216 and 16777218 but not 16777217, which it
# rounds to 16777216; a DOUBLE does the same from 2^53. (bits, significand bits, its name)
_FLOAT_SIGNIFICANDS = {16: (11, "HALF FLOAT"), 32: (24, "FLOAT"), 64: (53, "DOUBLE")}


def float_id_limit(t: pa.DataType) -> tuple[int, str] | None:
    """(significand bits, SQL type name) of a float type, whose whole numbers are exact below
    2^bits; None for any other type."""
    import pyarrow as pa

    if not pa.types.is_floating(t):
        return None
    return _FLOAT_SIGNIFICANDS.get(t.bit_width, (53, "DOUBLE"))


def inexact_id_reason(what: str, bits: int, name: str) -> str:
    """Why an ID ``what`` of a float type (``name``, exact below 2^``bits``) makes its row
    invalid."""
    limit = 2**bits
    return (
        f"{what} is a {name} of 2^{bits} ({limit}) or more, whose digits may be rounded "
        f"({limit + 1} becomes {limit}), so it may not be the warehouse's ID and may be "
        f"another row's: keep it BIGINT, DECIMAL or text in the model and the warehouse (a "
        f"CAST of the {name} cannot restore its digits)"
    )


def inexact_item_checks(col: str, item: pa.DataType, x: str, what: str) -> list[str]:
    """A reason when an item ``x`` (SQL over the lambda's ``x``) of the list ``col`` (SQL) is
    an ID of a float type past the whole numbers it holds exactly (``inexact_id_checks``):
    none unless ``item`` is a float type (decided here, from the schema: no SQL otherwise)."""
    found = float_id_limit(item)
    if found is None:
        return []
    bits, name = found
    bad = f"len(list_filter({col}, x -> isfinite({x}) AND abs({x}) >= {2**bits})) > 0"
    return [f"CASE WHEN {bad} THEN {lit(inexact_id_reason(what, bits, name))} END"]


def inexact_id_checks(
    key_columns: tuple[str, ...], event_id_column: str | None, schema: pa.Schema
) -> list[str]:
    """SQL fragments yielding a reason when a key column or the event_id column is a float
    whose value is past the whole numbers it holds exactly (2^24 for a FLOAT, 2^53 for a
    DOUBLE): its digits may have been rounded before the model returned it (16777217 as a
    FLOAT is 16777216), so the key or event_id made of it need not be the warehouse's ID, and
    two rows may share it. Invalid, as a NaN key is (``empty_key_checks``): the fix is a
    type that keeps every digit, in the model or the warehouse. A NaN or an infinity is
    judged there, not here."""
    columns = dict.fromkeys(key_columns)
    if event_id_column is not None:
        columns[event_id_column] = None
    out = []
    for c in columns:
        found = float_id_limit(schema.field(c).type) if c in schema.names else None
        if found is None:
            continue
        bits, name = found
        col = ident(c)
        reason = lit(inexact_id_reason(c, bits, name))
        out.append(f"CASE WHEN isfinite({col}) AND abs({col}) >= {2**bits} THEN {reason} END")
    return out


def control_character_checks(
    key_columns: tuple[str, ...], event_id_column: str | None, schema: pa.Schema
) -> list[str]:
    """SQL fragments yielding a reason when a key column or the event_id column holds a
    control character (a NUL byte, a line break): such a key is not what the warehouse meant,
    and the platforms deduplicate on event_id. Text and ENUM columns only.

    A blank value (``'\\t\\n'``, only whitespace: ``blank``) holds no key at all: it is
    judged as blank, as ``'  '`` is (a blank event_id is left out with a warning,
    ``blank_event_id_warning``; a blank key is invalid, ``empty_key_checks``), not as a
    control character (its tab or line break made the row invalid where ``'  '`` warned)."""
    columns = dict.fromkeys(key_columns)
    if event_id_column is not None:
        columns[event_id_column] = None
    return [
        # Nested, not AND: the blank test runs for the rows with a control character only
        f"CASE WHEN regexp_matches(CAST({ident(c)} AS VARCHAR), {CONTROL_CHARACTER}) "
        f"THEN CASE WHEN NOT {blank(ident(c))} "
        f"THEN {lit(f'{c} holds a control character (NUL, a line break, ...)')} END END"
        for c in columns
        if c in schema.names and is_text(schema.field(c).type)
    ]
