"""examples/one_model_two_platforms: one model feeds a TikTok pixel and a Meta pixel.

Done-when of issue #14: it validates (each platform's columns a note for the other), syncs to
both emulators in one ``retl sync --sandbox``, and a second run sends 0 to each."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.project import Project

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "one_model_two_platforms"
ROWS = 28
META_ONLY = {"first_name", "last_name", "city", "state", "zip_code", "country", "referrer_url"}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(autouse=True)
def _no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TIKTOK_ACCESS_TOKEN", "TIKTOK_PIXEL_CODE", "META_ACCESS_TOKEN", "META_PIXEL_ID"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE, tmp_path / "p", ignore=shutil.ignore_patterns(".retl")))


def test_each_platform_notes_the_other_platforms_columns_and_sends_them_nowhere() -> None:
    with Project.load(EXAMPLE) as project:
        tiktok, meta = project.validate()
    assert tiktok.ok(strict=True) and meta.ok(strict=True)
    notes = {d.problem.message for d in tiktok.diagnostics if d.rule == "other-destination"}
    assert notes == {f"column {c}: a Meta parameter, not sent to TikTok" for c in META_ONLY}
    assert [d.problem.message for d in meta.diagnostics if d.rule == "other-destination"] == [
        "column ttclid: a TikTok parameter, not sent to Meta"
    ]
    assert {c.column for c in tiktok.columns if c.role == "other"} == META_ONLY
    assert {c.column for c in meta.columns if c.role == "other"} == {"ttclid"}
    # --format json names each platform's payload path under "field"
    fields = {row["column"]: row["field"] for row in meta.to_dict()["columns"]}
    assert fields["email"] == "user_data.em"


def test_the_same_rows_become_each_platforms_payload() -> None:
    with Project.load(EXAMPLE) as project:
        tiktok, meta = project.plan()
    assert (tiktok.rows_total, meta.rows_total) == (ROWS, ROWS)
    assert (tiktok.rows_invalid, meta.rows_invalid) == (0, 0), meta.invalid_reasons
    first_tiktok, first_meta = tiktok.samples[0], meta.samples[0]
    # web-ev-0001: customer c-101, " Maya.Lopez@Example.com ", "+1 (415) 555-0134", Maya
    # López of San Francisco, CA 94110-2207, US.
    assert first_tiktok["event_id"] == first_meta["event_id"] == "web-ev-0001"
    assert first_tiktok["user"]["email"] == sha("maya.lopez@example.com")
    assert first_tiktok["user"]["phone"] == sha("+14155550134")
    assert not META_ONLY & set(first_tiktok["user"]) and "first_name" not in str(first_tiktok)
    user = first_meta["user_data"]
    assert user["em"] in (sha("maya.lopez@example.com"), [sha("maya.lopez@example.com")])
    assert user["ph"] in (sha("14155550134"), [sha("14155550134")])
    assert user["fn"] == sha("maya")
    assert user["ct"] == sha("sanfrancisco")
    assert user["st"] == sha("ca")
    assert user["zp"] == sha("94110")
    assert user["country"] == sha("us")
    assert user["client_user_agent"] == "M***"  # never hashed; masked in a printed sample
    assert first_meta["event_name"] == "ViewContent"
    assert first_meta["action_source"] == "website"
    assert first_meta["event_source_url"].startswith("https://shop.example.com/")
    assert "ttclid" not in first_meta and "ttclid" not in user  # TikTok's click ID


def _sync(project_dir: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("ACCESS_TOKEN")}
    proc = subprocess.run(
        [sys.executable, "-m", "reverse_etl", "sync", "--sandbox", "--format", "json"],
        cwd=project_dir,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    document: dict[str, Any] = json.loads(proc.stdout)
    return document


@pytest.mark.slow
def test_one_sandbox_sync_reaches_both_emulators_and_a_second_sends_nothing(
    project_dir: Path,
) -> None:
    first = _sync(project_dir)
    sent = {d["destination"]: d["events"]["sent"] for d in first["destinations"]}
    assert first["ok"] and sent == {"tiktok_pixel": ROWS, "meta_pixel": ROWS}
    with Project.load(project_dir) as project:  # the emulators' own count, via the report file
        report = json.loads(Path(first["report_file"]).read_text(encoding="utf-8"))
        assert project.state_show(sandbox=True)
    assert report["ok"]
    second = _sync(project_dir)
    resent = {d["destination"]: d["events"]["sent"] for d in second["destinations"]}
    unchanged = {d["destination"]: d["rows"]["unchanged"] for d in second["destinations"]}
    assert resent == {"tiktok_pixel": 0, "meta_pixel": 0}
    assert unchanged == {"tiktok_pixel": ROWS, "meta_pixel": ROWS}


def test_both_emulators_accept_every_event(project_dir: Path) -> None:
    with Project.load(project_dir) as project:
        report = project.sync(sandbox=True)
    assert report.ok
    summary = report.sandbox_summary
    assert summary["events_accepted"] == ROWS  # TikTok
    assert summary["meta"]["events_accepted"] == ROWS
    assert summary["meta"]["security_violations"] in ({}, {"token_in_query": 0})
