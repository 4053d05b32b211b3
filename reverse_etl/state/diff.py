"""The diff, set-based: one LEFT JOIN of the model's rows with the acknowledged state.

Each row gets a key and a row hash where it lives (the embedded DuckDB, or the warehouse);
a row is sent when its key is new or its row hash differs from the acknowledged one. The
payload is a function of the row and the mapping, so together with the mapping fingerprint
(a changed mapping resends everything) this sends exactly what a payload-hash diff would,
without encoding the unchanged rows at all. Written once in DuckDB's dialect; sqlglot
transpiles it for a warehouse. Pure: this module only writes SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from reverse_etl.engine.base import NUMERIC_TEXT

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"
HELD = "held"  # changed, but not sent again (on_change, see dedup.py)


# Columns the warehouse diff adds to the model's own.
ROW_KEY = "__row_key"
ROW_HASH = "__row_hash"
CHANGE = "__change"
LATE = "__late"  # first acknowledged outside the dedup window (classify_sql)
WAREHOUSE_COLUMNS = (ROW_KEY, ROW_HASH, CHANGE)


# How a row hash is computed. A scope keeps the form of its first sync, and its stored hashes
# say which form that was (md5: 32 hex digits, sha1: 40, the exact form: "3:" and 32), so a
# newer form never makes rows synced by an older retl look changed.
FORM_MD5 = 1  # md5 of every column as text, numbers through DOUBLE (retl before form 2)
FORM_SHA1 = 2  # sha1, nested values (lists, structs, maps) as JSON; numbers through DOUBLE
FORM_EXACT = 3  # md5 of each column's exact text (_exact_text), escaped; "3:" first
NEWEST_FORM = FORM_EXACT
FORM_BY_LENGTH = {32: FORM_MD5, 40: FORM_SHA1, 34: FORM_EXACT}
EXACT_PREFIX = "3:"
# Doubles up to 2**53 are exact integers: they hash as their digits, like the integer types.
_EXACT_DOUBLE_LIMIT = 2**53


def _text(column: str, numeric: bool = False, as_json: bool = False) -> str:
    # Forms 1 and 2 (never change them: stored hashes depend on every byte). Numbers hash
    # through DOUBLE, which merges integers beyond 2**53 (the exact form does not).
    # chr(30)||'N' marks NULL, apart from the text 'NULL'.
    value = f"CAST({_q(column)} AS DOUBLE)" if numeric else _q(column)
    if as_json:  # DuckDB writes JSON faster than its own text of a list or struct
        return f"coalesce(CAST(to_json({value}) AS VARCHAR), chr(30) || 'N')"
    return f"coalesce(CAST({value} AS VARCHAR), chr(30) || 'N')"


def _exact_text(column: str, t: pa.DataType) -> str:
    """The exact form's canonical text of one column, NULL for NULL. Equal texts mean equal
    values: integers (HUGEINT too) as their digits; decimals as their digits without trailing
    fractional zeros (DECIMAL 1.50 is 1.5, 1.00 is 1); floats as their DOUBLE (FLOAT widens
    exactly), integral ones below 2**53 as their digits, others as the shortest text that
    reads back as the same DOUBLE; nested values as JSON, whose numbers are exact too. So
    1, 1.0 and DECIMAL 1.00 are the same, and 2**63 - 1 and 2**63 - 2 are not."""
    q = _q(column)
    if pa.types.is_decimal(t) and t.scale > 0:
        # A decimal's text always has the point here, so the zeros stripped are fractional.
        return f"rtrim(rtrim(CAST({q} AS VARCHAR), '0'), '.')"
    if pa.types.is_floating(t):
        # The float64 of a PostgreSQL numeric without (p,s) is the numeric itself there: only
        # narrower floats are widened, and the widening is exact.
        return _float_text(q if pa.types.is_float64(t) else f"CAST({q} AS DOUBLE)")
    if pa.types.is_nested(t):
        return f"CAST(to_json({q}) AS VARCHAR)"
    return f"CAST({q} AS VARCHAR)"


def _float_text(x: str) -> str:
    # An integral double below 2**53 is an exact integer: its digits, as an integer column
    # has (-0.0 keeps its sign: the payload writes it). Other doubles are written as the
    # shortest text that reads back the same (DuckDB; PostgreSQL with extra_float_digits >
    # 0, which the engine sets): '0.1', '1e+16', '9007199254740994.0', 'nan'; never plain
    # digits, so never an integer's text. (A PostgreSQL numeric is written as it is: exact.)
    whole = (
        f"CASE WHEN {x} = 0 AND CAST({x} AS VARCHAR) LIKE '-%' THEN '-0' "
        f"ELSE CAST(CAST({x} AS BIGINT) AS VARCHAR) END"
    )
    return (
        f"CASE WHEN abs({x}) < {_EXACT_DOUBLE_LIMIT} AND {x} = trunc({x}) THEN {whole} "
        f"ELSE CAST({x} AS VARCHAR) END"
    )


def _digest(columns: Sequence[pa.Field], form: int) -> str:
    """The row hash of form ``form`` over ``columns`` (the model's, in order)."""
    if form == FORM_EXACT:
        texts = ", ".join(_null_marked(_escaped(f)) for f in columns)
        return f"'{EXACT_PREFIX}' || md5(concat_ws(chr(31), {texts}))"
    if form not in (FORM_MD5, FORM_SHA1):
        raise ValueError(f"unknown row hash form {form}")
    sha1 = form == FORM_SHA1
    texts = ", ".join(
        _text(f.name, _is_number(f.type), sha1 and pa.types.is_nested(f.type)) for f in columns
    )
    return f"{'sha1' if sha1 else 'md5'}(concat_ws(chr(31), {texts}))"


def _escaped(f: pa.Field) -> str:
    """A column's exact text, in which no text passes for the separator chr(31) or for the
    NULL mark chr(30)||'N': chr(30) becomes chr(30)||'0' and chr(31) chr(30)||'1'. Only
    texts that may hold them need it (numbers, times and JSON never do), and the replace
    runs only on the rare text that holds one (a JSON list of the texts cost ~35% more)."""
    text = _exact_text(f.name, f.type)
    if _plain(f.type):
        return text
    return (
        f"CASE WHEN strpos({text}, chr(30)) > 0 OR strpos({text}, chr(31)) > 0 "
        f"THEN replace(replace({text}, chr(30), chr(30) || '0'), chr(31), chr(30) || '1') "
        f"ELSE {text} END"
    )


def _plain(t: pa.DataType) -> bool:
    """Whether the exact text of a ``t`` never holds a control character."""
    return bool(
        _is_number(t)
        or pa.types.is_nested(t)  # JSON escapes control characters
        or pa.types.is_boolean(t)
        or pa.types.is_temporal(t)
    )


def _null_marked(text: str) -> str:
    return f"coalesce({text}, chr(30) || 'N')"


def _is_number(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


def form_of(stored_hash_length: int) -> int | None:
    """The row hash form of a stored hash of this length; None for an unknown one."""
    return FORM_BY_LENGTH.get(stored_hash_length)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Rows:
    """The model's rows with a key and a row hash, as SQL pieces: the model, and the key and
    hash expressions over its columns (so a pass can pick rows by key before hashing them)."""

    model_sql: str
    key: str
    digest: str

    @property
    def sql(self) -> str:
        return (
            f"SELECT __m.*, {self.key} AS {ROW_KEY}, {self.digest} AS {ROW_HASH} FROM (\n"
            f"{self.model_sql}\n) AS __m"
        )


def row_parts(
    model_sql: str, schema: pa.Schema, key_columns: list[str], *, form: int = FORM_MD5
) -> Rows:
    """The model's rows (columns ``schema``) with a key and a row hash of hash form ``form``,
    computed where the rows live. Written in DuckDB's dialect and transpiled by sqlglot for
    the warehouse (forms 1 and 3: md5 is what PostgreSQL has built in)."""
    marked = {f.name: f.type for f in schema if f.metadata and NUMERIC_TEXT in f.metadata}
    if len(key_columns) == 1:
        (c,) = key_columns
        key = _numeric_key(c, marked[c]) if c in marked else f"CAST({_q(c)} AS VARCHAR)"
    else:
        parts = (
            f"coalesce({_numeric_key(c, marked[c])}, chr(30) || 'N')" if c in marked else _text(c)
            for c in key_columns
        )
        key = "concat_ws(chr(31), " + ", ".join(parts) + ")"
    return Rows(model_sql, key, _digest(list(schema), form))


def _numeric_key(column: str, t: pa.DataType) -> str:
    """The key text of a warehouse's exact number (``NUMERIC_TEXT``, engine/numeric_columns),
    the same whichever type the workbench gave the column in this run: a DOUBLE's text where
    a DOUBLE holds the value (the key such a column always had: '1.0'), else its exact
    digits. Staged as a DECIMAL once one value needed it, the other rows keep their keys."""
    q = _q(column)
    if not pa.types.is_decimal(t):
        return f"CAST({q} AS VARCHAR)"
    decimal = f"DECIMAL({t.precision}, {t.scale})"
    return (
        f"CASE WHEN TRY_CAST(CAST({q} AS DOUBLE) AS {decimal}) = {q} "
        f"THEN CAST(CAST({q} AS DOUBLE) AS VARCHAR) ELSE CAST({q} AS VARCHAR) END"
    )


def all_rows_sql(rows: str) -> str:
    """Every row, as new: a first sync, or a full refresh (the diffs are ``classify_sql``'s)."""
    return f"SELECT __k.*, '{NEW}' AS {CHANGE} FROM ({rows}) AS __k"


def classify_sql(
    rows: str,
    latest: str,
    *,
    hold: str | None = None,
    late: str | None = None,
    fence: str = "",
) -> str:
    """Every row's key, row hash and change (new / changed / held / unchanged), in one scan;
    ``hold`` (SQL over the state row ``__s``) makes a changed row held (not sent again), and
    ``late`` says whether its key was first acknowledged outside the dedup window (``__late``).

    Only the key and the hash enter the join. A join whose state side outgrows DuckDB's
    memory spills it to disk, and then has to hold back the model's side too: with all the
    model's columns in it, that runs out of memory (seen at 4M rows under 400MB); with two
    narrow columns it spills safely. ``send_keys_sql`` then picks the keys to send, and
    ``fetch_sql`` fetches only their rows. ``fence``: the engine's
    ``capabilities.subquery_fence``, so that it computes the key and the hash before the
    join rather than carrying every column through it.
    """
    narrow = f"SELECT {ROW_KEY}, {ROW_HASH} FROM ({rows}) AS __r{fence}"
    held = f"WHEN {hold} THEN '{HELD}' " if hold is not None else ""
    is_late = f"__s.row_key IS NOT NULL AND {late}" if late is not None else "FALSE"
    return (
        f"SELECT __k.{ROW_KEY}, __k.{ROW_HASH}, "
        f"CASE WHEN __s.row_key IS NULL THEN '{NEW}' WHEN __s.row_hash = __k.{ROW_HASH} "
        f"THEN '{UNCHANGED}' {held}ELSE '{CHANGED}' END AS {CHANGE}, "
        f"coalesce({is_late}, FALSE) AS {LATE} "
        f"FROM ({narrow}) AS __k LEFT JOIN {latest} AS __s ON __s.row_key = __k.{ROW_KEY}"
    )


def send_keys_sql(classified: str) -> str:
    """The keys whose rows go on: new or changed, and every key that appears more than once
    (all its rows are reported invalid, unchanged and held ones too). ``__rows`` counts them,
    ``__held`` the held ones among them."""
    return (
        f"SELECT {ROW_KEY}, any_value({CHANGE}) AS {CHANGE}, count(*) AS __rows, "
        f"count(*) FILTER (WHERE {CHANGE} = '{HELD}') AS __held "
        f"FROM {classified} WHERE {ROW_KEY} IS NOT NULL GROUP BY {ROW_KEY} "
        f"HAVING count(*) > 1 OR bool_or({CHANGE} NOT IN ('{UNCHANGED}', '{HELD}'))"
    )


def fetch_sql(rows: Rows, send_keys: str) -> str:
    """The model's rows for ``send_keys``, and every row without a key (invalid), with their
    change. The model runs again, but the join's other side is only the keys to send, and only
    the rows kept are hashed. The row hash is this scan's own, so a model that is not
    deterministic records what was really sent."""
    picked = (
        f"SELECT __m.*, {rows.key} AS {ROW_KEY}, coalesce(__w.{CHANGE}, '{NEW}') AS {CHANGE} "
        f"FROM (\n{rows.model_sql}\n) AS __m "
        f"LEFT JOIN {send_keys} AS __w ON __w.{ROW_KEY} = {rows.key} "
        f"WHERE {rows.key} IS NULL OR __w.{ROW_KEY} IS NOT NULL"
    )
    return (
        f"SELECT __f.* EXCLUDE ({CHANGE}), {rows.digest} AS {ROW_HASH}, __f.{CHANGE} "
        f"FROM ({picked}) AS __f"
    )
