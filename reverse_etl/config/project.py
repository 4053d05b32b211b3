"""retl_project.yml: warehouse, vars, state location, targets and dbt-shaped source
declarations."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from reverse_etl.config.env import LazySecret
from reverse_etl.config.errors_map import problems_from_validation
from reverse_etl.config.resolve import resolve_tree
from reverse_etl.config.suggest import did_you_mean
from reverse_etl.config.target_env import TARGET_ENV
from reverse_etl.config.yaml_loader import LoadedYaml, load_yaml
from reverse_etl.errors import ConfigError, UsageError

PROJECT_FILE = "retl_project.yml"


class _Strict(BaseModel):
    # Field docstrings are read by config/docstrings.py when docs are generated, not by
    # pydantic at import (``use_attribute_docstrings`` parses each class's source, #18).
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Lenient(BaseModel):
    """dbt's own descriptive keys are accepted (and ignored) so YAML can be pasted as is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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

    @field_validator("tables")
    @classmethod
    def _unique_tables(cls, v: list[TableDecl]) -> list[TableDecl]:
        """A table declared twice: which declaration source() reads would be a guess."""
        seen: set[str] = set()
        for table in v:
            if table.name.lower() in seen:
                raise ValueError(f"table '{table.name}' is declared twice in this source")
            seen.add(table.name.lower())
        return v


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_SIZE = re.compile(r"\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", re.I)


def _check_size(v: str) -> str:
    if not _SIZE.fullmatch(v):
        raise ValueError("must be a size such as 500MB or 2GB")
    return v.strip()


class AttachConfig(_Strict):
    """Another database attached to the embedded DuckDB, so models can join it."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    name: str
    """The database's name in SQL (``select * from crm.public.leads``)."""
    type: Literal["duckdb", "sqlite", "postgres"]
    """Kind of database. ``sqlite`` and ``postgres`` need ``pip install 'retl[attach]'``."""
    path: str | None = None
    """File of a ``duckdb`` or ``sqlite`` database (relative to the project or absolute)."""
    dsn: LazySecret | None = None
    """libpq connection string of a ``postgres`` database; use env_var() for the password.
    A secret setting (never printed); its password reaches DuckDB as a secret of the
    attachment, never in the text models can read (``duckdb_databases()``)."""

    @model_validator(mode="after")
    def _target(self) -> AttachConfig:
        if self.type == "postgres" and not self.dsn:
            raise ValueError(f"attach '{self.name}': a postgres database needs 'dsn'")
        if self.type != "postgres" and not self.path:
            raise ValueError(f"attach '{self.name}': a {self.type} database needs 'path'")
        return self


class DuckDBWarehouse(_Strict):
    """Models run in an embedded DuckDB: in memory, or over a database file."""

    type: Literal["duckdb"] = "duckdb"
    """Warehouse kind."""
    path: str | None = None
    """DuckDB database file, relative to the project directory or absolute, inside the
    project or its git work tree, else in a folder of ``RETL_ALLOWED_PATHS`` (attached
    read-only, under its file name's stem, as dbt-duckdb names it). Default: in memory."""
    memory_limit: str | None = None
    """Memory DuckDB may use (e.g. ``500MB``, ``4GB``); beyond it, large results and joins
    spill to temporary files under the state folder, so memory does not grow with the data.
    Default: ``200MB``, raised once to ``1GB`` for a statement that cannot run in it (a model
    whose operators do not spill); set a value to make it a hard limit."""
    attach: list[AttachConfig] = Field(default_factory=list)
    """Other databases (DuckDB, SQLite, PostgreSQL) to attach, read-only."""

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, v: str | None) -> str | None:
        return None if v is None else _check_size(v)

    @field_validator("path")
    @classmethod
    def _non_empty(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("path is empty; remove it for an in-memory database")
        return v


class PostgresWarehouse(_Strict):
    """Models run on a PostgreSQL server; results stream back with a server-side cursor."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    type: Literal["postgres"]
    """Warehouse kind."""
    host: str = "localhost"
    """Server host name or address."""
    port: int = 5432
    """Server port."""
    dbname: str = Field(validation_alias=AliasChoices("dbname", "database"))
    """Database name (``database`` is accepted too)."""
    user: str | None = None
    """Role to connect as."""
    password: LazySecret | None = None
    """Password: write ``{{ env_var('PGPASSWORD') }}``. Read only when connecting."""
    sslmode: str | None = None
    """libpq sslmode (``disable``, ``require``, ``verify-full`` …)."""
    search_path: str | None = None
    """Schemas searched for unqualified table names, e.g. ``analytics,public``."""
    dialect: str = "duckdb"
    """The SQL dialect models are written in; sqlglot transpiles them to PostgreSQL."""
    memory_limit: str | None = None
    """Memory of the local DuckDB that encodes and diffs the rows retl reads (default as
    for ``duckdb``: ``200MB``, raised once to ``1GB`` when a statement needs it)."""

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, v: str | None) -> str | None:
        return None if v is None else _check_size(v)

    @field_validator("host", "dbname", "user")
    @classmethod
    def _one_value(cls, v: str | None) -> str | None:
        # These are printed in messages (PostgresConnection.describe); a connection string
        # or URI in one ("dbname=app password=..."; "postgresql://user:pw@host/db") would
        # print its password, and libpq does not read it there anyway.
        if v is not None and re.search(r"://|=", v):
            raise ValueError(
                "holds a connection string or URI, not one value: give host, port, dbname and "
                "user each on its own key, and the password as "
                "password: \"{{ env_var('PGPASSWORD') }}\""
            )
        return v


# The Spark settings a project may give its session: the SQL engine's own (spark.sql.*, but
# catalogs, extensions, the warehouse and metastore, sources and listeners, which load classes
# or write files), memory, cores and parallelism. Java options (an agent, OnOutOfMemoryError),
# jars, packages, files, plugins, class names and folders load or run code a pull request
# could bring, or write outside the project: spark-submit takes them from an in-process
# session's configuration.
_SPARK_ALLOWED_KEYS = re.compile(
    r"(?i)^spark\.("
    r"sql\.(?!catalog|extensions|warehouse|hive|sources|queryexecutionlisteners|streaming"
    r"|execution\.(?:pyspark|python)|udf)[\w.]+"
    r"|(?:driver|executor)\.(?:memory|cores|memoryoverhead|maxresultsize)"
    r"|default\.parallelism|memory\.[\w.]+|network\.timeout|task\.maxfailures"
    r"|ui\.(?:enabled|showconsoleprogress)|rdd\.compress|broadcast\.(?:blocksize|compress)"
    r")$"
)
_SPARK_CLASS_KEYS = re.compile(r"(?i)(class|classes|plugin|plugins|listeners|factory|manager)$")
# Spark's own rule for a master (SparkSubmit): "yarn", or one starting with spark, k8s or local.
# Checked here so that a wrong one is this file's error, not a JVM's stack trace 3 s later.
_SPARK_MASTER = re.compile(r"yarn|(spark|k8s|local)\S*")


class SparkWarehouse(_Strict):
    """Models run on Spark (Databricks-compatible): an in-process session (``master``) or a
    Spark Connect server (``remote``). Needs ``pip install 'retl[spark]'`` and Java 17+."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    type: Literal["spark"]
    """Warehouse kind."""
    master: str | None = None
    """Start a session in this process, e.g. ``local[*]`` (give this or ``remote``)."""
    remote: str | None = None
    """A Spark Connect server, ``sc://host:15002`` (Databricks: ``sc://<workspace>:443``)."""
    token: LazySecret | None = None
    """Spark Connect bearer token: write ``{{ env_var('DATABRICKS_TOKEN') }}``."""
    connect_timeout: float | None = Field(default=None, gt=0)
    """Seconds a Spark Connect call keeps retrying a server that does not answer (a wrong
    address, a stopped server, a cluster that is starting) before the sync fails. Default:
    pyspark's, at least 10 minutes (long enough for a Databricks cluster to start)."""
    conf: dict[str, str] = Field(default_factory=dict)
    """Spark settings for the session (``spark.sql.shuffle.partitions: "8"`` …)."""
    warehouse_dir: str | None = None
    """Where an in-process session keeps its tables (``spark.sql.warehouse.dir``), relative
    to the project or absolute. Default: ``.retl/spark-warehouse``."""
    dialect: str = "duckdb"
    """The SQL dialect models are written in; sqlglot transpiles them to Spark SQL."""
    memory_limit: str | None = None
    """Memory of the local DuckDB that encodes the rows retl reads (as for ``postgres``)."""

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, v: str | None) -> str | None:
        return None if v is None else _check_size(v)

    @field_validator("master")
    @classmethod
    def _master(cls, v: str | None) -> str | None:
        if v is not None and not _SPARK_MASTER.fullmatch(v):
            raise ValueError(
                f"'{v}' is not a Spark master: write local[*] (a session in this process, "
                "local[N] for N threads), spark://host:7077, yarn or k8s://https://host:port"
            )
        return v

    @field_validator("conf")
    @classmethod
    def _no_code(cls, v: dict[str, str]) -> dict[str, str]:
        # An in-process session hands these to spark-submit and the JVM: Java options (an
        # agent, OnOutOfMemoryError), jars, packages, plugins, extensions and catalogs load
        # and run code a pull request could bring; a warehouse folder is written to.
        for key in v:
            if not _SPARK_ALLOWED_KEYS.match(key) or _SPARK_CLASS_KEYS.search(key):
                raise ValueError(
                    f"'{key}' is not a Spark setting retl_project.yml may give: only spark.sql.* "
                    "(not catalogs, extensions, the warehouse, sources or listeners), memory, "
                    "cores and parallelism; Java options, jars, packages, plugins, classes "
                    "and folders load or run code (set them on the cluster, or in "
                    "spark-defaults.conf of whoever runs retl)"
                )
        return v

    @model_validator(mode="after")
    def _one_way(self) -> SparkWarehouse:
        if (self.master is None) == (self.remote is None):
            raise ValueError("a spark warehouse needs exactly one of 'master' and 'remote'")
        if self.remote is not None and not self.remote.startswith("sc://"):
            raise ValueError("'remote' must be a Spark Connect address: sc://host:port")
        if self.remote is not None and re.search(r";\s*token\s*=", self.remote, re.I):
            # The address is printed in messages (SparkConnection.describe); a token is not.
            raise ValueError(
                "'remote' holds a token (;token=...): give it as "
                "token: \"{{ env_var('DATABRICKS_TOKEN') }}\" instead, so that it is read "
                "from the environment and never printed"
            )
        if self.remote is not None and re.match(r"sc://[^/;]*@", self.remote):
            # printed in messages too, and Spark Connect reads no password there
            raise ValueError(
                "'remote' holds a user name or password (sc://user:password@host): give "
                "sc://host:port, and a token as token: \"{{ env_var('DATABRICKS_TOKEN') }}\""
            )
        if self.token is not None and self.remote is None:
            raise ValueError("'token' is for Spark Connect ('remote'), not 'master'")
        if self.connect_timeout is not None and self.remote is None:
            raise ValueError("'connect_timeout' is for Spark Connect ('remote'), not 'master'")
        return self


WarehouseConfig = Annotated[
    DuckDBWarehouse | PostgresWarehouse | SparkWarehouse, Field(discriminator="type")
]


class StateConfig(_Strict):
    """Where retl keeps what it has sent."""

    location: Literal["local", "warehouse"] = "local"
    """``local``: a DuckDB file in ``path``. ``warehouse``: tables in the warehouse's
    ``schema`` (a PostgreSQL schema, a Spark database), for CI runners without a persistent
    disk."""
    path: str = ".retl"
    """State folder (``location: local``; also holds run reports and temporary files),
    inside the project, else in a folder of ``RETL_ALLOWED_PATHS``."""
    schema_: str = Field(default="retl_state", alias="schema")
    """Schema for the state tables when ``location: warehouse``: a plain name (letters,
    digits and underscores, not starting with a digit; at most 63 characters)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("schema_")
    @classmethod
    def _plain(cls, v: str) -> str:
        # It names a PostgreSQL schema or a Spark database in retl's own statements: a name
        # that needs quoting (a backtick, a quote, a space) could become other SQL there.
        if not _PLAIN_NAME.fullmatch(v):
            raise ValueError(
                "must be a plain name: letters, digits and underscores, not starting with a "
                "digit, at most 63 characters (e.g. retl_state)"
            )
        if v != "retl_state" and not _unquoted_name(v):
            raise ValueError(
                f"'{v}' is an SQL keyword, which retl's statements cannot name unquoted: "
                "choose another name (e.g. retl_state)"
            )
        return v


def _unquoted_name(name: str) -> bool:
    """Whether ``name`` reads as a schema's name, unquoted, in the SQL retl writes for the
    state (DuckDB's, transpiled to Spark's or PostgreSQL's): not a keyword such as ``from``
    (``from.folds`` reads another table) or ``select``."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)

    for dialect in ("duckdb", "spark"):
        try:
            tree = sqlglot.parse_one(f"SELECT a FROM {name}.t AS x", read=dialect)
        except SqlglotError:
            return False
        table = tree.find(exp.Table)
        if table is None or table.db != name or table.name != "t":
            return False
    return True


class HistoryConfig(_Strict):
    """The run history and the delivery log (tables where the state lives)."""

    retention_days: int = Field(default=30, ge=1, le=3650)
    """Days of runs and delivery-log rows kept; older ones are pruned at the end of a sync."""
    log_accepted: bool = True
    """Log each accepted row (``retl runs find`` then finds it). ``false`` logs only rejected,
    failed and skipped rows: a full sync of a million rows about 5 CPU-seconds cheaper."""


NotifyOn = Literal["failure", "rejections", "coverage_drop", "refused"]
# The default: what needs a person. ``refused`` (a run the lock refused) is asked for by name.
NOTIFY_ON: tuple[NotifyOn, ...] = ("failure", "rejections", "coverage_drop")
# Other tools' words for a run refused because the last one still runs (Hightouch, dbt Cloud
# and Airflow say "skipped"): retl's is "refused", as `retl runs` lists such a run.
_REFUSED_ALIASES = ("skipped", "skip", "locked")


def _refused_by_its_name(v: Any) -> Any:
    if isinstance(v, str) and v in _REFUSED_ALIASES:
        raise ValueError(
            f"'{v}' is not one of failure, rejections, coverage_drop, refused: a run that did "
            "nothing because the last sync still held the state is 'refused' in retl (as "
            "`retl runs` lists it); write refused"
        )
    return v


NotifyOnItem = Annotated[NotifyOn, BeforeValidator(_refused_by_its_name)]
_SHARE = re.compile(r"\s*(\d+(\.\d+)?)\s*%\s*")
_DURATION = re.compile(r"\s*([1-9][0-9]{0,5})\s*([smhd])\s*")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class WebhookConfig(_Strict):
    """A webhook called at the end of a sync (``notify:``), with a Slack-compatible message
    (``text`` and ``blocks``) naming the project, the destination, the counts and the run.
    A webhook that cannot be reached is a warning, never a failed sync."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    url: LazySecret
    """The webhook's URL, always through ``{{ env_var('SLACK_WEBHOOK_URL') }}``: the URL is
    its credential, so it is never written in this file and never printed."""
    name: str | None = None
    """What warnings call it (default: ``notify[N]``)."""
    on: list[NotifyOnItem] = Field(default_factory=lambda: list(NOTIFY_ON))
    """When to call it (default: the first three): ``failure`` (the sync failed),
    ``rejections`` (a destination's rejected events exceed ``rejections_above``),
    ``coverage_drop`` (its match coverage fell by ``coverage_drop_points`` or more since its
    previous run), ``refused`` (the run did nothing, exit 75: the last sync still held the
    state; never a ``failure``)."""
    rejections_above: int | str = 0
    """Rejected events tolerated per destination: a count (``10``) or a share of the events
    it sent (``"2%"``). Default 0: any rejection calls the webhook."""
    coverage_drop_points: float = Field(default=5.0, gt=0, le=100)
    """Percentage points of match coverage a destination may lose since its previous run."""
    sandbox: bool = False
    """Call it for ``retl sync --sandbox`` runs too (default: real runs only)."""
    stuck_after: str | None = "3h"
    """A run refused because the sync holding the state has held it this long (``90m``,
    ``3h``, ``1d``) is a ``failure``: that sync may be hung, and every later run will be
    refused too. ``null``: never (a refused run is then only ``refused``)."""

    @field_validator("url", mode="before")
    @classmethod
    def _from_env(cls, v: Any) -> Any:
        if not isinstance(v, LazySecret) or not v.from_env:
            raise ValueError(
                "a webhook URL is a secret (it carries the webhook's credential): write "
                "url: \"{{ env_var('SLACK_WEBHOOK_URL') }}\" and set the variable, never the "
                "URL itself"
            )
        if v.whole_env_var is None:
            # The whole URL comes from the environment: a URL built around a variable
            # ('https://host/{{ env_var(...) }}') would send any secret to any host.
            raise ValueError(
                'must be exactly one variable, the whole URL: url: "{{ env_var('
                "'SLACK_WEBHOOK_URL') }}\" (no text around it, no default), so that the "
                "project cannot choose where a secret goes"
            )
        return v

    @field_validator("rejections_above")
    @classmethod
    def _threshold(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v >= 0:
            return v
        match = _SHARE.fullmatch(v) if isinstance(v, str) else None
        if match is None or float(match.group(1)) > 100:
            raise ValueError("must be a count of events (10) or a share of those sent ('2%')")
        return v

    @field_validator("stuck_after")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        if v is not None and _DURATION.fullmatch(v) is None:
            raise ValueError(
                "must be a duration: a whole number followed by s, m, h or d ('90m', '3h', "
                "'1d'), or null for never"
            )
        return v

    @property
    def stuck_limit(self) -> dt.timedelta | None:
        """``stuck_after`` as a duration (None: never)."""
        found = None if self.stuck_after is None else _DURATION.fullmatch(self.stuck_after)
        if found is None:
            return None
        count, unit = int(found.group(1)), found.group(2)
        return dt.timedelta(seconds=count * _UNIT_SECONDS[unit])

    def rejections_limit(self, sent: int) -> float:
        """The rejected events tolerated for a destination that sent ``sent`` events."""
        if isinstance(self.rejections_above, int):
            return self.rejections_above
        match = _SHARE.fullmatch(self.rejections_above)
        assert match is not None  # checked when loaded
        return sent * float(match.group(1)) / 100


class DbtConfig(_Strict):
    """A dbt project whose models retl models may ``ref()``."""

    project_dir: str = "."
    """The dbt project's folder, relative to this project or absolute."""
    target_dir: str | None = None
    """dbt's artifacts folder (manifest.json, catalog.json), relative to ``project_dir``.
    Default: as dbt finds it (``DBT_TARGET_PATH``, ``target-path``, else ``target``)."""


def _duckdb_by_default(v: Any) -> Any:
    # `warehouse: {path: x.duckdb}` means DuckDB, as it did before other kinds existed.
    if isinstance(v, dict) and "type" not in v:
        return {**v, "type": "duckdb"}
    return v


class TargetConfig(_Strict):
    """One target (``targets.<name>``): where models run and the state lives when it is
    picked, as dbt's targets keep a dev and a prod run apart."""

    warehouse: WarehouseConfig | None = None
    """Replaces the top-level ``warehouse:`` (whole) for this target."""
    state: StateConfig | None = None
    """Replaces the top-level ``state:`` (whole) for this target."""

    @field_validator("warehouse", mode="before")
    @classmethod
    def _duckdb(cls, v: Any) -> Any:
        return _duckdb_by_default(v)


class ProjectConfig(_Strict):
    """The whole of retl_project.yml. Every key is optional."""

    name: str | None = None
    """Project name, shown in reports."""
    warehouse: WarehouseConfig = Field(default_factory=DuckDBWarehouse)
    """The warehouse connection."""
    vars: dict[str, Any] = Field(default_factory=dict)
    """Values for ``var('name')`` in models."""
    state: StateConfig = Field(default_factory=StateConfig)
    """State location."""
    history: HistoryConfig = Field(default_factory=HistoryConfig)
    """How long the run history and the delivery log are kept."""
    notify: list[WebhookConfig] = Field(default_factory=list)
    """Webhooks called when a sync fails, rejects events or loses match coverage."""
    dbt: DbtConfig | None = None
    """A dbt project to read models from (its ``target/manifest.json``)."""
    sources: list[SourceDecl] = Field(default_factory=list)
    """Declared sources, in dbt's shape."""
    targets: dict[str, TargetConfig] = Field(default_factory=dict)
    """Named targets (``dev``, ``prod`` …), each replacing ``warehouse:`` and ``state:``;
    ``--target NAME`` or ``RETL_TARGET`` picks one."""
    default_target: str | None = None
    """The target used when neither ``--target`` nor ``RETL_TARGET`` names one (default: the
    first under ``targets:``)."""

    @field_validator("warehouse", mode="before")
    @classmethod
    def _duckdb_by_default(cls, v: Any) -> Any:
        return _duckdb_by_default(v)

    @field_validator("targets", mode="before")
    @classmethod
    def _empty_targets(cls, v: Any) -> Any:
        # `dev:` with nothing under it: the top-level warehouse and state, named.
        if isinstance(v, dict):
            return {name: {} if t is None else t for name, t in v.items()}
        return v

    @field_validator("default_target")
    @classmethod
    def _known_target(cls, v: str | None, info: ValidationInfo) -> str | None:
        targets = info.data.get("targets")
        if v is None or targets is None:  # targets itself invalid: said there
            return v
        if not targets:
            raise ValueError("no targets are declared: add 'targets:' or remove this key")
        if v not in targets:
            hint = did_you_mean(v, targets) or "targets: " + ", ".join(targets)
            raise ValueError(f"no target named '{v}' ({hint})")
        return v

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, v: list[SourceDecl]) -> list[SourceDecl]:
        seen: set[str] = set()
        for src in v:
            if src.name in seen:
                raise ValueError(f"source '{src.name}' is declared twice")
            seen.add(src.name)
        return v


@dataclass(frozen=True)
class RunTarget:
    """The target a run uses: what models see as ``target.name`` and ``target.type``."""

    name: str
    """The target's name (``default`` when the project declares no targets)."""
    type: str
    """Its warehouse's kind: ``duckdb`` or ``postgres``."""

    def as_jinja(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type}


def apply_target(
    config: ProjectConfig,
    loaded: LoadedYaml | None,
    name: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> tuple[ProjectConfig, RunTarget]:
    """The configuration of the target ``name`` (else ``RETL_TARGET``, else
    ``default_target:``, else the first under ``targets:``): its ``warehouse:`` and
    ``state:`` replace the top-level ones."""
    env = os.environ if environ is None else environ
    option, given = ("--target", name) if name else (TARGET_ENV, env.get(TARGET_ENV) or None)
    path = loaded.path if loaded is not None else None
    if not config.targets:
        if given is not None:
            raise UsageError(
                f"{option} {given}: {PROJECT_FILE} declares no targets",
                key=option,
                hint=f"declare them under 'targets:' in {PROJECT_FILE} (see "
                "docs/configuration.md#targets)"
                + (f", or unset {TARGET_ENV}" if option == TARGET_ENV else ""),
            )
        return config, RunTarget("default", config.warehouse.type)
    chosen = given or config.default_target or next(iter(config.targets))
    if chosen not in config.targets:
        raise ConfigError(
            f"{option} {chosen}: no target named '{chosen}'",
            file=path,
            line=loaded.line_of(("targets",)) if loaded is not None else None,
            key="targets",
            hint=did_you_mean(chosen, config.targets) or "targets: " + ", ".join(config.targets),
        )
    target = config.targets[chosen]
    updated = config.model_copy(
        update={
            "warehouse": target.warehouse or config.warehouse,
            "state": target.state or config.state,
        }
    )
    return updated, RunTarget(chosen, updated.warehouse.type)


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
    data = resolve_tree(loaded, loaded.data, ())
    try:
        return ProjectConfig.model_validate(data), loaded
    except ValidationError as exc:
        raise ConfigError.from_problems(
            problems_from_validation(exc, loaded, ProjectConfig)
        ) from None
