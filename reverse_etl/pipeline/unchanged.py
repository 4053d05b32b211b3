"""An unchanged re-sync that does not run the model: its inputs and the state are known to be
what they were at a diff that found nothing to send.

A scheduled sync most often finds nothing new: the diff then hashes every row of the model
only to learn that (issue #18: most of an unchanged re-sync's time). When that diff is clean
(every row unchanged: no new, changed, held, duplicated or keyless row), what it was computed
from is recorded beside the local state file (``<state file>.unchanged.json``):

- ``inputs``: a digest of the SQL that keys and hashes the model's rows (the model as compiled,
  with its vars and env vars, the key and the row hash form), retl's and DuckDB's versions, and
  the list of files the model reads;
- ``files``: each file's size, times, inode and device, and a BLAKE2b digest of its bytes read
  before the diff read them. A file is the same when its stat is; when not (a fresh checkout
  writes every file again), when its bytes are, and its new stat is recorded;
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
- a file it reads changed in the last two seconds, at the diff that would be recorded (its
  times could not tell a second change apart: git's "racily clean" rule); at a later check
  such a file is compared by its bytes.

The record is a cache: deleting it costs one full diff, and a record that does not match is
ignored. It holds digests, stats and a row count, never a key, a value or a path.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from reverse_etl import project_files
from reverse_etl.__about__ import __version__
from reverse_etl.engine.file_paths import READERS

RECORD_SUFFIX = ".unchanged.json"
SETTLE_NS = 2_000_000_000  # a file changed more recently than this is not trusted yet
_FORMAT = 2

# DuckDB's table functions that read files named by their first argument (a file's rows,
# text, metadata or name), as the project's paths are made (engine/file_paths.py).
FILE_READERS = READERS
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


@dataclass
class CleanDiff:
    """One destination scope's diff inputs, as digests, and where its clean diff is kept.

    ``files`` are the files the model reads (globs expanded, in order), ``stats`` each one's
    size, times, inode and device when the diff was asked for (None: changed too recently
    to be told apart by them). A file is the same as recorded when its stat is, or else when
    its content digest is: a fresh checkout (CI) rewrites every file with the same bytes."""

    record: Path
    key: str  # destination and scope, digested (a scope may name an ID)
    inputs: str  # the SQL, the versions and the list of files
    state: str
    files: list[str]
    stats: list[list[int] | None]
    _digests: dict[int, str] = field(default_factory=dict)

    def known_rows(self, *, refresh: bool = False) -> int | None:
        """The rows of the recorded clean diff, when it was computed from these same inputs,
        files and state (None: the diff must run). With ``refresh``, files known by their
        content get their new stats recorded."""
        entry = _read(self.record).get(self.key)
        if not (
            isinstance(entry, dict)
            and entry.get("inputs") == self.inputs
            and entry.get("state") == self.state
            and isinstance(entry.get("rows"), int)
            and isinstance(entry.get("files"), list)
            and len(entry["files"]) == len(self.files)
        ):
            return None
        by_content = False
        for i, recorded in enumerate(entry["files"]):
            if not (isinstance(recorded, list) and len(recorded) == 2):
                return None
            stat, digest = recorded
            if self.stats[i] is not None and stat == self.stats[i]:
                continue
            if self.digest(i) != digest:
                return None
            by_content = True
        rows: int = entry["rows"]
        now = time.time_ns()
        if (
            refresh
            and by_content
            and None not in self.stats
            and [stat_of(f, now) for f in self.files] == self.stats
        ):
            # The same bytes under new times (a checkout): their stats vouch for them next.
            entry["files"] = [[self.stats[i], f[1]] for i, f in enumerate(entry["files"])]
            self._write(entries_with(self.record, self.key, entry))
        return rows

    def digest(self, i: int) -> str | None:
        """The content digest of file ``i`` (read once; None when it cannot be read)."""
        if i not in self._digests:
            found = content_digest(self.files[i])
            if found is None:
                return None
            self._digests[i] = found
        return self._digests[i]

    def take_digests(self) -> bool:
        """Read every file's content digest, before the diff reads the files: what a clean
        diff is recorded with. False when a file cannot be read."""
        return all(self.digest(i) is not None for i in range(len(self.files)))

    def remember(self, rows: int, now_ns: int | None = None, *, state: str | None = None) -> None:
        """Record a clean diff of ``rows`` rows, if no file changed since ``take_digests``
        (its stat then and now). ``state``: the state's digest now, when it is not the one
        the diff read (after a send that acknowledged every row it found). Not being able to
        write it costs the next run a full diff, nothing more."""
        now = time.time_ns() if now_ns is None else now_ns
        if len(self._digests) != len(self.files) or None in self.stats:
            return  # a file changed too recently for its stat to vouch for its bytes
        if [stat_of(f, now) for f in self.files] != self.stats:
            return
        entry = {
            "inputs": self.inputs,
            "state": self.state if state is None else state,
            "rows": rows,
            "files": [[self.stats[i], self._digests[i]] for i in range(len(self.files))],
        }
        self._write(entries_with(self.record, self.key, entry))

    def _write(self, entries: dict[str, Any]) -> None:
        # A temporary file of its own, renamed over the record: a pull request's symbolic
        # link there (to ~/.bashrc) is replaced, never written through.
        with contextlib.suppress(OSError):
            project_files.write_atomic(
                self.record, orjson.dumps({"format": _FORMAT, "scopes": entries})
            )


def clean_diff(
    record: Path,
    key: str,
    *,
    model_sql: str,
    rows_sql: str,
    engine_version: str,
    state: Callable[[], str],
    now_ns: int | None = None,
    base: Path | None = None,
) -> CleanDiff | None:
    """What the diff of ``rows_sql`` (over ``model_sql``, run by DuckDB ``engine_version``)
    is computed from, ``state`` (read only when needed) the scope's acknowledged rows; None
    when the SQL alone cannot tell (see the module's docstring). ``base``: the folder a
    relative path is read from (the project's, where the workbench reads a model's relative
    literals: engine/file_paths.project_paths); None: a relative path cannot be known."""
    paths = read_files(model_sql)
    if paths is None:
        return None
    files = expand(paths, base)
    if files is None:
        return None
    now = time.time_ns() if now_ns is None else now_ns
    text = orjson.dumps([_FORMAT, __version__, engine_version, rows_sql, files])
    inputs = hashlib.sha256(text).hexdigest()
    return CleanDiff(record, key, inputs, state(), files, [stat_of(f, now) for f in files])


def entries_with(record: Path, key: str, entry: dict[str, Any]) -> dict[str, Any]:
    entries = _read(record)
    entries[key] = entry
    return entries


def scope_key(destination: str, scope: str) -> str:
    return hashlib.sha256(f"{destination}\x1f{scope}".encode()).hexdigest()[:32]


def record_path(state_file: Path) -> Path:
    return state_file.with_name(state_file.name + RECORD_SUFFIX)


def read_files(model_sql: str) -> list[str] | None:
    """The file paths (or glob patterns) ``model_sql`` reads, or None when it reads anything
    else, or calls a function whose result changes between runs."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)

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


def expand(paths: list[str], base: Path | None = None) -> list[str] | None:
    """The files ``paths`` name, a glob by its matches (sorted); a relative path is ``base``'s
    (None: not known). None when a path is remote or not known, a glob matches nothing, or a
    file is missing."""
    out: list[str] = []
    for written in paths:
        if "://" in written or written.startswith("~"):
            return None
        pattern = glob.has_magic(written)
        path = written
        if not os.path.isabs(written):
            if base is None:
                return None
            root = str(base.resolve())  # its own [ * ? are no pattern (file_paths.escape_glob)
            path = os.path.join(glob.escape(root) if pattern else root, written)
        if pattern:
            if sys.version_info < (3, 11):  # without include_hidden, a glob may miss files
                return None
            matches = sorted(glob.glob(path, recursive=True, include_hidden=True))
            if not matches:
                return None
        else:
            matches = [path]
        if not all(os.path.isfile(m) for m in matches):
            return None
        out.extend(matches)
    return out


def stat_of(path: str, now_ns: int) -> list[int] | None:
    """A file's size, modification and change times, inode and device; None when it changed
    less than ``SETTLE_NS`` before ``now_ns`` (or is gone): a second change within the same
    clock tick would leave them equal."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if now_ns - max(st.st_mtime_ns, st.st_ctime_ns) < SETTLE_NS:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def content_digest(path: str) -> str | None:
    """BLAKE2b of a file's bytes, read in 1 MiB pieces; None when it cannot be read."""
    h = hashlib.blake2b(digest_size=32)
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def state_print_sql(latest: str) -> str:
    """SQL (DuckDB) of a digest of a scope's acknowledged (key, row hash) pairs."""
    return (
        "SELECT md5(count(*)::VARCHAR || ':' || coalesce(bit_xor(hash(row_key, row_hash)), 0)"
        "::VARCHAR || ':' || coalesce(sum(hash(row_hash, row_key)::HUGEINT), 0)::VARCHAR) "
        f"FROM {latest} AS __acked"
    )


def _read(record: Path) -> dict[str, Any]:
    try:
        # A regular file only (a pull request's pipe or link to /dev/zero there would block
        # or never end): anything else is no record, and the diff runs.
        data = orjson.loads(project_files.read_bytes(record))
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return {}
    scopes = data.get("scopes")
    return dict(scopes) if isinstance(scopes, dict) else {}
