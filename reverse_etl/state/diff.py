"""The diff, set-based: one LEFT JOIN of the encoded rows with the acknowledged state.

A row is sent when its key is new or its payload hash differs from the acknowledged one.
Pure: this module only writes SQL.
"""

from __future__ import annotations

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"


def diff_sql(encoded_relation: str, synced_relation: str | None) -> str:
    """Every encoded row with a ``__change`` column: new, changed or unchanged.

    ``synced_relation`` is None for a full refresh (every row counts as new).
    """
    if synced_relation is None:
        return f"SELECT e.*, '{NEW}' AS __change FROM {encoded_relation} AS e"
    return (
        "SELECT e.*, CASE WHEN s.row_key IS NULL THEN 'new' "
        "WHEN s.payload_hash <> e.__hash THEN 'changed' ELSE 'unchanged' END AS __change "
        f"FROM {encoded_relation} AS e LEFT JOIN {synced_relation} AS s ON s.row_key = e.__key"
    )


# Columns the warehouse diff adds to the model's own.
ROW_KEY = "__row_key"
ROW_HASH = "__row_hash"
CHANGE = "__change"
WAREHOUSE_COLUMNS = (ROW_KEY, ROW_HASH, CHANGE)


def _text(column: str) -> str:
    # chr(30)||'N' marks NULL, so that NULL and the text 'NULL' hash differently.
    return f"coalesce(CAST({_q(column)} AS VARCHAR), chr(30) || 'N')"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def warehouse_rows_sql(model_sql: str, columns: list[str], key_columns: list[str]) -> str:
    """The model's rows with a key and a row hash, computed where the rows live.

    Written in DuckDB's dialect and transpiled by sqlglot for the warehouse.
    """
    if len(key_columns) == 1:
        key = f"CAST({_q(key_columns[0])} AS VARCHAR)"
    else:
        key = "concat_ws(chr(31), " + ", ".join(_text(c) for c in key_columns) + ")"
    digest = "md5(concat_ws(chr(31), " + ", ".join(_text(c) for c in columns) + "))"
    return f"SELECT __m.*, {key} AS {ROW_KEY}, {digest} AS {ROW_HASH} FROM (\n{model_sql}\n) AS __m"


def warehouse_diff_sql(rows_sql: str, latest: str | None, *, resend_all: bool = False) -> str:
    """Only the rows to send: new keys, and keys whose row hash changed (all when
    ``resend_all``, e.g. after a mapping change). ``latest`` None means a full refresh."""
    if latest is None:
        return f"SELECT __k.*, '{NEW}' AS {CHANGE} FROM ({rows_sql}) AS __k"
    keep = "TRUE" if resend_all else f"__s.row_key IS NULL OR __s.payload_hash <> __k.{ROW_HASH}"
    return (
        f"SELECT __k.*, CASE WHEN __s.row_key IS NULL THEN '{NEW}' ELSE '{CHANGED}' END "
        f"AS {CHANGE} FROM ({rows_sql}) AS __k LEFT JOIN {latest} AS __s "
        f"ON __s.row_key = __k.{ROW_KEY} WHERE {keep}"
    )


def warehouse_unchanged_sql(rows_sql: str, latest: str) -> str:
    """How many rows stay in the warehouse because nothing changed (a count leaves, no row)."""
    return (
        f"SELECT count(*) FROM ({rows_sql}) AS __k JOIN {latest} AS __s "
        f"ON __s.row_key = __k.{ROW_KEY} WHERE __s.payload_hash = __k.{ROW_HASH}"
    )
