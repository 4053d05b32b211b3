"""A row key or event id that is personal data is never printed or logged raw, whatever its
column is called: found by the column's name (``customer_phone``) or by its values (an
e-mail address or a ``+`` phone number inside ``'lead-' || email``), not only when the
platform hashes the column."""

from __future__ import annotations

from pathlib import Path

import duckdb
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reverse_etl.destinations.shared.pii_text import looks_pii, masked_key, pii_name, pii_value_sql
from reverse_etl.errors import UsageError
from reverse_etl.project import Project
from reverse_etl.sandbox import SandboxServer
from tests.conftest import invoke_in_process, write_project
from tests.history.test_delivery_log import log_rows, sync
from tests.test_show_payload import no_network  # noqa: F401 (a fixture)
from tests.test_sync import NOW, SECRET, events_project


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)


@pytest.mark.parametrize(
    ("value", "pii"),
    [
        ("alice@example.com", True),
        ("lead-Alice@Example.com", True),
        ("?u=alice%40example.com", True),
        ("+44 7700 900123", True),
        ("call-+1 (213) 373-4253", True),
        ("lead-zoë@bücher.de", True),  # not only ASCII
        ("tel:%2B447700900123", True),
        ("+44/7700/900123", True),
        ("visit-203.0.113.2", True),  # an IPv4 address
        ("v1.2.3", False),
        ("1.2.3.4.5", False),
        ("order-5001", False),
        ("1234567", False),  # digits alone: an order number as well as a phone
        ("+123", False),
        ("a@b", False),
        ("x+y", False),
        ("", False),
    ],
)
def test_what_a_key_holding_personal_data_looks_like(value: str, pii: bool) -> None:
    assert looks_pii(value) is pii
    assert duckdb.sql(f"SELECT {pii_value_sql('$v$' + value + '$v$')}").fetchone() == (pii,)


@pytest.mark.parametrize(
    ("name", "pii"),
    [
        ("email", True),
        ("user_email", True),
        ("E_Mail", True),
        ("customer_phone", True),
        ("msisdn", True),
        ("ip", True),
        ("client_ip", True),
        ("clientIp", True),
        ("ipAddress", True),
        ("e-mail", True),
        ("shipping_id", False),
        ("order_id", False),
        ("lead_key", False),
        ("tip_amount", False),
        ("telemetry_id", False),
    ],
)
def test_what_a_key_column_named_after_personal_data_looks_like(name: str, pii: bool) -> None:
    assert pii_name(name) is pii


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab.-_+@%40 2B()/\n\u00a09é٣", max_size=30))
def test_duckdb_and_python_find_the_same_keys(value: str) -> None:
    """The plan tests keys in DuckDB (RE2), ``retl show`` tests a typed key in Python: one
    pattern, read alike by both (ASCII classes: Python's ``\\d`` would take ``٣``)."""
    got = duckdb.execute(f"SELECT {pii_value_sql('$1')}", [value]).fetchone()
    assert got == (looks_pii(value),)


def lead_model(rows: int = 3, *, invalid: int | None = None) -> str:
    """Keys made of an e-mail, event ids of a phone number; no column is called either, and
    the platform sends neither as a customer-information field."""
    event = (
        f"case when i = {invalid} then null else 'Purchase' end"
        if invalid is not None
        else ("'Purchase'")
    )
    return (
        "{{ config(primary_key='lead_key') }} "
        f"select {event} as event, {NOW} as event_time, "
        "'lead-person' || i || '@example.com' as lead_key, "
        "'call-+1 213 373 42' || (10 + i) as event_id "
        f"from range({rows}) t(i)"
    )


def test_a_key_and_an_event_id_holding_personal_data_are_logged_hashed(
    server: SandboxServer, tmp_path: Path
) -> None:
    project = events_project(
        tmp_path,
        server.base_url,
        select=lead_model(3, invalid=2),
        extra="skip_invalid_record: true",
    )
    planned = invoke_in_process("plan", "--project-dir", project, "--format", "json")
    assert planned.returncode == 0, planned.stderr
    assert "@example.com" not in planned.stdout and "+1 213" not in planned.stdout
    assert masked_key("lead-person2@example.com") in planned.stdout  # the invalid row
    sync(project)
    logged = log_rows(project)
    assert len(logged) == 3
    assert {r[1] for r in logged} == {masked_key(f"lead-person{i}@example.com") for i in range(3)}
    sent = {r[2] for r in logged if r[3] == "accepted"}
    assert sent == {masked_key(f"call-+1 213 373 42{10 + i}") for i in range(2)}
    for typed in ("lead-person1@example.com", "call-+1 213 373 4211"):
        found = invoke_in_process("runs", "find", typed, "--project-dir", project)
        assert found.returncode == 0, found.stderr
        assert "accepted" in found.stdout and masked_key("lead-person1@example.com") in found.stdout
        assert "@example.com" not in found.stdout and "+1 213" not in found.stdout
    shown = invoke_in_process("runs", "--project-dir", project, "--format", "json")
    listed = orjson.loads(shown.stdout)["runs"]
    detail = invoke_in_process("runs", "show", listed[0]["run_id"], "--project-dir", project)
    assert detail.returncode == 0, detail.stderr
    assert "@example.com" not in detail.stdout + shown.stdout


def test_a_key_column_named_after_personal_data_is_logged_hashed(
    server: SandboxServer, tmp_path: Path
) -> None:
    """A national number carries no ``+`` to be found by: the column's name says it."""
    project = events_project(
        tmp_path,
        server.base_url,
        select=(
            "{{ config(primary_key='customer_phone') }} "
            f"select 'Purchase' as event, {NOW} as event_time, "
            "'07700 9001' || (10 + i) as customer_phone from range(2) t(i)"
        ),
    )
    sync(project)
    assert {r[1] for r in log_rows(project)} == {masked_key(f"07700 9001{10 + i}") for i in (0, 1)}


def test_a_plain_key_is_logged_as_it_is(server: SandboxServer, tmp_path: Path) -> None:
    project = events_project(tmp_path, server.base_url, rows=2)
    sync(project)
    assert {(r[1], r[2]) for r in log_rows(project)} == {("order-0",) * 2, ("order-1",) * 2}


@pytest.mark.usefixtures("no_network")
def test_show_payload_never_echoes_a_typed_or_example_key_holding_personal_data(
    tmp_path: Path,
) -> None:
    root = write_project(
        tmp_path,
        {
            "models/leads.sql": lead_model(2),
            "destinations.yml": (
                "destinations:\n"
                "  t:\n"
                "    type: tiktok_events\n"
                "    model: leads\n"
                "    access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"\n"
                "    event_source_id: CPIXEL\n"
            ),
        },
    )
    with Project.load(root) as p:
        (found,) = p.payload("leads", "lead-person1@example.com")
        assert found.key == masked_key("lead-person1@example.com") and found.body is not None
        for typed in ("lead-bob@example.com", "nobody"):
            with pytest.raises(UsageError) as info:
                p.payload("leads", typed)
            text = "\n".join(pr.render() for pr in info.value.problems)
            assert "@example.com" not in text, text
            assert "keys look like" not in text  # the model's keys are e-mails: none shown


def test_a_row_the_platform_rejects_is_reported_by_its_hashed_key(
    server: SandboxServer, tmp_path: Path
) -> None:
    """The rejected rows of a run's report listed their keys raw, a platform-hashed
    ``email`` key too."""
    project = events_project(
        tmp_path,
        server.base_url,
        select=(
            "{{ config(primary_key='email') }} "
            f"select 'Purchase' as event, {NOW} as event_time, "
            "'person' || i || '@example.com' as email from range(3) t(i)"
        ),
    )
    server.faults.script(("partial", [1]))
    synced = invoke_in_process("sync", "--project-dir", project, "-y", "--format", "json")
    assert "rejected" in synced.stdout + synced.stderr
    assert "@example.com" not in synced.stdout + synced.stderr
    assert masked_key("person1@example.com") in synced.stdout
    for report in (project / ".retl" / "runs").glob("*.json"):
        assert "@example.com" not in report.read_text(encoding="utf-8")


def test_a_key_named_after_personal_data_stays_hashed_beside_phones_and_in_event_ids(
    server: SandboxServer, tmp_path: Path
) -> None:
    """A phone column makes the platform build its plan again (the phone pre-pass), which
    dropped the name's verdict; an event id holding such a key was logged beside its hash."""
    project = events_project(
        tmp_path,
        server.base_url,
        select=(
            "{{ config(primary_key='customer_phone') }} "
            f"select 'Purchase' as event, {NOW} as event_time, '+12133734253' as phone, "
            "'07700 9001' || (10 + i) as customer_phone, "
            "'evt-' || customer_phone as event_id from range(2) t(i)"
        ),
    )
    sync(project)
    logged = {(r[1], r[2]) for r in log_rows(project)}
    assert logged == {
        (masked_key(f"07700 9001{i}"), masked_key(f"evt-07700 9001{i}")) for i in (10, 11)
    }


def test_the_test_events_feed_and_samples_mask_what_is_sent_in_clear(
    server: SandboxServer, tmp_path: Path
) -> None:
    """Phone numbers and IP addresses in a free text, and an event id holding a phone
    number, as the sandbox's feed and the plan's samples show them."""
    from reverse_etl.sandbox.feed import read_feed

    project = events_project(
        tmp_path,
        server.base_url,
        select=(
            f"select 'Purchase' as event, {NOW} as event_time, "
            "'call-+1 213 373 42' || (10 + i) as event_id, "
            "'callback +1 213 373 4253 from 203.0.113.9' as description from range(2) t(i)"
        ),
    )
    planned = invoke_in_process("plan", "--project-dir", project, "--format", "json")
    assert planned.returncode == 0, planned.stderr
    assert "+1 213" not in planned.stdout and "203.0.113" not in planned.stdout
    assert "callback +1*** from 203.***.***.***" in planned.stdout
    samples = [e for d in orjson.loads(planned.stdout)["destinations"] for e in d["samples"]]
    ids = {masked_key(f"call-+1 213 373 42{i}") for i in (10, 11)}
    assert {e["event_id"] for e in samples} == ids  # as the log shows them (hashed once)
    synced = invoke_in_process("sync", "--project-dir", project, "-y", "--sandbox")
    assert synced.returncode == 0, synced.stderr
    feed = read_feed(project / ".retl" / "sandbox" / "feed.jsonl", limit=10)
    assert len(feed) == 2
    text = orjson.dumps(feed).decode()
    assert "+1 213" not in text and "203.0.113" not in text
    assert {r["event_id"] for r in feed} == {masked_key(f"call-+1 213 373 42{i}") for i in (10, 11)}


def test_a_platform_message_quoting_personal_data_is_logged_masked() -> None:
    """The delivery log kept a platform's message as it came (``invalid value 203.0.113.7``):
    shown by ``retl runs show``, the JSON report and the local page."""
    import pyarrow as pa

    from reverse_etl.delivery.batching import Batch
    from reverse_etl.destinations.meta.responses import MetaOutcome
    from reverse_etl.pipeline.deliverylog import LogRows

    answer = MetaOutcome(
        "invalid",
        100,
        "invalid value 203.0.113.7 for +1 415 555 0134 (ann@example.com)",
        "trace",
        None,
        400,
    )
    batch = Batch(pa.array(["k1"]), pa.array(["h"]), pa.array([b"{}"]), pa.array(["e1"]))
    logged = LogRows("run", mask_keys=False, event_id_field="event_id").batch(
        batch, "rejected", answer
    )
    message = str(logged.messages)
    assert "203.0.113.7" not in message and "415 555" not in message, message
    assert "ann@example.com" not in message and "203.***.***.***" in message
