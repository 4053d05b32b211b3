"""Where the schemas of source tables come from, for static validation. In this order:

1. the engine's catalog, by metadata queries only: ``information_schema.columns`` of the
   warehouse, and for a source read from a file (``external_location``) a ``DESCRIBE`` of the
   source relation (never of a model), its declared column types winning over sniffed ones;
2. sources declared in ``retl_project.yml`` with columns and ``data_type`` (what lets CI
   validate with no warehouse and no data at all);
3. dbt's ``catalog.json`` (and ``manifest.json`` column declarations) when given a dbt project.

The first provider that knows a table wins. A table nobody knows is left out; inference then
reports it, and :meth:`DeclaredSchemas.hint_for` says how to declare it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from reverse_etl.columns import TableRef
from reverse_etl.config.project import SourceDecl, TableDecl
from reverse_etl.errors import ConfigError, EngineError
from reverse_etl.models.sources import SourceCatalog, external_location, local_location

if TYPE_CHECKING:  # the caller opens the engine, and only when a query is needed (#18)
    from reverse_etl.engine.duckdb import DuckDBEngine

UNTYPED = "UNKNOWN"  # a declared column without data_type: known to exist, type unknown


@dataclass(frozen=True)
class TableSchema:
    """A table's columns (name, SQL type) in table order, and which provider gave them."""

    columns: tuple[tuple[str, str], ...]
    origin: str  # warehouse | file | declared | dbt


class SchemaProvider(Protocol):
    """Gives the schemas of the tables it knows among ``refs``; silent about the others."""

    def fetch(self, refs: Sequence[TableRef]) -> dict[TableRef, TableSchema]: ...


def match(ref: TableRef, index: Mapping[TableRef, Any]) -> TableRef | None:
    """``ref``'s key in ``index``. A reference naming no catalog (the engine's default) also
    matches a single entry with the same schema and name in some catalog."""
    if ref in index:
        return ref
    if ref.catalog:
        return None
    same = [k for k in index if (k.db, k.name) == (ref.db, ref.name)]
    return same[0] if len(same) == 1 else None


def resolve_schemas(
    refs: Iterable[TableRef], providers: Sequence[SchemaProvider]
) -> dict[TableRef, TableSchema]:
    """Ask each provider in turn for the tables no earlier provider knew."""
    wanted = list(dict.fromkeys(refs))
    found: dict[TableRef, TableSchema] = {}
    for provider in providers:
        missing = [r for r in wanted if r not in found]
        if not missing:
            break
        found.update(provider.fetch(missing))
    return found


# --- declared sources ---------------------------------------------------------------------
class DeclaredSchemas:
    """Source tables declared in retl_project.yml, keyed as ``source()`` renders them."""

    def __init__(self, catalog: SourceCatalog) -> None:
        self.catalog = catalog
        self.tables: dict[TableRef, tuple[SourceDecl, TableDecl]] = {}
        for src in catalog.sources.values():
            for table in src.tables:
                ref = TableRef.of(table.identifier or table.name, src.schema_name, src.database)
                self.tables[ref] = (src, table)

    def declaration(self, ref: TableRef) -> tuple[SourceDecl, TableDecl] | None:
        key = match(ref, self.tables)
        return self.tables[key] if key is not None else None

    def fetch(self, refs: Sequence[TableRef]) -> dict[TableRef, TableSchema]:
        out: dict[TableRef, TableSchema] = {}
        for ref in refs:
            decl = self.declaration(ref)
            if decl is not None and decl[1].columns:
                cols = tuple((c.name, c.data_type or UNTYPED) for c in decl[1].columns)
                out[ref] = TableSchema(cols, "declared")
        return out

    def hint_for(self, ref: TableRef) -> str:
        """How to make an unknown table known."""
        decl = self.declaration(ref)
        if decl is None:
            return (
                f"declare it under 'sources:' in retl_project.yml or a models/*.yml file (schema "
                f"'{ref.db or 'main'}', "
                f"table '{ref.name}', columns with data_type) and read it with source(), or set "
                "warehouse.path so retl can read the warehouse's catalog"
            )
        src, table = decl
        where = f"source('{src.name}', '{table.name}')"
        location = external_location(src, table)
        found = f" (its file {location} could not be read)" if location else ""
        written = self.catalog.written_in(src.name)
        return f"{where} declares no columns{found}: list them with data_type in {written}"


# --- the engine's catalog -----------------------------------------------------------------
_INFO_SCHEMA = (
    "SELECT table_catalog, table_schema, table_name, column_name, data_type "
    "FROM information_schema.columns WHERE list_contains(?, lower(table_name)) "
    "ORDER BY table_catalog, table_schema, table_name, ordinal_position"
)


class EngineSchemas:
    """Metadata queries on the engine: never a model, never a row of a table.

    ``engine`` is called at most once, and only when a query is needed; it returns None when
    there is no engine to ask (no warehouse, or it cannot be opened).
    """

    def __init__(
        self,
        engine: Callable[[], DuckDBEngine | None],
        declared: DeclaredSchemas,
        *,
        warehouse: bool,
    ) -> None:
        self._engine_factory = engine
        self._engine: DuckDBEngine | None = None
        self._opened = False
        self.declared = declared
        self.warehouse = warehouse

    def close(self) -> None:
        """Close the engine if it was opened."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def _connect(self) -> DuckDBEngine | None:
        if not self._opened:
            self._opened = True
            self._engine = self._engine_factory()
        return self._engine

    def fetch(self, refs: Sequence[TableRef]) -> dict[TableRef, TableSchema]:
        out = self._from_information_schema(refs) if self.warehouse else {}
        for ref in refs:
            if ref not in out:
                sniffed = self._describe_file(ref)
                if sniffed is not None:
                    out[ref] = sniffed
        return out

    def describe(self, query: str) -> list[tuple[str, str]] | None:
        """The columns (name, type) of ``DESCRIBE <query>``, a model's direct read of files
        (``validation/file_reads.py``); None when there is no engine or it cannot say."""
        engine = self._connect()
        if engine is None:
            return None
        try:
            rows = engine.rows(f"DESCRIBE {query}")
        except EngineError:
            return None
        return [(str(row[0]), str(row[1])) for row in rows]

    def _from_information_schema(self, refs: Sequence[TableRef]) -> dict[TableRef, TableSchema]:
        engine = self._connect()
        if engine is None or not refs:
            return {}
        try:
            ((database, schema),) = engine.rows("SELECT current_database(), current_schema()")
            rows = engine.rows(_INFO_SCHEMA, [sorted({r.name for r in refs})])
        except EngineError:
            return {}
        tables: dict[TableRef, list[tuple[str, str]]] = {}
        for cat, db, name, column, data_type in rows:
            tables.setdefault(TableRef.of(name, db, cat), []).append((column, data_type))
        out: dict[TableRef, TableSchema] = {}
        for ref in refs:
            full = TableRef.of(ref.name, ref.db or str(schema), ref.catalog or str(database))
            if full in tables:
                out[ref] = TableSchema(tuple(tables[full]), "warehouse")
        return out

    def _describe_file(self, ref: TableRef) -> TableSchema | None:
        """A file-backed source: DESCRIBE its reader, then let declared types win."""
        decl = self.declared.declaration(ref)
        if decl is None:
            return None
        src, table = decl
        location = external_location(src, table)
        if location is None or not _local_and_present(location, self.declared.catalog):
            return None
        header_only = _declared_csv(location, table, self.declared.catalog.project_dir)
        if header_only is not None:
            return header_only
        engine = self._connect()
        if engine is None:
            return None
        try:
            relation = self.declared.catalog.relation(src.name, table.name)
            rows = engine.rows(f"DESCRIBE SELECT * FROM {relation}")
        except (EngineError, LookupError):  # a refused reader: said when the model renders
            return None
        declared = {c.name.lower(): c for c in table.columns}
        cols = []
        for row in rows:
            name, sniffed_type = str(row[0]), str(row[1])
            decl_col = declared.pop(name.lower(), None)
            cols.append((name, (decl_col.data_type if decl_col else None) or sniffed_type))
        # Declared columns the file lacks stay: the declaration is the contract models use.
        cols += [(c.name, c.data_type or UNTYPED) for c in declared.values()]
        return TableSchema(tuple(cols), "file")


# A CSV file read without DuckDB when its DESCRIBE could only repeat the declaration: importing
# and opening DuckDB is ~0.2 CPU-s of a `retl validate` whose sources are such files (the demo's,
# issue #18). Larger files are left to DuckDB (it reads a sample; this reads the whole file).
_CSV_READ_MAX_BYTES = 1 << 20
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _declared_csv(location: str, table: TableDecl, project_dir: Path) -> TableSchema | None:
    """The schema ``DESCRIBE SELECT * FROM read_csv(file, header = true, types = {declared})``
    gives, when it is certain without asking DuckDB: a plain ``.csv`` file (no reader
    expression, no glob) of at most 1 MiB, valid UTF-8 without a BOM, whose header line is the
    declared column names (plain identifiers, each with a ``data_type``, at least two) joined by
    commas in the declared order, with no carriage return anywhere (LF line ends only) and no
    ``'`` (a quote DuckDB's sniffer tries), and whose every other non-empty line is a row of as
    many fields (strict CSV quoting). Then DuckDB's sniffer finds the comma and the header,
    every column takes its declared type, and the declared types win anyway: the declaration,
    in order, as read from the file (``tests/validate/test_csv_header.py`` compares with
    DuckDB over generated files).
    Otherwise None: DuckDB says, as before (a file it cannot read falls back to the
    declaration)."""
    columns = table.columns
    names = [c.name for c in columns]
    if (
        "(" in location
        or location.startswith("~")
        or any(ch in location for ch in "*?[")
        or not location.lower().endswith(".csv")
        or len(names) < 2
        or len({n.lower() for n in names}) != len(names)
        or not all(c.data_type and _PLAIN_NAME.fullmatch(c.name) for c in columns)
    ):
        return None
    path = Path(location).expanduser()
    path = path if path.is_absolute() else project_dir / path
    if not _plain_project_file(path, project_dir):
        return None  # DuckDB decides, under the files the project may read (project.py)
    try:
        if path.stat().st_size > _CSV_READ_MAX_BYTES:
            return None
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    header, _, _ = text.partition("\n")
    # CR: DuckDB's newline sniffing decides. ': a quote the sniffer also tries; with it a row
    # such as ,,;'' reads as two fields split by ';', a dialect it took over the comma.
    if header != ",".join(names) or "\r" in text or "'" in text:
        return None
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        return None
    if any(row and len(row) != len(names) for row in rows):
        return None
    return TableSchema(tuple((c.name, str(c.data_type)) for c in columns), "file")


def _plain_project_file(path: Path, project_dir: Path) -> bool:
    """Inside the project's folder, links resolved, and not under a hidden name (.git, .env):
    the files any project may read. Others (RETL_ALLOWED_PATHS) are read by DuckDB, which
    enforces the rule, not here."""
    try:
        inside = path.resolve().relative_to(project_dir.resolve())
    except (OSError, ValueError, RuntimeError):  # RuntimeError: a loop of links (3.11)
        return False
    return not any(part.startswith(".") for part in inside.parts)


def _local_and_present(location: str, catalog: SourceCatalog) -> bool:
    """Only local files are described: a URL would be a network call (a ``file:`` URL is
    its path, as the reader reads it)."""
    if "(" in location:
        return True  # a reader expression: DuckDB decides, failure is harmless
    try:
        local = local_location(location)
    except LookupError:  # a file:// URL of another machine: said by source()
        return False
    if local is None:
        return False
    if any(ch in local for ch in "*?["):
        return True  # a glob: DuckDB decides, failure is harmless
    path = Path(local).expanduser()
    return (path if path.is_absolute() else catalog.project_dir / path).is_file()


# --- dbt ----------------------------------------------------------------------------------
def schemas_from_dbt(target_dir: Path) -> dict[TableRef, TableSchema]:
    """Column types of dbt models, seeds, snapshots and sources from a dbt ``target/`` folder.

    ``catalog.json`` (written by ``dbt docs generate``) holds the warehouse's real types;
    ``manifest.json`` adds tables the catalog lacks, from their declared ``data_type``.
    """
    catalog = _read_json(target_dir / "catalog.json")
    manifest = _read_json(target_dir / "manifest.json")
    if catalog is None and manifest is None:
        raise ConfigError(
            f"no dbt catalog.json or manifest.json in {target_dir}",
            file=target_dir,
            hint="run 'dbt docs generate' in the dbt project",
        )
    out: dict[TableRef, TableSchema] = {}
    for node in _nodes(catalog):
        meta = node.get("metadata") or {}
        columns = sorted((node.get("columns") or {}).values(), key=lambda c: c.get("index") or 0)
        if meta.get("name") and columns:
            ref = TableRef.of(str(meta["name"]), meta.get("schema"), meta.get("database"))
            out[ref] = TableSchema(tuple((str(c["name"]), str(c["type"])) for c in columns), "dbt")
    for node in _nodes(manifest):
        name = node.get("alias") or node.get("identifier") or node.get("name")
        columns = list((node.get("columns") or {}).values())
        ref = TableRef.of(str(name), node.get("schema"), node.get("database"))
        if name and columns and ref not in out:
            cols = tuple((str(c["name"]), str(c.get("data_type") or UNTYPED)) for c in columns)
            out[ref] = TableSchema(cols, "dbt")
    return out


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read {path.name}: {exc}", file=path) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name} is not a JSON object", file=path)
    return data


def _nodes(document: dict[str, Any] | None) -> list[dict[str, Any]]:
    if document is None:
        return []
    return [
        n
        for section in ("nodes", "sources")
        for n in (document.get(section) or {}).values()
        if isinstance(n, dict)
    ]


class DbtSchemas:
    """Tables of a dbt project, from :func:`schemas_from_dbt` (read once)."""

    def __init__(self, target_dir: Path) -> None:
        self.tables = schemas_from_dbt(target_dir)

    def fetch(self, refs: Sequence[TableRef]) -> dict[TableRef, TableSchema]:
        out: dict[TableRef, TableSchema] = {}
        for ref in refs:
            key = match(ref, self.tables)
            if key is not None:
                out[ref] = self.tables[key]
        return out


class PostgresSchemas:
    """Column types from a PostgreSQL warehouse's catalog (metadata queries only). When the
    server cannot be reached (a pull request without credentials, say) it says so once
    (``note``: the error -> a Problem) and leaves the tables to the declarations."""

    def __init__(
        self, engine: Any, notes: list[Any], note: Any, declared: DeclaredSchemas | None = None
    ) -> None:
        self.engine = engine
        self.notes = notes
        self.note = note
        self.declared = declared
        self._failed = False
        self.absent: list[TableRef] = []  # asked, and not in the catalog the server showed

    def _columns(self, ref: TableRef) -> Any:
        """The server's columns of ``ref`` (lower-cased, as every ``TableRef``), else of the
        declared source table's own spelling: ``source()`` quotes its schema and name as
        declared, so a source table ``Orders`` is the server's ``"Orders"``, which the
        lower-cased name missed (every model reading it failed validate, and so sync)."""
        columns = self.engine.table_columns(ref.db, ref.name)
        decl = self.declared.declaration(ref) if self.declared is not None else None
        if columns is not None or decl is None:
            return columns
        src, table = decl
        spelled = (src.schema_name, table.identifier or table.name)
        if spelled == (ref.db, ref.name):
            return columns
        return self.engine.table_columns(*spelled)

    def fetch(self, refs: Sequence[TableRef]) -> dict[TableRef, TableSchema]:
        out: dict[TableRef, TableSchema] = {}
        if self._failed:
            return out
        for ref in refs:
            try:
                columns = self._columns(ref)
            except (EngineError, ConfigError) as exc:
                self._failed = True
                self.notes.append(self.note(exc))
                return out
            if columns:
                out[ref] = TableSchema(tuple((c.name, c.type) for c in columns), "warehouse")
            elif columns is None:
                self.absent.append(ref)
        return out
