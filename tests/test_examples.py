"""The projects under ``examples/``: each plans without invalid rows, syncs every row to the
sandbox, and produces the payload shape its TikTok event source needs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.project import Project

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HEX64 = re.compile(r"[0-9a-f]{64}")


def _hashed(values: Any) -> bool:
    items = values if isinstance(values, list) else [values]
    return bool(items) and all(isinstance(v, str) and HEX64.fullmatch(v) for v in items)


def _check_web(ev: dict[str, Any]) -> None:
    assert ev["event"] in {"ViewContent", "AddToCart", "Purchase"}
    assert ev["page"]["url"].startswith("https://shop.example.com/")
    user = ev["user"]
    # sent in clear, masked in a printed sample (pipeline/plan.sample_payloads)
    assert user["ip"] and user["user_agent"] == "M***"
    props = ev["properties"]
    assert props["content_type"] == "product" and props["currency"] in {"USD", "GBP", "EUR"}
    contents = props["contents"]
    assert contents and all(isinstance(c["content_id"], str) for c in contents)
    assert all(isinstance(c["quantity"], int) and c["price"] > 0 for c in contents)
    assert props["value"] == pytest.approx(sum(c["price"] * c["quantity"] for c in contents))
    assert ("order_id" in props) == (ev["event"] == "Purchase")
    assert not {"app", "lead"} & ev.keys()


def _check_offline(ev: dict[str, Any]) -> None:
    assert ev["event"] in {"Purchase", "Contact"}
    assert "limited_data_use" not in ev
    assert not {"page", "app", "lead"} & ev.keys()
    assert {"email", "phone"} & ev["user"].keys()
    assert isinstance(ev["properties"]["shop_id"], str)
    if ev["event"] == "Purchase":
        assert isinstance(ev["properties"]["order_id"], str)
        assert ev["properties"]["currency"] == "USD"


def _check_crm(ev: dict[str, Any]) -> None:
    lead = ev["lead"]
    # a TikTok lead ID, sent as it is, masked in a printed sample (the catalog's masked)
    assert isinstance(lead["lead_id"], str) and lead["lead_id"] == "7***"
    assert lead["lead_event_source"] == "Salesforce"
    assert ev["event"] in {
        "Qualified",
        "Meeting Booked",
        "Proposal Sent",
        "Closed Won",
        "Closed Lost",
    }
    assert ev["event_id"].startswith("7") and ev["event_id"].endswith(
        "-" + ev["event"].lower().replace(" ", "_")
    )
    assert "limited_data_use" not in ev
    assert not {"page", "app"} & ev.keys()


def _check_app(ev: dict[str, Any]) -> None:
    assert ev["event"] in {"InstallApp", "LaunchAPP", "Purchase"}
    app = ev["app"]
    assert app["app_id"] in {"6450000001", "com.example.demoquest"}
    assert app["app_name"] == "Demo Quest" and app["app_version"]
    user = ev["user"]
    assert user["att_status"] in {"AUTHORIZED", "DENIED", "NOT_DETERMINED", "NOT_APPLICABLE"}
    if app["app_id"] == "com.example.demoquest":
        assert user["att_status"] == "NOT_APPLICABLE" and "idfa" not in user
    else:
        assert "gaid" not in user
        assert ("idfa" in user) == (user["att_status"] == "AUTHORIZED")
    assert user["ip"] and user["user_agent"]
    assert not {"page", "lead"} & ev.keys()


@dataclass(frozen=True)
class Example:
    name: str
    event_source: str
    rows: int
    check: Callable[[dict[str, Any]], None]

    @property
    def path(self) -> Path:
        return EXAMPLES / self.name

    def copy(self, tmp_path: Path) -> Path:
        """A private copy: syncs write state (.retl/), which must not land in the repo."""
        return Path(shutil.copytree(self.path, tmp_path / self.name, ignore=_IGNORE))


_IGNORE = shutil.ignore_patterns(".retl")


CASES = [
    Example("web_purchases", "web", 28, _check_web),
    Example("offline_store_visits", "offline", 21, _check_offline),
    Example("crm_lead_stages", "crm", 25, _check_crm),
    Example("app_installs", "app", 26, _check_app),
]


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    # The sandbox needs no secret: the examples must run without one.
    for var in (
        "TIKTOK_ACCESS_TOKEN",
        "TIKTOK_PIXEL_CODE",
        "TIKTOK_APP_ID",
        "TIKTOK_CRM_EVENT_SET_ID",
    ):
        monkeypatch.delenv(var, raising=False)


def test_every_example_is_covered() -> None:
    dirs = {p.parent.name for p in EXAMPLES.glob("*/retl_project.yml")}
    # one_model_two_platforms has its own tests (test_example_two_platforms.py)
    assert dirs == {c.name for c in CASES} | {"one_model_two_platforms"}


@pytest.mark.parametrize("example", CASES, ids=lambda c: c.name)
def test_example_files(example: Example) -> None:
    root = example.path
    assert (root / "README.md").is_file()
    assert f"--project-dir examples/{example.name}" in (root / "README.md").read_text()
    assert "env_var('TIKTOK_ACCESS_TOKEN')" in (root / "destinations.yml").read_text()
    sql = "\n".join(p.read_text() for p in (root / "models").rglob("*.sql"))
    assert "ref(" in sql and "source(" in sql
    for csv in (root / "data").glob("*.csv"):
        text = csv.read_text()
        emails = re.findall(r"[\w.+-]+@([\w.-]+)", text)
        assert all(d.lower() in {"example.com", "example.net", "example.org"} for d in emails)


@pytest.mark.parametrize("example", CASES, ids=lambda c: c.name)
def test_example_plans_and_syncs(example: Example, tmp_path: Path) -> None:
    path = example.copy(tmp_path)
    with Project.load(path) as project:
        (plan,) = project.plan()
        assert plan.destination.event_source == example.event_source
        assert plan.rows_total == example.rows
        assert plan.rows_invalid == 0, plan.invalid_reasons
        assert plan.samples
        for sample in plan.samples:
            for key in ("email", "phone", "external_id"):
                if key in sample.get("user", {}):
                    assert _hashed(sample["user"][key]), (key, sample)
            assert isinstance(sample["event_time"], int) and isinstance(sample["event_id"], str)
            example.check(sample)

    with Project.load(path) as project:
        report = project.sync(sandbox=True)
    assert report.ok
    (result,) = report.results
    assert result.event_source == example.event_source
    assert result.sent == example.rows
    assert (result.rows_invalid, result.rejected, result.failed) == (0, 0, 0)
    assert report.sandbox_summary["events_accepted"] == example.rows


@pytest.mark.parametrize("example", CASES, ids=lambda c: c.name)
def test_example_validates(example: Example) -> None:
    with Project.load(example.path) as project:
        (result,) = project.validate()
    assert result.ok(strict=True), result.problems
    assert all(c.role == "parameter" for c in result.columns)  # no custom columns


@pytest.mark.slow
def test_example_sync_cli_json(tmp_path: Path) -> None:
    example = CASES[1]  # offline: NAME lookup through the sandbox, oauth
    env = {k: v for k, v in os.environ.items() if k != "TIKTOK_ACCESS_TOKEN"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "reverse_etl",
            "sync",
            "--sandbox",
            "--project-dir",
            str(example.copy(tmp_path)),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True and doc["sandbox"] is True
    (dest,) = doc["destinations"]
    assert dest["event_source"] == "offline"
    assert dest["event_source_resolved"] == "found"
    assert dest["rows"] == {
        "total": example.rows,
        "skipped_invalid": 0,
        "new": example.rows,
        "changed": 0,
        "unchanged": 0,
        "changed_not_resent": 0,
        "double_counted": 0,
    }
    assert dest["events"]["sent"] == example.rows
