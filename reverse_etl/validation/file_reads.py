"""A model's direct read of a project file (``read_csv('data/x.csv')``, ``FROM 'x.parquet'``):
its columns, learned as a file source's are (``schemas.EngineSchemas``): a ``DESCRIBE`` of the
reader as the model wrote it (its literal options kept, its relative paths made the
project's: ``file_paths.project_paths``) in validate's own restricted DuckDB, which samples
the file. Each such read becomes, in the model's tree, a table named after it (the reader's
text) whose schema is the one described, under the name DuckDB gives the relation (the
reader's name, or a file's stem), so the checks see its columns as a table's.

Described only: literal paths (a string, a list of them, a pattern) of local files models may
read (the file rule; a refused file is said by ``run._refused_read``), with literal options.
A URL, a missing file, a pattern no file matches or a read DuckDB cannot describe keeps the
``unknown-table`` error, which then says why (``FileReads.unread``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlglot import exp

from reverse_etl.columns import TableRef
from reverse_etl.engine.file_paths import GLOB_CHARS, READERS, project_paths
from reverse_etl.models.read_rule import matches
from reverse_etl.models.sources import _nearest_file, said_refused
from reverse_etl.schemas import TableSchema

Describe = Callable[[str], "list[tuple[str, str]] | None"]
"""The columns (name, type) of ``DESCRIBE <query>``, or None when DuckDB cannot say."""

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # s3://, https://, file: (not C:)
_FILE_NAME = re.compile(r".*(/|\.(csv|tsv|parquet|json|jsonl|ndjson)(\.gz)?$)", re.IGNORECASE)
# What a reader's options may be built of: literals, lists, structs and name = value.
_LITERAL_NODES = (
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Array,
    exp.Struct,
    exp.PropertyEQ,
    exp.EQ,
    exp.Identifier,
    exp.Neg,
    exp.Tuple,
    exp.Paren,
)


@dataclass
class FileReads:
    """The reads described (by the table each became) and why others were not (by the paths
    they read, as written: an issue's ``paths``)."""

    schemas: dict[TableRef, TableSchema] = field(default_factory=dict)
    unread: dict[tuple[str, ...], tuple[str, str | None]] = field(default_factory=dict)


class FileReader:
    """Describes the direct reads of models, each distinct read once."""

    def __init__(self, project_dir: Path, allows: Callable[[Path], bool], describe: Describe):
        self.project_dir = project_dir
        self.allows = allows
        self.describe = describe
        self.found = FileReads()
        self._described: dict[str, TableSchema | None] = {}

    def rewrite(self, trees: Iterable[exp.Expr]) -> FileReads:
        """Each described read in ``trees`` replaced (in place) by its table."""
        for tree in trees:
            for table in list(tree.find_all(exp.Table)):
                self._rewrite_one(table)
        return self.found

    def _rewrite_one(self, table: exp.Table) -> None:
        read = _direct_read(table)
        if read is None:
            return
        call, paths, alias = read
        reason = self._why_not(paths)
        if reason is not None:
            if reason[0]:  # (a refused file is said by run._refused_read)
                self.found.unread.setdefault(paths, reason)
            return
        if call is not None and not _literal_options(call):
            why = "only a read whose arguments are all literals is described"
            self.found.unread.setdefault(paths, (why, None))
            return
        written = call.sql("duckdb", normalize_functions="lower") if call else _quote(paths[0])
        schema = self._describe(written)
        if schema is None:
            why = "DuckDB could not read its columns (retl show on the model says why)"
            self.found.unread.setdefault(paths, (why, None))
            return
        # Named as written (a name may not start with a quote: sqlglot's schema reads it)
        name = written if call is not None else f"file {written}"
        self.found.schemas[TableRef.of(name)] = schema
        table.set("this", exp.to_identifier(name, quoted=True))
        if not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))

    def _why_not(self, paths: tuple[str, ...]) -> tuple[str, str | None] | None:
        """Why the files ``paths`` name are not described (None: they are). A file models
        may not read is left to ``run._refused_read`` (no reason here)."""
        hint = "declare the file as a source (external_location and columns with data_type)"
        for written in paths:
            if _SCHEME.match(written):
                return f"{written} is behind a URL, which validate does not read", hint
            local = Path(written).expanduser()
            path = local if local.is_absolute() else self.project_dir / local
            if said_refused(path, self.allows, self.project_dir):
                return "", None  # run._refused_read says so
            if GLOB_CHARS.search(written):  # the project's folder is no pattern
                # DuckDB's patterns match hidden files and folders too (data/*.csv reads
                # data/.secret.csv): each file it would read must be one models may read,
                # or its header would be said (validate runs on pull requests)
                found = matches(self.project_dir, local)
                if not found:
                    return f"no file matches {written}", None
                if any(said_refused(f, self.allows, self.project_dir) for f in found):
                    return "", None  # run._refused_read says so (models/read_rule.py)
            elif not path.is_file():
                return f"{written} does not exist", _nearest_file(path, written)
        return None

    def _describe(self, written: str) -> TableSchema | None:
        if written not in self._described:
            query = project_paths(f"SELECT * FROM {written}", self.project_dir)
            rows = self.describe(query)
            self._described[written] = (
                TableSchema(tuple(rows), "file") if rows is not None else None
            )
        return self._described[written]


def _direct_read(table: exp.Table) -> tuple[exp.Func | None, tuple[str, ...], str] | None:
    """A file reader's call (None for ``FROM 'x.csv'``), the paths it names, and the name
    DuckDB gives the relation when the model gives none; None when ``table`` is no direct
    read of literal paths."""
    fn = table.this
    if isinstance(fn, exp.Identifier):
        if table.db or not fn.quoted or not _FILE_NAME.fullmatch(fn.name):
            return None
        stem = fn.name.rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0]
        return None, (fn.name,), stem or fn.name
    if not isinstance(fn, exp.Func):
        return None
    name = fn.name.lower() if isinstance(fn, exp.Anonymous) else _sql_name(fn)
    if name not in READERS:
        return None
    first = fn.this if isinstance(fn.this, exp.Expr) else next(iter(fn.expressions), None)
    items = first.expressions if isinstance(first, exp.Array) else [first]
    paths = tuple(str(i.this) for i in items if isinstance(i, exp.Literal) and i.is_string)
    if not paths or len(paths) != len(items):
        return None
    return fn, paths, name


def _sql_name(fn: exp.Func) -> str:
    try:
        return fn.sql_name().lower()
    except (AttributeError, NotImplementedError):
        return ""


def _literal_options(call: exp.Func) -> bool:
    """Whether every argument is a literal (``delim = ';'``, ``columns = {'a': 'INT'}``)."""
    for arg in call.iter_expressions():
        for node in arg.walk():
            if isinstance(node, exp.Column):
                key = isinstance(node.parent, exp.EQ) and node.arg_key == "this"
                if not key or node.table:
                    return False
            elif not isinstance(node, _LITERAL_NODES):
                return False
    return True


def _quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"
