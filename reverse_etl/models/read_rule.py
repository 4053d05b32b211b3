"""The files a model's SQL may read, checked before it runs (docs/configuration.md, "SQL reads
files in the project's own folders only"): one rule for ``validate`` and for every command
that runs a model (``plan``, ``sync``, ``show``, ``show --payload``, ``retl ui``'s pages,
all through ``models/dialects.query_for``), and for a source's ``external_location`` that is
a reader call (``SourceCatalog.file_problem``).

DuckDB's own rule (``allowed_directories``) allows whole folders, hidden files in them too,
and its patterns match hidden files (``data/*`` reads ``data/.env``). So a read is refused
when it names a file models may not read (``said_refused``), when its pattern matches one,
or when its path is built when the model runs (``'data/' || name``): no check sees it first.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from reverse_etl.engine.file_paths import GLOB_CHARS, READERS, constant_text
from reverse_etl.engine.file_rule import ALLOWED_PATHS_ENV
from reverse_etl.models.sources import local_location, refused_file, said_refused

if TYPE_CHECKING:
    from sqlglot import exp

Allows = Callable[[Path], bool]

# Table functions of DuckDB (and its extensions) that read the files their first argument
# names: READERS, and any read_*, *_scan or st_read.
_OTHER_READERS = re.compile(r"read_\w+|\w+_scan|st_read", re.IGNORECASE)
_READ_CALL = re.compile(
    r"\b(?:read_\w+|\w+_scan|st_read|glob|sniff_csv|parquet_\w+|histogram_values"
    r"|(?<=from)\s+histogram|(?<=join)\s+histogram)\s*\(",
    re.I,
)
# DuckDB's table macros whose body reads ``query_table(source)``: the table or file their
# first argument names (``FROM histogram('data/.hidden.csv', a)`` returned its values).
_TABLE_MACROS = frozenset({"histogram", "histogram_values"})
_RULE = (
    "models read files in the project's folders only, not outside it nor under a hidden "
    "folder such as .git"
)


def is_reader(name: str) -> bool:
    """Whether the table function ``name`` reads the files its first argument names."""
    return name.lower() in READERS or _OTHER_READERS.fullmatch(name) is not None


def path_refusal(written: str, project_dir: Path, allows: Allows) -> tuple[str, str] | None:
    """What to say of a path a model (or a source) reads, as written, and the fix, when it
    names a file models may not read or is a pattern that matches one (DuckDB's patterns
    match hidden files too); None when it may be read (or is a URL, or a file of the
    project's folders that is not there: the run says so)."""
    try:
        local = local_location(written)
    except LookupError:
        return None  # a file:// URL of another host: said where a source names it
    if local is None:
        return None  # a URL: the warehouse's storage or the network, not a local file
    path = Path(local).expanduser()
    path = path if path.is_absolute() else project_dir / path
    if said_refused(path, allows, project_dir):
        return refused_file(path, written)
    if GLOB_CHARS.search(local) and any(
        said_refused(f, allows, project_dir) for f in matches(project_dir, Path(local))
    ):
        return (
            f"retl may not read {written}: the pattern matches a file models may not read "
            f"(a hidden one, or one outside the project), as DuckDB's patterns match hidden "
            f"files too; {_RULE}",
            "list the files to read (['data/a.csv', 'data/b.csv']), or move the hidden file "
            f"out of the folder the pattern reads (or have whoever runs retl list its folder "
            f"in the environment variable {ALLOWED_PATHS_ENV})",
        )
    return None


def built_refusal(read: str) -> tuple[str, str]:
    """What to say of ``read`` (a reader call, as written), whose path is built when the
    model runs, and the fix."""
    return (
        f"retl may not read the files of {read}: its path is built when the model runs, which "
        "no check sees before it reads (it could name a hidden file such as data/.env, or one "
        f"outside the project); {_RULE}",
        "write the path as a string ('data/x.csv'), a list of them or a pattern (data/*.csv)",
    )


def matches(project_dir: Path, pattern: Path) -> list[Path]:
    """What ``pattern`` (a path with glob characters, relative to ``project_dir`` unless
    absolute) matches, hidden files and folders included, as DuckDB's glob matches them
    (``**``: any number of folders, links to folders not followed)."""
    parts = pattern.parts
    first = next((i for i, part in enumerate(parts) if GLOB_CHARS.search(part)), None)
    if first is None:
        return [project_dir / pattern]
    out: list[Path] = []

    def walk(folder: Path, rest: tuple[str, ...]) -> None:
        if not rest:
            out.append(folder)
            return
        head, tail = rest[0], rest[1:]
        if not GLOB_CHARS.search(head):
            if os.path.lexists(folder / head):
                walk(folder / head, tail)
            return
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            return
        if head == "**":
            walk(folder, tail)
            for name in names:
                child = folder / name
                if child.is_dir() and not child.is_symlink():
                    walk(child, rest)
            return
        for name in names:
            if fnmatch.fnmatchcase(name, head):
                walk(folder / name, tail)

    walk(project_dir.joinpath(*parts[:first]), parts[first:])
    return out


def reads(tree: exp.Expr) -> Iterator[tuple[exp.Expr, str, tuple[str, ...] | None]]:
    """Each file read in ``tree`` (DuckDB's SQL): the node, the read as written (for a
    message), and the paths it names (None when one is built when the model runs)."""
    from sqlglot import exp

    for node in tree.walk():
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            name = node.this
            if not node.db and name.quoted and ("/" in name.name or "." in name.name):
                yield node, name.name, (name.name,)  # FROM 'data/x.csv'
            elif node.db and (
                "/" in (joined := ".".join(p.name for p in node.parts)) or joined.startswith(".")
            ):
                # DuckDB reads a qualified name no database holds as the file its parts
                # name joined by dots: FROM "data/"."env.csv" read data/.env.csv, and
                # FROM ".env"."csv" the project's own .env.csv
                yield node, joined, (joined,)
            continue
        if not isinstance(node, exp.Func):
            continue
        macro = isinstance(node.parent, exp.Table) and _name(node).lower() in _TABLE_MACROS
        if not macro and not is_reader(_name(node)):
            continue
        first = node.this if isinstance(node.this, exp.Expr) else None
        first = first if first is not None else next(iter(node.expressions), None)
        if first is None:
            continue
        if macro and isinstance(first, exp.Column):  # a name: main.orders, "data/x.csv"
            first = exp.Literal.string(".".join(p.name for p in first.parts))
        items = list(first.expressions) if isinstance(first, exp.Array) else [first]
        paths = [t for i in items if (t := constant_text(i)) is not None]
        read = node.sql("duckdb", normalize_functions="lower")
        yield node, read[:80], tuple(paths) if len(paths) == len(items) and paths else None


def refused_read(
    sql: str,
    project_dir: Path,
    allows: Allows,
    tree: exp.Expr | None = None,
    parses: Callable[[str], bool] | None = None,
    *,
    macros_only: bool = False,
) -> tuple[int | None, str, str, str] | None:
    """The first read in ``sql`` (DuckDB's; ``tree`` its parsed form when the caller has it)
    models may not do: the line of ``sql`` it is on, what it reads as written (the subject
    to locate), what to say and the fix; None when every read is one models may do. SQL
    sqlglot cannot read is refused when it calls a reader (its paths cannot be checked),
    unless ``parses`` (the engine's own parser) cannot read it either: it then runs nothing,
    and the engine's syntax error, at the model's line, is what to say.

    ``macros_only``: the reads of table macros (histogram()) only, which validate checks
    apart from its readers' (and SQL sqlglot cannot read is left to its parse error)."""
    if tree is None:
        import sqlglot
        from sqlglot.errors import SqlglotError

        import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)

        try:
            tree = sqlglot.parse_one(sql, read="duckdb")
        except (SqlglotError, ValueError, RecursionError):
            found = None if macros_only else _READ_CALL.search(sql)
            if found is None or (parses is not None and not parses(sql)):
                return None
            line = sql.count("\n", 0, found.start()) + 1
            return (line, found.group(0), *built_refusal(found.group(0).rstrip("( \t\n") + "()"))
        if tree is None:
            return None
    from sqlglot import exp

    from reverse_etl.columns.trace import line_of

    for node, read, paths in reads(tree):
        if macros_only and not (
            isinstance(node, exp.Func) and _name(node).lower() in _TABLE_MACROS
        ):
            continue
        if paths is None:
            return (line_of(node), read.split("(", 1)[0], *built_refusal(read))
        for written in paths:
            refused = path_refusal(written, project_dir, allows)
            if refused is not None:
                return (line_of(node), written, *refused)
    return None


def _name(func: exp.Func) -> str:
    from sqlglot import exp

    if isinstance(func, exp.Anonymous):
        return str(func.name)
    try:
        return str(func.sql_name())
    except (AttributeError, NotImplementedError):
        return ""
