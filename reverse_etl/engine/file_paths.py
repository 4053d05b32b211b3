"""Paths of retl's own files as DuckDB's file readers must be given them.

``read_parquet`` and the other readers expand ``*``, ``?`` and ``[...]`` anywhere in a path,
so a project in a folder named ``a*b`` would also read the same file of a sibling ``aXb``
(the fold's spool, the delivery log's files, the plan's rows). Each such character is written
as a class of itself (``[*]``), which matches only it. Braces and ``]`` are not expanded.

A model's own relative paths are the project's (``project_paths``): DuckDB would look for
them in the folder retl runs in first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # sqlglot is imported when a model is read (start-up, #18)
    from sqlglot import exp

GLOB_CHARS = re.compile(r"[*?\[]")


def escape_glob(text: str) -> str:
    """``text`` with each glob character as a class of itself."""
    return GLOB_CHARS.sub(lambda m: f"[{m.group(0)}]", text)


def file_literal(path: Path | str) -> str:
    """A SQL string literal for ``path``, read as that one file."""
    return "'" + escape_glob(str(path)).replace("'", "''") + "'"


# DuckDB's table functions that read the files named by their first argument (one path, a
# pattern, or a list of them).
READERS = frozenset(
    {
        "read_csv",
        "read_csv_auto",
        "read_parquet",
        "parquet_scan",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_ndjson",
        "read_ndjson_auto",
        "read_ndjson_objects",
        "read_text",
        "read_blob",
        "read_json_objects_auto",
        "read_duckdb",
        "read_xlsx",  # the excel extension's
        "sniff_csv",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "parquet_full_metadata",
        "parquet_kv_metadata",
        "parquet_bloom_probe",
        "glob",  # the files a pattern matches (their names)
    }
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # s3://, http://, file:, (not C:)


def constant_text(node: exp.Expr) -> str | None:
    """The text of a path written as a string or strings joined (``'data/' || 'x.csv'``,
    ``concat('data/', 'x.csv')``), which is known before the model runs; None otherwise."""
    from sqlglot import exp

    if isinstance(node, exp.Literal):
        return str(node.this) if node.is_string else None
    if isinstance(node, exp.Paren):
        return constant_text(node.this)
    if isinstance(node, exp.DPipe):
        parts = [node.this, node.expression]
    elif isinstance(node, exp.Concat) or (
        isinstance(node, exp.Anonymous) and str(node.name).lower() == "concat"
    ):
        parts = list(node.expressions)
    else:
        return None
    texts = [constant_text(p) for p in parts]
    return "".join(t for t in texts if t is not None) if None not in texts and texts else None


def project_paths(sql: str, base: Path, tree: exp.Expr | None = None) -> str:
    """``sql`` (DuckDB's, ``tree`` its parsed form when the caller has it) with each relative
    path written as a string literal to a file reader (``read_csv('data/x.csv')``, a list of
    them, a pattern) or as a table (``FROM 'data/x.csv'``) made a path in ``base``: DuckDB
    reads a relative path from the folder retl runs in first. Only those literals change, in
    place: the rest of the text stays as written, its lines too. An absolute path, a URL and
    ``~/...`` stay as they are, as does SQL sqlglot cannot read (DuckDB then judges it).
    ``base``'s glob characters are escaped (``escape_glob``), the path's own are not: a
    pattern stays a pattern, of the project's files."""
    if "'" not in sql:
        return sql
    if tree is None:
        import sqlglot
        from sqlglot.errors import SqlglotError

        import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)

        try:
            tree = sqlglot.parse_one(sql, read="duckdb")
        except (SqlglotError, ValueError, RecursionError):
            return sql
    if tree is None:
        return sql
    spans = sorted(_relative_literals(sql, tree), reverse=True)
    prefix = escape_glob(str(base)).rstrip("/") + "/"
    for start, end, path in spans:  # from the end: the earlier offsets stay right
        sql = sql[:start] + "'" + (prefix + path).replace("'", "''") + "'" + sql[end + 1 :]
    return sql


def _relative_literals(sql: str, tree: exp.Expr) -> Iterator[tuple[int, int, str]]:
    """(first, last character, path) of each relative file literal in ``tree`` (``sql``'s)."""
    from sqlglot import exp

    for node in tree.walk():
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier) and not node.db:
            if "/" not in node.this.name and "." not in node.this.name:
                continue  # FROM 'orders': a table's (or a CTE's) name, as DuckDB reads it
            found: list[exp.Expr] = [node.this]  # FROM 'x.csv' (a table named "x" is not)
        elif isinstance(node, exp.Func) and _reader_name(node) in READERS:
            # sqlglot keeps the path in ``this`` (read_csv) or first in ``expressions``
            first = node.this if isinstance(node.this, exp.Expr) else None
            first = first if first is not None else next(iter(node.expressions), None)
            if first is None:
                continue
            found = list(first.expressions) if isinstance(first, exp.Array) else [first]
        else:
            continue
        for literal in found:
            meta = literal.meta if isinstance(literal, (exp.Literal, exp.Identifier)) else {}
            start, end = meta.get("start"), meta.get("end")
            if not isinstance(start, int) or not isinstance(end, int):
                continue
            if sql[start] != "'" or sql[end] != "'" or end <= start:
                continue  # a quoted name, an E'...' string: not a path as written
            path = str(literal.this)
            if _relative(path):
                yield start, end, path


def _reader_name(func: exp.Func) -> str:
    from sqlglot import exp

    if isinstance(func, exp.Anonymous):
        return str(func.name).lower()
    try:
        return func.sql_name().lower()
    except (AttributeError, NotImplementedError):
        return ""


def _relative(path: str) -> bool:
    """A local path DuckDB takes from the folder it runs in: not absolute, no URL, no ``~``,
    and no line break (which would move the model's lines)."""
    return not (
        not path
        or path.startswith(("/", "~", "\\"))
        or _SCHEME.match(path)
        or "\n" in path
        or "\r" in path
    )
