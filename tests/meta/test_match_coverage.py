"""Meta's plan and sync print a match-coverage line as TikTok's do (shared/coverage.py), and
warn when phones without + or 00 were read, with no default_phone_region, as starting with
their country code: how many rows, and the fix in destinations.yml. No raw phone printed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.project import Project
from reverse_etl.sandbox import DEMO_META_PIXEL_ID, DEMO_META_TOKEN
from tests.conftest import CliResult, write_project
from tests.meta.helpers import one, sha

NOW = int(time.time()) - 3600
# Five rows to send: e-mail and an E.164 phone on 1; digits alone on 2 and 3 (read with
# their country code: +1 213 ...); fbc on 4; only the user agent on 5. Strong keys on 1-4.
MODEL = f"""
select 'Purchase' as event, {NOW} as event_time, 'e-' || i as event_id, 'USD' as currency,
       9.5 as value,
       'https://shop.example/done' as page_url, 'Mozilla/5.0' as user_agent,
       case when i = 1 then 'a@example.com' end as email,
       case when i = 1 then '+12133734253' when i = 2 then '12133734253'
            when i = 3 then '1.213.373.4253' end as phone,
       case when i = 4 then 'fb.1.1558571054389.AbCdEfGh' end as fbc
from range(1, 6) t(i)
"""
COVERAGE = (
    "meta_web: match coverage 80% (4 of 5 rows to send carry email, phone, external_id, fbc, "
    "lead_id, fb_login_id or madid); email 20%, phone 60%, user_agent 100%, fbc 20%, "
    "other keys 0%"
)
WARNING = (
    "meta_web: 2 row(s) to send have a phone written without + or 00, read as including its "
    "country code (Meta's documented form; no default_phone_region is set): if they are "
    "national numbers, set default_phone_region under destinations.meta_web in "
    "destinations.yml, or write them in E.164 with + and the country code"
)


def _project(root: Path, region: str = "") -> Path:
    setting = f"default_phone_region: {region}" if region else ""
    return write_project(
        root,
        {
            "retl_project.yml": "name: coverage\n",
            "models/ev.sql": MODEL,
            "destinations.yml": f"""
                destinations:
                  meta_web:
                    type: meta_conversions
                    model: ev
                    pixel_id: "{DEMO_META_PIXEL_ID}"
                    access_token: {DEMO_META_TOKEN}
                    action_source: website
                    {setting}
            """,
        },
    )


def _printed(result: CliResult) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return " ".join((result.stdout + result.stderr).split())


@pytest.mark.parametrize("command", [["plan"], ["sync", "--sandbox"]], ids=["plan", "sync"])
def test_plan_and_sync_print_meta_coverage_and_the_phone_warning(
    tmp_path: Path, cli: Callable[..., CliResult], command: list[str]
) -> None:
    printed = _printed(cli(*command, "--project-dir", _project(tmp_path)))
    assert COVERAGE in printed
    assert WARNING in printed
    for raw in ("2133734253", "213.373"):  # the phones, never printed
        assert raw not in printed


def test_the_report_carries_meta_coverage_and_no_warning_with_a_region(tmp_path: Path) -> None:
    with Project.load(_project(tmp_path, "US")) as project:
        (plan,) = project.plan()
    assert plan.match_keys is not None
    data = plan.match_keys.to_dict()
    assert (data["rows_to_send"], data["coverage"], data["keys"]["phone"]["rows"]) == (5, 0.8, 3)
    assert data["warnings"] == [] and plan.match_keys.warnings == ()


def test_the_report_counts_the_phones_read_with_their_country_code(tmp_path: Path) -> None:
    with Project.load(_project(tmp_path)) as project:
        (plan,) = project.plan()
    assert plan.match_keys is not None
    assert plan.to_dict()["match_keys"]["warnings"] == [WARNING.removeprefix("meta_web: ")]


def _email_bit() -> int:
    from reverse_etl.destinations.meta.match import MATCH_KEYS

    return 1 << next(i for i, p in enumerate(MATCH_KEYS) if p.name == "email")


@pytest.mark.parametrize(
    ("email", "carries"),
    [
        ("' A@Example.com '", True),
        ("'" + "ab" * 32 + "'", True),  # already a SHA-256
        ("'not-an-address'", False),  # sent, with its warning, but matches no one (as TikTok)
        ("'a@b'", False),
        ("'  '", False),
        ("NULL::VARCHAR", False),
        ("['not-an-address', 'a@example.com']", True),
        ("['not-an-address', '']", False),
    ],
)
def test_a_malformed_email_is_no_email_match_key(
    engine: DuckDBEngine, email: str, carries: bool
) -> None:
    row = one(engine, email=email)
    assert row["errors"] is None
    assert bool(row["match"] & _email_bit()) is carries


def test_a_malformed_email_is_still_sent_and_warned_about(engine: DuckDBEngine) -> None:
    row = one(engine, email="'not-an-address'")
    assert row["payload"]["user_data"]["em"] == sha("not-an-address")
    assert row["warnings"] == "email is not an e-mail address (sent, but matches no one)"
