"""Spark SQL a model may not run: Java code (``reflect()``), a script (``TRANSFORM ...
USING``), a file read as a data source's table (``csv.`/path` ``), and the Spark and
Databricks functions that read unchecked files or streams, return secrets or call the
network, and any name given as text (``IDENTIFIER('...')``), which no check reads. Checked
by ``SparkEngine`` on every model (its own tree, and the text it sends), and
by ``retl validate`` offline (``engine/refused_calls.py``): sqlglot only, no session.
"""

from __future__ import annotations

from sqlglot import exp

import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)
from reverse_etl.engine.refused_calls import RefusedCall, called_name, line_of, refuser

# Spark SQL that runs code on the driver or the executors: a Java method by reflection
# (System.getenv reads the process's environment, the tokens included), or a shell command
# (TRANSFORM ... USING). A model may come from an untrusted pull request: refused.
_CODE_FUNCTIONS = frozenset({"reflect", "java_method", "try_reflect"})
# Functions of Spark and Databricks SQL a model may not call, and why: they read files or
# streams past the rule on which files a model may read (read_files('/etc/passwd', format =>
# 'text') reads any file the cluster's process can), hand out the workspace's secrets
# (secret('scope', 'key') returns its value, which a model would send as event data), or
# call the network with the workspace's connections. One list, checked with the code above.
_REFUSED_FUNCTIONS = {
    **dict.fromkeys(
        (
            "read_files",
            "read_statestore",
            "read_state_metadata",
            "read_kafka",
            "read_kinesis",
            "read_pubsub",
            "read_pulsar",
            "cloud_files_state",
        ),
        "it reads files or streams that retl does not check (read a file with "
        "read_parquet('...'), read_csv('...') or read_json('...'), whose paths retl checks, "
        "or declare it as a source with external_location)",
    ),
    **dict.fromkeys(
        ("secret", "try_secret", "list_secrets"),
        "it returns the workspace's secrets, which the model's rows would carry (remove the call)",
    ),
    "http_request": "it calls the network with the workspace's connections (remove the call)",
}
# Spark SQL reads a file named as a table of a data source (csv.`/path`, text.`.git/config`):
# past the rule on which files a model may read (engine/file_rule.py). The session also runs
# with spark.sql.runSQLOnFiles off; this says it first, with the fix.
_FILE_SOURCES = frozenset(
    {"csv", "json", "parquet", "orc", "text", "avro", "binaryfile", "xml", "delta", "jdbc"}
    | {"iceberg", "hudi", "libsvm", "image", "noop", "console", "rate"}
)


# Spark's IDENTIFIER clause names a function, a table-valued function or a table by a string
# (any constant expression): ``FROM IDENTIFIER('read_files')('/etc/passwd')`` calls what the
# checks above refuse by name, which sqlglot reads as a table named by a call of identifier(),
# not as a call of the function it names.
_NAME_AS_TEXT = "identifier"


def _file_source(db: str) -> bool:
    """Whether ``db``.`...` names a data source Spark reads a file with: its short name, or
    a provider's class name (`` `com.databricks.spark.csv`.`/path` ``, `` `org.apache.spark.sql.
    execution.datasources.v2.text.TextDataSourceV2`.`/path` ``): a schema's name has no dot."""
    return db.lower() in _FILE_SOURCES or "." in db


def _file_read(node: exp.Table) -> bool:
    """Whether the table ``node`` is a file read as a data source's table. Spark reads one
    only from a two-part name (`` format.`path` ``): with a catalog part, ``cat.delta.t`` is
    the table ``t`` of the schema ``delta``. Delta's catalog still takes a schema named after
    it with an absolute path for the table (`` spark_catalog.delta.`/tmp/t` ``): a name with
    a catalog part is a file read when its table part is a path."""
    if not node.db or not _file_source(node.db):
        return False
    return not node.catalog or any(c in node.name for c in "/\\:")


def reader_kind(node: exp.Expr) -> str | None:
    """The kind of file DuckDB's reader ``node`` reads (``read_parquet('...')``,
    ``read_csv('...')``, ``read_json('...')``: what a source's ``external_location`` compiles
    to), or None. ``SparkEngine`` reads these through views of Spark's own readers, after the
    file rule checked their paths."""
    if isinstance(node, exp.ReadParquet):
        return "parquet"
    if isinstance(node, exp.ReadCSV):
        return "csv"
    if isinstance(node, exp.Anonymous):
        name = str(node.this).lower()
        if name in ("read_parquet", "parquet_scan"):
            return "parquet"
        if name in ("read_csv", "read_csv_auto"):
            return "csv"
        if name in ("read_json", "read_json_auto", "read_ndjson", "read_ndjson_auto"):
            return "json"
    return None


def as_engine_reads(tree: exp.Expr) -> exp.Expr:
    """``tree`` (a model not written in Spark SQL) with DuckDB's file readers as the tables
    ``SparkEngine`` replaces them with before its check of the translation: translated as
    they are, ``read_parquet('data/x.parquet')`` is ``parquet.`data/x.parquet``` in Spark SQL,
    which ``refused_call`` refuses as a file read past the file rule."""
    return tree.transform(lambda n: exp.to_table("__retl_file") if reader_kind(n) else n)


def refused_call(tree: exp.Expr) -> RefusedCall | None:
    """The first thing of ``tree`` (Spark SQL, or a model's own dialect) Spark may not run."""
    for node in tree.walk():
        if isinstance(node, exp.Table) and _file_read(node):
            return RefusedCall(
                f"a model may not read a file as {node.db}.`...` (Spark would read any file "
                "its process can): read it with read_parquet('...'), read_csv('...') or "
                "read_json('...'), or declare it as a source with external_location, whose "
                "files retl checks",
                node.db.lower(),
                line_of(node.args["db"]),
            )
        if isinstance(node, exp.QueryTransform):
            return RefusedCall(
                "a model may not run a script (SELECT TRANSFORM ... USING): models are SQL "
                "and run nothing else",
                "transform",
                hint="compute the column in SQL",
            )
        if isinstance(node, exp.Func):
            called = called_name(node)
            if called == _NAME_AS_TEXT:
                return RefusedCall(
                    "a model may not name a function or a table with IDENTIFIER('...'): no "
                    "check reads a name given as text, which may be one of those a model may "
                    "not call (read_files, read_kafka ...); write the name itself",
                    called,
                    line_of(node),
                )
            if called in _CODE_FUNCTIONS:
                return RefusedCall(
                    f"a model may not call {called}(): it runs Java code in Spark",
                    called,
                    line_of(node),
                    hint="compute the column in SQL",
                )
            if called in _REFUSED_FUNCTIONS:
                # the fix in the message: a model's error keeps the message, not the hint
                return RefusedCall(
                    f"a model may not call {called}(): {_REFUSED_FUNCTIONS[called]}",
                    called,
                    line_of(node),
                )
    return None


refuse_code = refuser(refused_call)  # raises the refusal of the text the engine sends
