"""The diff, set-based: one LEFT JOIN of the model's rows with the acknowledged state.

Each row gets a key and a row hash where it lives (the embedded DuckDB, or the warehouse);
a row is sent when its key is new or its row hash differs from the acknowledged one. The
payload is a function of the row and the mapping, so together with the mapping fingerprint
(a changed mapping resends everything) this sends exactly what a payload-hash diff would,
without encoding the unchanged rows at all. Written once in DuckDB's dialect; sqlglot
transpiles it for a warehouse. Pure: this module only writes SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"


# Columns the warehouse diff adds to the model's own.
ROW_KEY = "__row_key"
ROW_HASH = "__row_hash"
CHANGE = "__change"
WAREHOUSE_COLUMNS = (ROW_KEY, ROW_HASH, CHANGE)


# How a row hash is computed. A scope keeps the form of its first sync, and its stored hashes
# say which form that was (md5: 32 hex digits, sha1: 40), so a newer form never makes rows
# synced by an older retl look changed.
FORM_MD5 = 1  # md5 of every column as text (retl before form 2; always in a warehouse)
FORM_SHA1 = 2  # sha1, nested values (lists, structs, maps) as JSON: ~20% less CPU than form 1
NEWEST_FORM = FORM_SHA1
FORM_BY_LENGTH = {32: FORM_MD5, 40: FORM_SHA1}


def _text(column: str, numeric: bool = False, as_json: bool = False) -> str:
    # Numbers hash through DOUBLE (as they are sent), so a cast in the model (1 vs 1.0 vs
    # DECIMAL 1.00) is no change. chr(30)||'N' marks NULL, apart from the text 'NULL'.
    value = f"CAST({_q(column)} AS DOUBLE)" if numeric else _q(column)
    if as_json:  # DuckDB writes JSON faster than its own text of a list or struct
        return f"coalesce(CAST(to_json({value}) AS VARCHAR), chr(30) || 'N')"
    return f"coalesce(CAST({value} AS VARCHAR), chr(30) || 'N')"


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
    model_sql: str,
    columns: list[str],
    key_columns: list[str],
    numeric: frozenset[str] = frozenset(),
    *,
    nested: frozenset[str] = frozenset(),
    form: int = FORM_MD5,
) -> Rows:
    """The model's rows with a key and a row hash of hash form ``form``, computed where the
    rows live. Written in DuckDB's dialect and transpiled by sqlglot for the warehouse (form 1
    only: md5 is what PostgreSQL has built in)."""
    if len(key_columns) == 1:
        key = f"CAST({_q(key_columns[0])} AS VARCHAR)"
    else:
        key = "concat_ws(chr(31), " + ", ".join(_text(c) for c in key_columns) + ")"
    if form not in (FORM_MD5, FORM_SHA1):
        raise ValueError(f"unknown row hash form {form}")
    sha1 = form == FORM_SHA1
    texts = ", ".join(_text(c, c in numeric, sha1 and c in nested) for c in columns)
    digest = f"{'sha1' if sha1 else 'md5'}(concat_ws(chr(31), {texts}))"
    return Rows(model_sql, key, digest)


def diff_sql(rows: str, latest: str | None) -> str:
    """Only the rows to send: new keys, and keys whose row hash changed; ``latest`` None means
    a full refresh. Rows whose key appears more than once come along too, so that they are
    reported invalid."""
    dups = (
        f"__k.{ROW_KEY} IN (SELECT {ROW_KEY} FROM ({rows}) AS __d "
        f"WHERE {ROW_KEY} IS NOT NULL GROUP BY {ROW_KEY} HAVING count(*) > 1)"
    )
    if latest is None:
        return f"SELECT __k.*, '{NEW}' AS {CHANGE} FROM ({rows}) AS __k"
    keep = f"__s.row_key IS NULL OR __s.row_hash <> __k.{ROW_HASH} OR {dups}"
    return (
        f"SELECT __k.*, CASE WHEN __s.row_key IS NULL THEN '{NEW}' ELSE '{CHANGED}' END "
        f"AS {CHANGE} FROM ({rows}) AS __k LEFT JOIN {latest} AS __s "
        f"ON __s.row_key = __k.{ROW_KEY} WHERE {keep}"
    )


def unchanged_sql(rows_sql: str, latest: str) -> str:
    """How many rows stay in the warehouse because nothing changed (a count leaves, no row)."""
    return (
        f"SELECT count(*) FROM ({rows_sql}) AS __k JOIN {latest} AS __s "
        f"ON __s.row_key = __k.{ROW_KEY} WHERE __s.row_hash = __k.{ROW_HASH}"
    )


def classify_sql(rows: str, latest: str) -> str:
    """Every row's key, row hash and change (new / changed / unchanged), in one scan.

    Only the key and the hash enter the join. A join whose state side outgrows DuckDB's
    memory spills it to disk, and then has to hold back the model's side too: with all the
    model's columns in it, that runs out of memory (seen at 4M rows under 400MB); with two
    narrow columns it spills safely. ``send_keys_sql`` then picks the keys to send, and
    ``fetch_sql`` fetches only their rows.
    """
    narrow = f"SELECT {ROW_KEY}, {ROW_HASH} FROM ({rows}) AS __r"
    return (
        f"SELECT __k.{ROW_KEY}, __k.{ROW_HASH}, "
        f"CASE WHEN __s.row_key IS NULL THEN '{NEW}' WHEN __s.row_hash = __k.{ROW_HASH} "
        f"THEN '{UNCHANGED}' ELSE '{CHANGED}' END AS {CHANGE} "
        f"FROM ({narrow}) AS __k LEFT JOIN {latest} AS __s ON __s.row_key = __k.{ROW_KEY}"
    )


def send_keys_sql(classified: str) -> str:
    """The keys whose rows go on: new or changed, and every key that appears more than once
    (all its rows are reported invalid, unchanged ones too). ``__rows`` counts them."""
    return (
        f"SELECT {ROW_KEY}, any_value({CHANGE}) AS {CHANGE}, count(*) AS __rows "
        f"FROM {classified} WHERE {ROW_KEY} IS NOT NULL GROUP BY {ROW_KEY} "
        f"HAVING count(*) > 1 OR bool_or({CHANGE} <> '{UNCHANGED}')"
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
