"""source('src', 'table') -> SQL relation, from the sources declared in retl_project.yml and in
dbt's properties files under models/ (config/model_sources.py).

A table with ``external_location`` (dbt-duckdb's convention, in ``meta`` or ``config``) is read
from a file with DuckDB's readers; any other table is a schema-qualified name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from reverse_etl.config.model_sources import SourceOrigin, origin_line, shown_path
from reverse_etl.config.project import PROJECT_FILE, SourceDecl, TableDecl
from reverse_etl.config.suggest import closest, did_you_mean
from reverse_etl.config.yaml_loader import KeyPath, format_key_path
from reverse_etl.engine.file_rule import ALLOWED_PATHS_ENV, unhidden_under
from reverse_etl.errors import Problem
from reverse_etl.models.compile import quote_ident


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def external_location(source: SourceDecl, table: TableDecl) -> str | None:
    try:
        found = _location(source, table)
    except LocationError:  # said where source() reads it (SourceCatalog.relation)
        return None
    return found[0] if found is not None else None


def _location(source: SourceDecl, table: TableDecl) -> tuple[str, KeyPath] | None:
    """The table's ``external_location`` and where it is written: the key path below the
    source's entry in ``sources:``."""
    index = next(i for i, t in enumerate(source.tables) if t is table)
    holders: tuple[tuple[dict[str, Any], KeyPath], ...] = (
        (table.config, ("tables", index, "config")),
        (table.meta, ("tables", index, "meta")),
        (source.config, ("config",)),
        (source.meta, ("meta",)),
    )
    for holder, path in holders:
        loc = holder.get("external_location")
        if loc:
            names = {"name": table.name, "identifier": table.identifier or table.name}
            key = (*path, "external_location")
            try:
                return _filled(str(loc), names), key
            except ValueError as exc:
                raise LocationError(
                    str(exc),
                    # not "{{ for a brace": the project's YAML reads {{ as a template
                    "write {name} or {identifier}, and no other brace (a reader's option in "
                    "braces, columns = {...}: give the file's path and declare the columns' "
                    "data_type instead)",
                    key,
                ) from None
    return None


class LocationError(LookupError):
    """A table's ``external_location`` that cannot be read: ``args`` are the message and
    its hint, ``key`` where it is written below the source's entry."""

    def __init__(self, message: str, hint: str, key: KeyPath) -> None:
        super().__init__(message, hint)
        self.key = key


def _filled(location: str, names: dict[str, str]) -> str:
    """``location`` with each ``{name}`` and ``{identifier}`` filled in (``{{`` is a brace),
    as dbt-duckdb's ``str.format`` fills them; a ValueError for any other field. Only the
    plain fields: ``str.format`` also pads to any width (``{name:>1000000000}`` built 7 GB in
    a pull request's retl_project.yml) and reads attributes (``{name.__class__}``)."""
    from string import Formatter

    parts: list[str] = []
    for literal, field, spec, conversion in Formatter().parse(location):
        parts.append(literal)
        if field is None:
            continue
        if field not in names or spec or conversion:
            raise ValueError(
                f"external_location may name {{name}} or {{identifier}} in braces, not "
                f"{{{field[:40]}{'!' + conversion if conversion else ''}"
                f"{':' + spec[:20] if spec else ''}}}"
            )
        parts.append(names[field])
    return "".join(parts)


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")  # s3://, https://, file: (not C:)


def local_location(location: str) -> str | None:
    """The local path ``location`` names: itself, or a ``file:`` URL's path (``file:///x``,
    ``file://localhost/x``, ``file:x``), which follows the rule of a path; None for any other
    URL (``s3://``, ``https://``: the warehouse's storage or the network, read as written).
    A LookupError for a ``file://`` URL of another host."""
    scheme = _SCHEME.match(location)
    if scheme is None:
        return location
    if scheme.group(1).lower() != "file":
        return None
    local = location[scheme.end() :]
    if local.startswith("//"):
        host, slash, rest = local[2:].partition("/")
        if host.lower() not in ("", "localhost") or not slash:
            raise LookupError(
                f"external_location {location} names a file of another machine",
                "write the file's path in the project (data/x.csv), or file:///<absolute path>",
            )
        local = "/" + rest
    return local


def local_file(location: str, project_dir: Path) -> Path | None:
    """The file ``location`` names when it is one local file (not a URL, a glob or a reader
    expression such as ``read_csv('x.csv', delim=';')``); a ``file:`` URL is its path."""
    if "(" in location:
        return None
    try:
        local = local_location(location)
    except LookupError:
        return None  # said where source() reads it
    if local is None or any(ch in local for ch in "*?["):
        return None
    path = Path(local).expanduser()
    return path if path.is_absolute() else project_dir / path


def _reader(location: str, table: TableDecl, project_dir: Path) -> str:
    if "(" in location:  # already an expression, e.g. read_csv('x.csv', delim=';')
        return reader_call(location)
    local = local_location(location)
    if local is None:  # a URL, as written (the engine reads it, or refuses it by name)
        lower = location.split("?", 1)[0].lower()
        text = sql_string(location)
    else:  # a path, or a file: URL's: the project's when relative, as a path is
        path = Path(local)
        if not path.is_absolute():
            path = project_dir / path
        lower = path.name.lower()
        text = sql_string(str(path))
    typed = {c.name: c.data_type for c in table.columns if c.data_type}
    if lower.endswith((".parquet", ".pq")):
        return f"read_parquet({text})"
    if lower.endswith((".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz")):
        return f"read_json_auto({text})"
    if typed:
        types = ", ".join(f"{sql_string(k)}: {sql_string(v)}" for k, v in typed.items())
        return f"read_csv({text}, header = true, types = {{{types}}})"
    return f"read_csv({text}, header = true)"


def reader_call(location: str) -> str:
    """``location`` when it is one call of a table function (``read_csv('x.csv', delim=';')``)
    and nothing else: it goes into the model's SQL as written, where the check of the model
    (which reads the source as a table's name) never sees it. ``x.csv'); COPY (...) TO
    'models/m.sql'; SELECT * FROM read_csv('x.csv'`` ran three statements, writing into the
    project; a comment would swallow the model's own text. A LookupError otherwise."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import SqlglotError

    import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)

    try:
        comments = any(t.comments for t in Dialect.get_or_raise("duckdb").tokenize(location))
        trees = [t for t in sqlglot.parse(f"SELECT * FROM {location}", read="duckdb") if t]
    except SqlglotError:
        comments, trees = False, []
    tree = trees[0] if len(trees) == 1 else None
    table = tree.args.get("from_") if isinstance(tree, exp.Select) else None
    table = table.this if isinstance(table, exp.From) else None
    if (
        comments
        or tree is None
        or {k for k, v in tree.args.items() if v} != {"expressions", "from_"}
        or not (len(tree.expressions) == 1 and isinstance(tree.expressions[0], exp.Star))
        or not isinstance(table, exp.Table)
        or not isinstance(table.this, exp.Func)
        or {k for k, v in table.args.items() if v} != {"this"}
    ):
        raise LookupError(
            "external_location must be a file's path or one call of a reader, such as "
            "read_csv('data/x.csv', delim = ';'), with nothing before or after it",
            "write the path, or a single reader call (no ';', comment, alias or join)",
        )
    return location


class SourceAt(NamedTuple):
    """Where a source's key is written."""

    file: Path
    line: int | None
    key: str


class SourceCatalog:
    """Declared sources, resolvable by name."""

    def __init__(
        self,
        sources: Sequence[SourceDecl],
        project_dir: Path,
        origins: Mapping[str, SourceOrigin] | None = None,
    ) -> None:
        self.sources = {s.name: s for s in sources}
        self.project_dir = project_dir
        # Where each source is written (default: retl_project.yml, in the order given).
        self.origins = dict(origins or {})
        for index, src in enumerate(sources):
            self.origins.setdefault(src.name, SourceOrigin(project_dir / PROJECT_FILE, index))

    def lookup(self, source_name: str, table_name: str) -> tuple[SourceDecl, TableDecl]:
        src = self.sources.get(source_name)
        if src is None:
            hint = did_you_mean(source_name, self.sources) or (
                "declare it under 'sources:' in retl_project.yml or in a properties file under "
                "models/ (models/sources.yml, where dbt keeps them)"
            )
            raise LookupError(f"source('{source_name}', '{table_name}'): unknown source", hint)
        for table in src.tables:
            if table.name == table_name:
                return src, table
        hint = did_you_mean(table_name, [t.name for t in src.tables]) or (
            f"add it under the '{source_name}' source's tables in {self.written_in(source_name)}"
        )
        raise LookupError(
            f"source('{source_name}', '{table_name}'): source has no table '{table_name}'", hint
        )

    def missing_file(
        self, source_name: str, table_name: str, allows: Callable[[Path], bool] | None = None
    ) -> Problem | None:
        """A located problem when the table's ``external_location`` names a local file that
        (``allows`` given: the rule of the files models may read) models may not read, there
        or not, or that does not exist, with the nearest file of that folder; else None."""
        found = self.file_problem(source_name, table_name, allows)
        return found[0] if found is not None else None

    def file_problem(
        self, source_name: str, table_name: str, allows: Callable[[Path], bool] | None = None
    ) -> tuple[Problem, bool] | None:
        """:meth:`missing_file`'s problem, and whether it is a refusal (not "missing")."""
        src, table = self.lookup(source_name, table_name)
        try:
            found = _location(src, table)
        except LocationError:  # said where source() reads it (relation)
            return None
        if found is None:
            return None
        location, key = found
        path = local_file(location, self.project_dir)
        call = _call_refusal(location, self.project_dir, allows)
        if call is not None:  # a reader call: the rule of a model's read (read_rule)
            refused = True
            message, hint = call
        elif path is None:
            return None
        elif refused := allows is not None and said_refused(path, allows, self.project_dir):
            # data/../data/x.csv said as data/x.csv; a file: URL as written
            written = location if _SCHEME.match(location) else os.path.normpath(location)
            message, hint = refused_file(path, written)
        elif not path.exists():
            written = location if _SCHEME.match(location) else os.path.normpath(location)
            message, hint = f"file {written} does not exist", _nearest_file(path, written)
        else:
            return None
        origin = self.origins[src.name]
        key_path: KeyPath = ("sources", origin.index, *key)
        problem = Problem(
            f"source('{source_name}', '{table_name}'): {message}",
            file=origin.file,
            line=origin_line(origin, key),
            key=format_key_path(key_path),
            hint=hint,
        )
        return problem, refused

    def written_in(self, source_name: str) -> str:
        """The file that declares the source, as the project spells it (retl_project.yml,
        models/staging/_sources.yml)."""
        return shown_path(self.origins[source_name].file, self.project_dir)

    def _at(self, src: SourceDecl, key: KeyPath) -> SourceAt | None:
        origin = self.origins.get(src.name)
        if origin is None or self.sources.get(src.name) is not src:
            return None
        key_path: KeyPath = ("sources", origin.index, *key)
        return SourceAt(origin.file, origin_line(origin, key), format_key_path(key_path))

    def table_at(self, src: SourceDecl, table: TableDecl) -> SourceAt | None:
        """The file, line and key of ``table``'s declaration (its ``name``)."""
        position = next((j for j, t in enumerate(src.tables) if t is table), None)
        if position is None:
            return None
        return self._at(src, ("tables", position, "name"))

    def column_type_at(self, src: SourceDecl, table: TableDecl, column: str) -> SourceAt | None:
        """The file, line and key of ``column``'s ``data_type``, to locate a message about
        that type (None when the column is not declared there)."""
        position = next((j for j, t in enumerate(src.tables) if t is table), None)
        names = [c.name for c in table.columns]
        if position is None or column not in names:
            return None
        return self._at(src, ("tables", position, "columns", names.index(column), "data_type"))

    def column_at(self, src: SourceDecl, table: TableDecl, column: str) -> SourceAt | None:
        """The file, line and key of ``column``'s declaration (its ``name``), None when it is
        not declared there."""
        position = next((j for j, t in enumerate(src.tables) if t is table), None)
        names = [c.name for c in table.columns]
        if position is None or column not in names:
            return None
        return self._at(src, ("tables", position, "columns", names.index(column), "name"))

    def missing_files(
        self, tables: Sequence[tuple[str, str]], allows: Callable[[Path], bool] | None = None
    ) -> list[Problem]:
        """:meth:`missing_file` of each (source, table), each file once."""
        problems = (self.missing_file(s, t, allows) for s, t in dict.fromkeys(tables))
        return list(dict.fromkeys(p for p in problems if p is not None))

    def relation(self, source_name: str, table_name: str) -> str:
        """SQL for the engine: a file reader for external tables, else a qualified name."""
        src, table = self.lookup(source_name, table_name)
        try:
            found = _location(src, table)
            if found is None:
                return self.qualified_name(source_name, table_name)
            try:
                return _reader(found[0], table, self.project_dir)
            except LookupError as exc:
                raise LocationError(str(exc.args[0]), str(exc.args[1]), found[1]) from None
        except LocationError as exc:
            # said where the location is written: the fix is there, not in the model
            at = self._at(src, exc.key)
            where = f"{self.written_in(src.name)}:{at.line} {at.key}" if at else "its location"
            raise LookupError(
                f"source('{source_name}', '{table_name}'): {where}: {exc.args[0]}", exc.args[1]
            ) from None

    def qualified_name(self, source_name: str, table_name: str) -> str:
        """The table's name as schema-qualified SQL (what static validation resolves)."""
        src, table = self.lookup(source_name, table_name)
        parts = [src.database] if src.database else []
        parts += [src.schema_name, table.identifier or table.name]
        return ".".join(quote_ident(p) for p in parts)


def _call_refusal(
    location: str, project_dir: Path, allows: Callable[[Path], bool] | None
) -> tuple[str, str] | None:
    """What to say of an ``external_location`` that is a reader call
    (``read_csv('data/.env')``) or a pattern (``data/*``, which matches hidden files too)
    reading what models may not read, and the fix."""
    from reverse_etl.models.read_rule import path_refusal, refused_read

    if allows is None:
        return None
    if "(" not in location:
        pattern = any(ch in location for ch in "*?[")
        return path_refusal(location, project_dir, allows) if pattern else None
    try:
        call = reader_call(location)
    except LookupError:
        return None  # said where source() reads it (relation)
    found = refused_read(f"SELECT * FROM {call}", project_dir, allows)
    return (found[2], found[3]) if found is not None else None


def _nearest_file(path: Path, written: str) -> str:
    """Did you mean the closest file of the same folder (spelled as ``written`` spells its
    folder)?"""
    folder = path.parent
    if not folder.is_dir():
        return f"the folder {Path(written).parent.as_posix()}/ does not exist either"
    names = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    prefix = written[: len(written) - len(path.name)] if written.endswith(path.name) else ""
    hits = closest(path.name, names)
    if hits:
        return "did you mean " + " or ".join(f"'{prefix}{h}'" for h in hits) + "?"
    if not names:
        return f"{prefix or 'its folder'} holds no file"
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"files there: {listed}"


def said_refused(path: Path, allows: Callable[[Path], bool], project_dir: Path) -> bool:
    """Whether ``path`` is said to be a file models may not read: it is one, and it is
    there or would not be in the project's own folders. A folder outside (or hidden) is
    neither listed (a missing file's nearest-file hint: "did you mean '~/.ssh/id_rsa'?") nor
    probed: whether a file there exists is not said (validate runs on pull requests)."""
    if allows(path):
        return False
    return path.exists() or not unhidden_under(path.resolve(), project_dir.resolve())


def refused_file(path: Path, written: str) -> tuple[str, str]:
    """What to say of a file models may not read (outside the project, or under a hidden
    folder), and how to allow it."""
    where = os.path.normpath(path.absolute())
    shown = written if written == where else f"{written} ({where})"
    # The rule reads links through: the folder to allow is the one the file really is in
    # (a link's target's, not the link's own, which changes nothing when allowed).
    target = path.resolve()
    if path.is_symlink():
        shown = f"{written} (a link to {target})"
    return (
        f"retl may not read {shown}: models read files in the project's folders only, "
        "not outside it nor under a hidden folder such as .git",
        f"move it into the project, or have whoever runs retl list {target.parent} "
        f"in the environment variable {ALLOWED_PATHS_ENV}",
    )
