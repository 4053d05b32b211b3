"""retl_project.yml: warehouse, vars, state location and dbt-shaped source declarations."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reverse_etl.config.errors_map import problems_from_validation
from reverse_etl.config.yaml_loader import LoadedYaml, load_yaml
from reverse_etl.errors import ConfigError

PROJECT_FILE = "retl_project.yml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class _Lenient(BaseModel):
    """dbt's own descriptive keys are accepted (and ignored) so YAML can be pasted as is."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    description: str | None = None
    """Free text, as in dbt."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """dbt ``meta``; ``meta.external_location`` is read as in dbt-duckdb."""
    config: dict[str, Any] = Field(default_factory=dict)
    """dbt ``config``; ``config.external_location`` is read as in dbt-duckdb."""
    tags: list[str] = Field(default_factory=list)
    """dbt tags (ignored)."""


class ColumnDecl(_Lenient):
    """A declared column: what lets ``retl validate`` type a model without a warehouse."""

    name: str
    """Column name."""
    data_type: str | None = None
    """SQL type in the project's dialect (``varchar``, ``timestamp``, ``decimal(12,2)`` …)."""
    tests: list[Any] = Field(default_factory=list)
    data_tests: list[Any] = Field(default_factory=list)
    constraints: list[Any] = Field(default_factory=list)
    quote: bool | None = None


class TableDecl(_Lenient):
    """A source table, in dbt's shape."""

    name: str
    """Name used in ``source('src', 'name')``."""
    identifier: str | None = None
    """The table's real name in the warehouse, when it differs from ``name``."""
    columns: list[ColumnDecl] = Field(default_factory=list)
    """Declared columns with ``data_type``."""
    tests: list[Any] = Field(default_factory=list)
    data_tests: list[Any] = Field(default_factory=list)
    loaded_at_field: str | None = None
    freshness: Any = None
    quoting: dict[str, Any] = Field(default_factory=dict)
    external: Any = None


class SourceDecl(_Lenient):
    """A dbt source: a schema and its tables."""

    name: str
    """Source name used in ``source('name', 'table')``."""
    schema_: str | None = Field(default=None, alias="schema")
    """Schema holding the tables (default: the source name, as in dbt)."""
    database: str | None = None
    """Database (catalog) holding the schema, if not the default one."""
    tables: list[TableDecl] = Field(default_factory=list)
    """The source's tables."""
    loader: str | None = None
    loaded_at_field: str | None = None
    freshness: Any = None
    quoting: dict[str, Any] = Field(default_factory=dict)
    overrides: str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def schema_name(self) -> str:
        return self.schema_ or self.name


class WarehouseConfig(_Strict):
    """Where models run. Default: an embedded in-memory DuckDB."""

    type: Literal["duckdb"] = "duckdb"
    """Warehouse kind. ``duckdb`` (embedded) for now."""
    path: str | None = None
    """DuckDB database file, relative to the project directory or absolute. Default: in memory."""
    memory_limit: str = "1GB"
    """Memory DuckDB may use (e.g. ``500MB``, ``4GB``); beyond it, large results and joins
    spill to temporary files under the state folder, so memory does not grow with the data."""

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", v, re.I):
            raise ValueError("must be a size such as 300MB or 2GB")
        return v.strip()

    @field_validator("path")
    @classmethod
    def _non_empty(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("path is empty; remove it for an in-memory database")
        return v


class StateConfig(_Strict):
    """Where retl keeps what it has sent."""

    path: str = ".retl"
    """State folder, relative to the project directory or absolute."""


class ProjectConfig(_Strict):
    """The whole of retl_project.yml. Every key is optional."""

    name: str | None = None
    """Project name, shown in reports."""
    warehouse: WarehouseConfig = Field(default_factory=WarehouseConfig)
    """The warehouse connection."""
    vars: dict[str, Any] = Field(default_factory=dict)
    """Values for ``var('name')`` in models."""
    state: StateConfig = Field(default_factory=StateConfig)
    """State location."""
    sources: list[SourceDecl] = Field(default_factory=list)
    """Declared sources, in dbt's shape."""

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, v: list[SourceDecl]) -> list[SourceDecl]:
        seen: set[str] = set()
        for src in v:
            if src.name in seen:
                raise ValueError(f"source '{src.name}' is declared twice")
            seen.add(src.name)
        return v


def load_project_config(project_dir: Path) -> tuple[ProjectConfig, LoadedYaml | None]:
    """Load retl_project.yml from ``project_dir`` (optional: defaults when absent)."""
    loaded = load_yaml(project_dir / PROJECT_FILE, required=False)
    if loaded is None or loaded.data is None:
        return ProjectConfig(), loaded
    if not isinstance(loaded.data, dict):
        raise ConfigError(
            "must be a mapping of settings",
            file=loaded.path,
            line=1,
            hint="see docs/configuration.md",
        )
    try:
        return ProjectConfig.model_validate(loaded.data), loaded
    except ValidationError as exc:
        raise ConfigError.from_problems(
            problems_from_validation(exc, loaded, ProjectConfig)
        ) from None
