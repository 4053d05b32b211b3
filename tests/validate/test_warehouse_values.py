"""``retl validate`` says what a warehouse server's engine refuses of a model's own SQL
because it would compute another value than the model's dialect means (rule
warehouse-value; ``engine/factory.model_check``): on Spark, the text of a DOUBLE or FLOAT
(Java's ``Double.toString``: 1.0E-4 where DuckDB writes 0.0001). Offline, as a pull request's
job without credentials checks it, from the declared types and the upstream models' inferred
columns: an error at the model's file and line, in the words ``plan``, ``sync`` and ``show``
refuse it with. A DECIMAL cast, a fraction literal, a model in Spark SQL, and a DuckDB or
PostgreSQL warehouse pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reverse_etl.project import Project
from reverse_etl.validation import validate_project
from tests.conftest import MakeProject, invoke_in_process

SOURCES = """\
sources:
  - name: shop
    tables:
      - name: orders
        columns:
          - {name: order_id, data_type: varchar}
          - {name: email, data_type: varchar}
          - {name: ordered_at, data_type: timestamp}
          - {name: total, data_type: double}
          - {name: weight, data_type: float}
          - {name: quantity, data_type: integer}
          - {name: price, data_type: "decimal(10,2)"}
"""
WAREHOUSES = {
    "duckdb": "",
    "postgres": "warehouse: {type: postgres, host: localhost, dbname: shop}\n",
    "spark": "warehouse: {type: spark, master: 'local[1]'}\n",
}
DESTINATIONS = """\
destinations:
  tt:
    type: tiktok_events
    model: events
    access_token: x
    event_source_id: CSANDBOXDEMOPIXEL001
"""
# {content}: line 4 of the model's file (after a comment line when {config} is given)
EVENTS = """\
select o.order_id as event_id, 'Purchase' as event, o.ordered_at as event_time,
       o.email,
       -- what is sent as the content's id
       {content} as content_id
from {{{{ source('shop', 'orders') }}}} as o
"""
REFUSED = "is a DOUBLE (or FLOAT) made text, which Spark writes otherwise than DuckDB"
FIX = "cast it to DECIMAL(p, s) first"


def _diagnostics(root: Path) -> list[tuple[str, str, str, int | None, str, str | None]]:
    with Project.load(root) as project:
        (result,) = validate_project(project, (), offline=True)
    return [
        (
            d.severity,
            d.rule,
            d.problem.file.name if d.problem.file else "",
            d.problem.line,
            d.problem.message,
            d.problem.hint,
        )
        for d in result.diagnostics
    ]


def _project(
    root: Path, make_project: MakeProject, kind: str, content: str, config: str = ""
) -> Path:
    return make_project(
        root,
        {
            "retl_project.yml": "name: p\n" + WAREHOUSES[kind] + SOURCES,
            "destinations.yml": DESTINATIONS,
            "models/events.sql": config + EVENTS.format(content=content),
        },
    )


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("'order-' || o.total", "o.total"),
        ("cast(o.total as varchar)", "o.total"),
        ("o.total::text", "o.total"),
        ("concat('order-', o.order_id, '-', o.total)", "o.total"),
        ("'w-' || o.weight", "o.weight"),  # a FLOAT
        ("'avg-' || avg(o.quantity) over ()", "AVG(o.quantity) OVER ()"),  # typed a DOUBLE
        ("'big-' || 1e20", "1e20"),  # an exponent: a DOUBLE in both (no line: no name)
        # DuckDB divides DECIMALs as DOUBLEs (sqlglot typed it a DECIMAL), and Spark as retl
        # writes it; a DOUBLE beside a fraction literal is one (the literal exempted it)
        ("'p-' || (o.price / o.quantity)", "(o.price / o.quantity)"),
        ("'t-' || o.total * 1.5", "o.total * 1.5"),
    ],
)
def test_a_double_made_text_on_spark_is_an_error_at_its_line(
    tmp_path: Path, make_project: MakeProject, content: str, named: str
) -> None:
    _project(tmp_path, make_project, "spark", content)
    refusals = [d for d in _diagnostics(tmp_path) if d[1] == "warehouse-value"]
    ((severity, _, file, line, message, hint),) = refusals
    assert (severity, file) == ("error", "events.sql")
    assert line == (None if content.endswith("1e20") else 4)
    assert message.startswith(f"{named} {REFUSED}")
    assert FIX in message
    assert hint == "or write the model in Spark SQL (config(dialect='spark'))"


def test_an_upstream_models_double_is_typed_from_its_inferred_columns(
    tmp_path: Path, make_project: MakeProject
) -> None:
    """The DOUBLE is an upstream model's product (no declared column): the error is the
    model's that makes it text, at its own file and line; the upstream model passes."""
    make_project(
        tmp_path,
        {
            "retl_project.yml": "name: p\n" + WAREHOUSES["spark"] + SOURCES,
            "destinations.yml": DESTINATIONS,
            "models/priced.sql": "select o.*,\n  o.quantity * 1.5e0 as amount\n"
            "from {{ source('shop', 'orders') }} as o\n",
            "models/events.sql": "select p.order_id as event_id, 'Purchase' as event,\n"
            "  p.ordered_at as event_time, p.email,\n"
            "  concat('amount-',\n    p.amount) as content_id\n"
            "from {{ ref('priced') }} as p\n",
        },
    )
    refusals = [d for d in _diagnostics(tmp_path) if d[1] == "warehouse-value"]
    assert [(file, line) for _, _, file, line, _, _ in refusals] == [("events.sql", 4)]
    assert refusals[0][4].startswith(f"p.amount {REFUSED}")


def test_an_upstream_models_own_refusal_is_at_its_file(
    tmp_path: Path, make_project: MakeProject
) -> None:
    make_project(
        tmp_path,
        {
            "retl_project.yml": "name: p\n" + WAREHOUSES["spark"] + SOURCES,
            "destinations.yml": DESTINATIONS,
            "models/keyed.sql": "select o.*,\n  -- the id\n  o.order_id || '-' || o.total as k\n"
            "from {{ source('shop', 'orders') }} as o\n",
            "models/events.sql": "select k as event_id, 'Purchase' as event,\n"
            "  ordered_at as event_time, email\nfrom {{ ref('keyed') }}\n",
        },
    )
    refusals = [d for d in _diagnostics(tmp_path) if d[1] == "warehouse-value"]
    assert [(sev, file, line) for sev, _, file, line, _, _ in refusals] == [
        ("error", "keyed.sql", 3)
    ]


@pytest.mark.parametrize(
    "content",
    [
        "'order-' || cast(o.total as decimal(18, 2))",
        "concat('order-', cast(o.total as bigint))",
        "'order-' || 1.5",  # a DECIMAL in both
        "'order-' || o.price * 1.5",  # a DECIMAL(12, 3) in both
        "'order-' || o.quantity",
        "o.order_id",
    ],
)
def test_what_spark_writes_as_duckdb_does_passes(
    tmp_path: Path, make_project: MakeProject, content: str
) -> None:
    _project(tmp_path, make_project, "spark", content)
    assert [d for d in _diagnostics(tmp_path) if d[0] == "error"] == []


def test_a_model_in_spark_sql_passes(tmp_path: Path, make_project: MakeProject) -> None:
    """Spark SQL means Spark's text: taken as written, as ``plan`` takes it."""
    _project(
        tmp_path, make_project, "spark", "'order-' || o.total", "{{ config(dialect='spark') }}\n"
    )
    assert [d for d in _diagnostics(tmp_path) if d[1] == "warehouse-value"] == []


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_other_warehouses_say_nothing_new(
    tmp_path: Path, make_project: MakeProject, kind: str
) -> None:
    """DuckDB writes its own text; PostgreSQL has no such refusal: the same diagnostics as
    for the model that casts to DECIMAL first."""
    refused = _project(tmp_path / "double", make_project, kind, "'order-' || o.total")
    cast = "'order-' || cast(o.total as decimal(18, 2))"
    passing = _project(tmp_path / "decimal", make_project, kind, cast)
    said = _diagnostics(refused)
    assert [d for d in said if d[1] == "warehouse-value" or d[0] == "error"] == []
    assert [d[:4] for d in said] == [d[:4] for d in _diagnostics(passing)]


def test_the_pull_requests_offline_validate_fails_on_it(
    tmp_path: Path, make_project: MakeProject
) -> None:
    _project(tmp_path, make_project, "spark", "'order-' || o.total")
    result = invoke_in_process("validate", "--offline", "--project-dir", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"events.sql:4: o.total {REFUSED}" in result.stdout


@pytest.mark.slow
def test_validate_starts_no_spark(tmp_path: Path, make_project: MakeProject) -> None:
    """Offline, the check is sqlglot's: neither pyspark nor py4j is imported."""
    _project(tmp_path, make_project, "spark", "'order-' || o.total")
    code = (
        "import sys\n"
        "from reverse_etl.project import Project\n"
        "from reverse_etl.validation import validate_project\n"
        f"with Project.load({str(tmp_path)!r}) as p:\n"
        "    (r,) = validate_project(p, (), offline=True)\n"
        "print(sorted({d.rule for d in r.diagnostics}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rules, modules = done.stdout.splitlines()[-2:]
    assert "'warehouse-value'" in rules
    assert modules == "[]"


@pytest.mark.parametrize(("content", "transpiles"), [("o.order_id", 1), ("'o-' || o.total", 2)])
def test_a_model_is_transpiled_once_for_both_checks(
    tmp_path: Path,
    make_project: MakeProject,
    monkeypatch: pytest.MonkeyPatch,
    content: str,
    transpiles: int,
) -> None:
    """The untyped-expression and warehouse-value checks each transpiled the model whole (a
    validate of a 50-model Spark project took 70% longer than without the second): one
    transpile says both; a refused model's untyped expressions take a second."""
    from reverse_etl.engine.spark import SparkEngine

    calls: list[str] = []
    transpile = SparkEngine.transpile

    def counted(self: SparkEngine, sql: str) -> str:
        calls.append(sql)
        return transpile(self, sql)

    monkeypatch.setattr(SparkEngine, "transpile", counted)
    said = _diagnostics(_project(tmp_path, make_project, "spark", content))
    assert len(calls) == transpiles
    assert any(d[1] == "warehouse-value" for d in said) == (transpiles == 2)
