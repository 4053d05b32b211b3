"""An unchanged re-sync that does not run the model: its inputs and the state are known to be
what they were at a diff that found nothing to send.

A scheduled sync most often finds nothing new: the diff then hashes every row of the model
only to learn that (issue #18: most of an unchanged re-sync's time). When that diff is clean
(every row unchanged: no new, changed, held, duplicated or keyless row), what it was computed
from is recorded beside the local state file (``<state file>.unchanged.json``):

- ``inputs``: a digest of the SQL that keys and hashes the model's rows (the model as compiled,
  with its vars and env vars, the key and the row hash form), retl's and DuckDB's versions, and
  the size, times, inode and device of every file the model reads;
- ``state``: a digest of the scope's acknowledged (key, row hash) pairs, computed from the state
  itself, so a reset, another run or a journal not yet folded all change it.

The next diff of that destination and scope is skipped when both are equal again: the model
would give the same rows, each with the hash the state holds. The diff is never skipped, and
nothing is recorded, when that cannot be known from the SQL:

- the model runs in another warehouse (PostgreSQL, Spark), or the state lives there;
- it reads a table (a view, a catalog table, a file named as a table) rather than a file
  through ``read_csv``/``read_parquet``/``read_json``, or a path that is relative, remote, or a
  glob matching nothing;
- it calls a function whose result changes between runs (``now()``, ``current_date``,
  ``random()``, ``uuid()``, ``nextval()``, ...);
- sqlglot cannot read it;
- a file it reads changed in the last two seconds (its times could not tell a second change
  apart: git's "racily clean" rule).

The record is a cache: deleting it costs one full diff, and a record that does not match is
ignored. It holds digests and a row count, never a key, a value or a path.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from reverse_etl.__about__ import __version__

RECORD_SUFFIX = ".unchanged.json"
SETTLE_NS = 2_000_000_000  # a file changed more recently than this is not trusted yet
_FORMAT = 1

# DuckDB table functions that read files named by their first argument.
FILE_READERS = frozenset(
    {
        "read_csv",
        "read_csv_auto",
        "read_parquet",
        "parquet_scan",
        "read_json",
        "read_json_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_json_objects",
        "read_ndjson_objects",
    }
)
# Table functions that read nothing and give the same rows for the same arguments.
PURE_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
# Functions whose result may change from one run to the next (sqlglot class keys and SQL
# names, lower case); any name starting with "current" is taken as such too.
VOLATILE = frozenset(
    {
        "now",
        "today",
        "localtime",
        "localtimestamp",
        "get_current_time",
        "get_current_timestamp",
        "transaction_timestamp",
        "statement_timestamp",
        "clock_timestamp",
        "timeofday",
        "rand",
        "random",
        "randn",
        "uuid",
        "gen_random_uuid",
        "uuidv4",
        "uuidv7",
        "nextval",
        "currval",
        "setseed",
        "getenv",
        "getvariable",
        "txid_current",
        "version",
        "glob",
        "read_text",
        "read_blob",
        "query",
        "query_table",
    }
)


@dataclass(frozen=True)
class CleanDiff:
    """One destination scope's diff inputs, as digests, and where its clean diff is kept."""

    record: Path
    key: str  # destination and scope, digested (a scope may name an ID)
    inputs: str
    state: str

    def known_rows(self) -> int | None:
        """The rows of the recorded clean diff, when it was computed from these same inputs
        and state (None: the diff must run)."""
        entry = _read(self.record).get(self.key)
        if (
            isinstance(entry, dict)
            and entry.get("inputs") == self.inputs
            and entry.get("state") == self.state
            and isinstance(entry.get("rows"), int)
        ):
            rows: int = entry["rows"]
            return rows
        return None

    def remember(self, rows: int) -> None:
        """Record a clean diff of ``rows`` rows. Not being able to write it costs the next
        run a full diff, nothing more."""
        entries = _read(self.record)
        entries[self.key] = {"inputs": self.inputs, "state": self.state, "rows": rows}
        temp = self.record.with_name(f".{self.record.name}.{os.getpid()}.tmp")
        try:
            temp.write_bytes(orjson.dumps({"format": _FORMAT, "scopes": entries}))
            os.replace(temp, self.record)
        except OSError:
            temp.unlink(missing_ok=True)


def scope_key(destination: str, scope: str) -> str:
    return hashlib.sha256(f"{destination}\x1f{scope}".encode()).hexdigest()[:32]


def record_path(state_file: Path) -> Path:
    return state_file.with_name(state_file.name + RECORD_SUFFIX)


def inputs_print(
    model_sql: str, rows_sql: str, engine_version: str, *, now_ns: int | None = None
) -> str | None:
    """A digest of what decides the model's keyed and hashed rows (``rows_sql``, over
    ``model_sql``, run by DuckDB ``engine_version``), or None when the SQL alone cannot tell
    (see the module's docstring)."""
    files = read_files(model_sql)
    if files is None:
        return None
    stats = file_stats(files, time.time_ns() if now_ns is None else now_ns)
    if stats is None:
        return None
    text = orjson.dumps([_FORMAT, __version__, engine_version, rows_sql, stats])
    return hashlib.sha256(text).hexdigest()


def read_files(model_sql: str) -> list[str] | None:
    """The file paths (or glob patterns) ``model_sql`` reads, or None when it reads anything
    else, or calls a function whose result changes between runs."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(model_sql, read="duckdb")
    except (SqlglotError, ValueError, RecursionError):
        return None
    if tree is None:
        return None
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for func in tree.find_all(exp.Func):
        if any(n in VOLATILE or n.startswith("current") for n in _names(func)):
            return None
    files: list[str] = []
    for table in tree.find_all(exp.Table):
        source = table.this
        if isinstance(source, exp.Identifier):
            if table.db or table.catalog or source.name.lower() not in ctes:
                return None  # a catalog table or view, or a file named as a table
            continue
        if not isinstance(source, exp.Func):
            return None
        names = _names(source)
        if names & PURE_TABLE_FUNCTIONS:
            continue
        if not names & FILE_READERS:
            return None
        paths = _literal_paths(source)
        if paths is None:
            return None
        files.extend(paths)
    return files


def _names(func: Any) -> set[str]:
    from sqlglot import exp

    if isinstance(func, exp.Anonymous):
        return {str(func.name).lower()}
    names = {str(func.key).lower()}
    with contextlib.suppress(AttributeError, NotImplementedError):
        names.add(func.sql_name().lower())
    return names


def _literal_paths(func: Any) -> list[str] | None:
    """The file argument of a reader: one string, or a list of strings."""
    from sqlglot import exp

    first = func.this if func.this is not None and not isinstance(func.this, str) else None
    if first is None:
        first = func.expressions[0] if func.expressions else None
    values = first.expressions if isinstance(first, exp.Array) else [first]
    paths = []
    for value in values:
        if not (isinstance(value, exp.Literal) and value.is_string):
            return None
        paths.append(str(value.this))
    return paths or None


def file_stats(paths: list[str], now_ns: int) -> list[list[Any]] | None:
    """Each file's path, size, modification and change times, inode and device; a glob gives
    its matches. None when a path is relative or remote, a glob matches nothing, a file is
    missing, or one changed less than ``SETTLE_NS`` before ``now_ns``."""
    out: list[list[Any]] = []
    for path in paths:
        if "://" in path or not os.path.isabs(path):
            return None
        if glob.has_magic(path):
            if sys.version_info < (3, 11):  # without include_hidden, a glob may miss files
                return None
            matches = sorted(glob.glob(path, recursive=True, include_hidden=True))
            if not matches:
                return None
        else:
            matches = [path]
        for match in matches:
            try:
                st = os.stat(match)
            except OSError:
                return None
            if now_ns - max(st.st_mtime_ns, st.st_ctime_ns) < SETTLE_NS:
                return None
            out.append([match, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev])
    return out


def state_print_sql(latest: str) -> str:
    """SQL (DuckDB) of a digest of a scope's acknowledged (key, row hash) pairs."""
    return (
        "SELECT md5(count(*)::VARCHAR || ':' || coalesce(bit_xor(hash(row_key, row_hash)), 0)"
        "::VARCHAR || ':' || coalesce(sum(hash(row_hash, row_key)::HUGEINT), 0)::VARCHAR) "
        f"FROM {latest} AS __acked"
    )


def _read(record: Path) -> dict[str, Any]:
    try:
        data = orjson.loads(record.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return {}
    scopes = data.get("scopes")
    return dict(scopes) if isinstance(scopes, dict) else {}
