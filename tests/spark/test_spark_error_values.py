"""A row's values reach no error text of a Spark query that failed on them while running.

Rows leave Spark through a local socket (``SparkEngine._local_batches``): a task's error comes
back as py4j's error of the serving thread, ``An error occurred while calling ...getResult``,
whose own message parameters are none. The task's Spark error, and the values it quotes bare
(``The timezone: Jane/Quixote is invalid``, ``Duplicate map key Jane Quixote``), is a cause of
its Java exception; the values are read there. A value holding a line break was cut by the
one line kept, so no longer matched whole. One session for the module, a few queries."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from reverse_etl.errors import EngineError, RetlError
from reverse_etl.project import Project

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'retl[spark]'")

from reverse_etl.engine.spark import SparkConnection, SparkEngine

pytestmark = pytest.mark.spark

PII = ("Jane", "Quixote", "jane@x.com", "4155550100")


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_people(tmp_path_factory.mktemp("people") / "people.parquet")


def write_people(path: Path) -> Path:
    """One row of a person, and columns a model may take a time zone, a URL, a charset, a
    replacement, a JSON text from: each holds the name."""
    duckdb.sql(
        f"""COPY (SELECT 1 AS id, 'Jane Quixote' AS name, 'jane@x.com' AS email,
                  '+14155550100' AS phone, 'Jane/Quixote' AS tz, 'Jane%zzQuixote' AS url,
                  'JaneQuixoteCharset' AS cs, 'Jane Quixote $9' AS rep,
                  'Jane' || chr(10) || 'Quixote' AS nl, timestamp '2024-01-01' AS ts)
           TO '{path}' (FORMAT parquet)"""
    )
    return path


@pytest.fixture(scope="module")
def engine(spark: Any, people: Path) -> SparkEngine:
    engine = SparkEngine(SparkConnection(master="local[2]"), model_dialect="spark")
    spark.read.parquet(str(people)).createOrReplaceTempView("people")
    return engine  # the module's session: closed with it


# (expression failing on the row, words of Spark's sentence that stay)
FAILING = [
    ("from_utc_timestamp(ts, tz)", "The timezone: *** is invalid"),
    ("map_from_arrays(array(name, email), array(1, 2)) as m, map(name, 1, name, 2)", "map key"),
    ("str_to_map(concat(phone, ':1,', phone, ':2'))", "Duplicate map key *** was found"),
    ("url_decode(url)", "cannot be decoded: ***"),
    ("encode(name, cs)", "but got ***"),
    ("regexp_replace(name, 'J', rep)", 'source = "***"'),
    ("variant_get(parse_json(concat('\"', name, '\"')), '$', 'int')", "variant value"),
    ("cast(name as interval day)", "to interval"),
    # a value over two lines: its first line was what was left of it
    ("cast(nl as int)", 'of the type "STRING" cannot be cast to "INT"'),
    ("from_utc_timestamp(ts, nl)", "The timezone: *** is invalid"),
    ("map(nl, 1, nl, 2)", "Duplicate map key *** was found"),
    ("to_date(nl, 'yyyy-MM-dd')", "Use `try_to_date`"),
]


def test_a_value_a_task_failed_on_is_masked(engine: SparkEngine) -> None:
    leaks = {}
    for expression, kept in FAILING:
        with pytest.raises(EngineError) as failed:
            engine.stream(f"select {expression} as x from people").read_all()
        message = failed.value.message
        if any(value in message for value in PII) or kept not in message:
            leaks[expression] = message
    assert leaks == {}


def test_a_model_s_error_on_a_row_in_a_plan_names_no_value(
    spark: Any, spark_dir: Path, people: Path, tmp_path: Path
) -> None:
    """The same through the project: ``Project.plan`` of a Spark SQL model that fails on the
    row's time zone raises retl's error, neither its message nor its hint quoting the row."""
    warehouse = f"  master: local[2]\n  warehouse_dir: {spark_dir}"
    said = plan_error(tmp_path / "p", people, warehouse)
    assert "The timezone: *** is invalid" in said
    assert not [value for value in PII if value in said], said


def plan_error(root: Path, people: Path, warehouse: str, time_zone: str = "tz") -> str:
    """The message and hint of ``Project.plan``'s error for a model converting its time
    from the zone ``time_zone`` (an expression of the row: Spark fails on it)."""
    (root / "models").mkdir(parents=True)
    (root / "data").mkdir()
    shutil.copy(people, root / "data" / "people.parquet")  # a project reads its own files
    (root / "retl_project.yml").write_text(
        f"""
warehouse:
  type: spark
{warehouse}
  dialect: spark
sources:
  - name: crm
    meta: {{external_location: "data/people.parquet"}}
    tables:
      - name: people
""",
        encoding="utf-8",
    )
    (root / "models" / "people_events.sql").write_text(
        "select 'Purchase' as event, cast(id as string) as event_id,\n"
        f"       from_utc_timestamp(ts, {time_zone}) as event_time, email\n"
        "from {{ source('crm', 'people') }}\n",
        encoding="utf-8",
    )
    (root / "destinations.yml").write_text(
        """
destinations:
  tiktok:
    type: tiktok_events
    model: people_events
    auth_method: access_token
    access_token: not-used-by-a-plan
    event_source_id: PIXEL1
    api_base_url: http://127.0.0.1:9
""",
        encoding="utf-8",
    )
    with pytest.raises(RetlError) as failed, Project.load(root) as p:
        engine = p.engine
        if isinstance(engine, SparkEngine) and engine.is_connect:
            # without the client's second call for the error's details (its parameters)
            engine.session.conf.set("spark.sql.connect.enrichError.enabled", "false")
        p.plan()
    return f"{failed.value.message} {failed.value.hint or ''}"


def test_a_quote_spark_s_text_opens_is_masked_to_the_line_s_end(engine: SparkEngine) -> None:
    """Without the parameters (a JVM gone): a quoted value cut by the line kept, and one
    holding an escaped quote, are masked whole; an apostrophe is no quote."""
    cut = RuntimeError("[CAST_INVALID_INPUT] The value 'Jane\nQuixote' of the type \"STRING\"")
    escaped = RuntimeError("[CAST_INVALID_INPUT] The value 'O\\'Jane Quixote' of the type")
    assert engine._clean(cut) == "The value '***'"
    assert engine._clean(escaped) == "The value '***' of the type"
    plain = RuntimeError("Can't create array with 12 elements")
    assert engine._clean(plain) == "Can't create array with 12 elements"


def test_a_connect_error_sent_without_its_parameters_is_read_against_spark_s_template() -> None:
    """Spark Connect leaves an error's class and parameters out of its gRPC metadata when
    they are too long for it (and the enrichment is off): the values are read from the text
    against Spark's template of the class; a text cut short is masked after what it still
    shows; a class without a template, or a text not matching it, keeps its class only."""
    from reverse_etl.engine.spark import _NAMING_PARAMETER
    from reverse_etl.engine.spark_templates import _template, template_values

    def values(text: str) -> list[str]:
        return template_values(text, _NAMING_PARAMETER)

    zone = "[INVALID_TIMEZONE] The timezone: Jane Quixote is invalid. The timezone must"
    assert values(zone) == ["Jane Quixote is invalid. The timezone must"]  # cut: to its end
    template = _template("INVALID_TIMEZONE", None) or ""
    whole = "[INVALID_TIMEZONE] " + template.replace("<timeZone>", "Jane\nQuixote")
    assert values(whole + " SQLSTATE: 22009") == ["Jane\nQuixote"]
    cast = '[CAST_INVALID_INPUT] The value \'Jane\' of the type "STRING" cannot be cast to "INT"'
    assert values(cast) == ["'Jane'", "Jane", '"INT"', "INT"]  # cut: the rest masked too
    assert values(
        "[DUPLICATED_MAP_KEY] Duplicate map key Jane\nQuixote was found, please "
        "check the input data.\nIf you want to remove the duplicated keys, you can "
        'set "spark.sql.mapKeyDedupPolicy" to "LAST_WIN" so that the key inserted '
        "at last takes precedence. SQLSTATE: 23505"
    )[:1] == ["Jane\nQuixote"]
    assert values("[NO_SUCH_CLASS_HERE] Jane Quixote") == ["Jane Quixote"]
    assert values("no class") == []

    class SparkConnectGrpcException(Exception):  # pyspark's class of Connect's errors, by name
        pass

    engine = SparkEngine(SparkConnection(remote="sc://127.0.0.1:9"))  # no session opened
    unknown = SparkConnectGrpcException("[NO_SUCH_CLASS_HERE] Jane\nQuixote SQLSTATE: 22009")
    assert engine._clean(unknown) == "NO_SUCH_CLASS_HERE: ***"


def test_a_template_s_words_repeated_in_a_value_are_read_in_one_pass() -> None:
    """A row's value may repeat the words of its error's template: read with lazy groups,
    the message of an 8-parameter class took 14 s at 2.8 KB and grew as a power of its
    length (the suite's 300 s timeout stops this test if it comes back). Where a value kept
    (a type) could end at another place, the whole message is masked."""
    from reverse_etl.engine.spark import _NAMING_PARAMETER
    from reverse_etl.engine.spark_templates import _PARAMETER, _template, template_values

    name = "STREAM_STREAM_JOIN_INCOMPATIBLE_STATE_STORE_CONFIGS"
    parts = _PARAMETER.split(_template(name, None) or "")
    words = "".join(parts[2:-1:2])
    text = f"[{name}] {parts[0]}" + words * 200 + " no end"
    assert template_values(text, _NAMING_PARAMETER) == [text.split("] ", 1)[1].strip()]

    cast = "[CAST_INVALID_INPUT] " + (_template("CAST_INVALID_INPUT", None) or "").replace(
        "<expression>", "'Jane of the type Doe'"
    ).replace("<sourceType>", '"STRING"').replace("<targetType>", '"INT"')
    assert template_values(cast, _NAMING_PARAMETER) == [cast.split("] ", 1)[1]]
    # cut short, the value's own words read as the template's: each side masked, no type kept
    cut = "[CAST_INVALID_INPUT] The value 'Jane of the type Doe' of the type \"STRING\" cannot"
    assert "'Jane" in template_values(cut, _NAMING_PARAMETER)
    assert 'Doe\' of the type "STRING" cannot' in template_values(cut, _NAMING_PARAMETER)
