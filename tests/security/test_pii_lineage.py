"""An event id (or key) built from personal data that no value test finds is shown hashed:
static inference records the source columns each output column reads, and an event id that
reads what a column mapped to a personal-data parameter reads (or a source column named
after personal data) is masked wherever retl shows it: plan samples (text and JSON),
``retl show --payload``, the delivery log and ``retl runs find``, the run report."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from reverse_etl.columns import TableRef, UpstreamModel, infer_columns
from reverse_etl.columns.records import column_sources
from reverse_etl.destinations.shared.pii_text import masked_key
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from tests.conftest import invoke_in_process, write_project
from tests.history.test_delivery_log import log_rows, sync
from tests.test_show_payload import no_network  # noqa: F401 (a fixture)
from tests.test_sync import NOW, SECRET, events_project

ORDERS = {
    TableRef.of("orders"): [
        ("order_id", "INT"),
        ("customer_email", "VARCHAR"),
        ("customer_id", "VARCHAR"),
    ]
}


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)


def _sources(sql: str, **kwargs: object) -> dict[str, frozenset[str] | None]:
    result = infer_columns(sql, schema=ORDERS, **kwargs)  # type: ignore[arg-type]
    return dict(column_sources(result.columns))


def test_inference_records_the_source_columns_each_output_column_reads() -> None:
    found = _sources(
        "with o as (select customer_id || '-' || order_id as k, customer_id as c from orders) "
        "select k as event_id, c as external_id, 'x' as event, "
        "{'email': c, 'n': 1} as user, (select max(order_id) from orders) as top from o"
    )
    assert found["event_id"] == {"orders.customer_id", "orders.order_id"}
    assert found["external_id"] == {"orders.customer_id"}
    assert found["event"] == frozenset()  # a literal reads nothing
    assert found["user.email"] == {"orders.customer_id"}  # a struct's field, as the encoder
    assert found["user.n"] == frozenset()
    assert found["top"] is None  # a subquery: not followed (the value test decides)


def test_sources_follow_an_upstream_model_read_by_name() -> None:
    staged = infer_columns(
        "select customer_email as who, order_id from orders", schema=ORDERS
    ).columns
    found = dict(
        column_sources(
            infer_columns(
                "select who || '-' || order_id as event_id from stg",
                schema={},
                upstream={TableRef.of("stg"): UpstreamModel("stg", staged)},
            ).columns
        )
    )
    assert found["event_id"] == {"orders.customer_email", "orders.order_id"}


def test_a_generated_series_reads_no_ones_data() -> None:
    """``'order-' || i`` and ``'user' || i || '@example.com'`` of ``range(5)`` share no
    personal data: the numbers are the query's own, as a literal is."""
    found = _sources("select 'order-' || i as event_id, 'u' || i as email from range(5) t(i)")
    assert found == {"event_id": frozenset(), "email": frozenset()}


ORDERS_CSV = (
    "order_id,customer_id,customer_email\n"
    "1000,cust-0, Person0@Example.com \n"
    "1001,cust-1,person1@example.com\n"
)


def _model(event_id: str) -> str:
    return (
        f"select 'Purchase' as event, {NOW} as event_time, {event_id} as event_id, "
        "customer_id as external_id, 'USD' as currency "
        "from read_csv('data/orders.csv') as orders"
    )


def _project(tmp_path: Path, base_url: str, event_id: str) -> Path:
    project = events_project(tmp_path, base_url, select=_model(event_id))
    (project / "data").mkdir(exist_ok=True)
    (project / "data" / "orders.csv").write_text(ORDERS_CSV, encoding="utf-8")
    return project


@pytest.mark.parametrize(
    ("event_id", "raw"),
    [
        # an e-mail address with its '@' replaced: no value test finds it
        ("replace(trim(customer_email), '@', '#') || '-' || order_id", "Person0#Example.com-1000"),
        # the customer id the platform hashes as external_id
        ("customer_id || '-' || order_id", "cust-0-1000"),
    ],
)
def test_an_event_id_built_from_personal_data_is_shown_hashed(
    server: SandboxServer, tmp_path: Path, event_id: str, raw: str
) -> None:
    project = _project(tmp_path, server.base_url, event_id)
    planned = invoke_in_process("plan", "--project-dir", project, "--format", "json")
    assert planned.returncode == 0, planned.stderr
    samples = [e for d in orjson.loads(planned.stdout)["destinations"] for e in d["samples"]]
    assert masked_key(raw) in {e["event_id"] for e in samples}
    text = invoke_in_process("plan", "--project-dir", project)
    assert text.returncode == 0, text.stderr
    for out in (planned.stdout, text.stdout):
        assert raw not in out and "cust-1-1001" not in out
    sync(project)
    logged = {r[2] for r in log_rows(project)}
    assert masked_key(raw) in logged and raw not in logged
    found = invoke_in_process("runs", "find", raw, "--project-dir", project)
    assert found.returncode == 0, found.stderr
    assert "accepted" in found.stdout and masked_key(raw) in found.stdout
    assert raw not in found.stdout
    for report in (project / ".retl" / "runs").glob("*.json"):
        assert raw not in report.read_text(encoding="utf-8")


def test_an_event_id_of_no_personal_data_is_shown_as_it_is(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = _project(tmp_path, server.base_url, "'order-' || order_id")
    with Project.load(project) as p:
        (plan,) = p.plan()
    assert not plan.encode.mask_event_ids
    assert {e["event_id"] for e in plan.samples} == {"order-1000", "order-1001"}


@pytest.mark.usefixtures("no_network")
def test_show_payload_hashes_an_event_id_built_from_personal_data(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "models/events.sql": (
                "{{ config(primary_key='order_id') }} "
                + _model("customer_id || '-' || order_id").replace(
                    "'USD' as currency", "'USD' as currency, order_id"
                )
            ),
            "data/orders.csv": ORDERS_CSV,
            "destinations.yml": (
                "destinations:\n"
                "  t:\n"
                "    type: tiktok_events\n"
                "    model: events\n"
                "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"\n"
                "    event_source_id: CPIXEL\n"
            ),
        },
    )
    with Project.load(root) as p:
        (body,) = p.payload("events", "1001")
    assert body.body is not None
    (event,) = body.body["data"]
    assert event["event_id"] == masked_key("cust-1-1001")
    assert body.key == "1001"  # the key reads no personal data: shown as typed
