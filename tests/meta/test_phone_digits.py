"""Meta documents a phone as digits with its country code (``12133734253``, no ``+``). retl
made such a row invalid without a ``default_phone_region``, or with the region of another
country ("phone is not a valid phone number"); Meta's SDK sends those digits as they are.
Digits alone are now read as a country code and its number when they are no valid national
number of the default region (a national number of that region keeps its reading), for Meta
only: TikTok documents E.164 with its ``+``. A real sync to both emulators."""

from __future__ import annotations

import hashlib
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.project import Project
from reverse_etl.sandbox import (
    DEMO_META_PIXEL_ID,
    DEMO_META_TOKEN,
    DEMO_PIXEL_CODE,
    DEMO_TOKEN,
    SandboxServer,
)

NOW = int(time.time()) - 3600
PHONES = {
    "e-us": "12133734253",  # Meta's own example form
    "e-gb": "447911123456",
    "e-dotted": "1.213.373.4253",
    "e-national": "2133734253",  # a national number of the default region, when there is one
    "e-bad": "99999999999",  # no country 999
}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as srv:
        yield srv


def _sync(server: SandboxServer, root: Path, region: str | None, phone_sql: str) -> Any:
    rows = " UNION ALL ".join(
        f"SELECT '{k}' AS event_id, {phone_sql.format(phone=repr(v))} AS phone"
        for k, v in PHONES.items()
    )
    (root / "models").mkdir(parents=True)
    (root / "retl_project.yml").write_text("name: phones\n", encoding="utf-8")
    (root / "models" / "ev.sql").write_text(
        "SELECT 'Purchase' AS event, "
        f"{NOW} AS event_time, 'https://shop.example/done' AS page_url, 'Mozilla/5.0' AS "
        "user_agent, 'USD' AS currency, 1 AS value, 'a@example.com' AS email, event_id, phone "
        f"FROM ({rows}) AS t",
        encoding="utf-8",
    )
    # each destination's own setting, under its other keys
    setting = f"\n    default_phone_region: {region}" if region else ""
    (root / "destinations.yml").write_text(
        textwrap.dedent(
            f"""\
            destinations:
              tiktok:
                type: tiktok_events
                model: ev
                access_token: {DEMO_TOKEN}
                event_source_id: {DEMO_PIXEL_CODE}
                api_base_url: {server.base_url}
                skip_invalid_record: true
              meta:
                type: meta_conversions
                model: ev
                pixel_id: "{DEMO_META_PIXEL_ID}"
                access_token: {DEMO_META_TOKEN}
                action_source: website
                api_base_url: {server.base_url}
                skip_invalid_record: true
            """
        ).replace("skip_invalid_record: true", f"skip_invalid_record: true{setting}"),
        encoding="utf-8",
    )
    with Project.load(root) as project:
        report = project.sync()
    assert report.error is None, report.error
    meta = {e["data"]["event_id"]: e["data"]["user_data"].get("ph") for e in server.meta.events()}
    tiktok = {e["data"]["event_id"]: e["data"]["user"].get("phone") for e in server.events()}
    return meta, tiktok


def _one(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


@pytest.mark.parametrize("phone_sql", ["{phone}", "[{phone}]"], ids=["text", "list"])
def test_meta_reads_digits_alone_as_international_without_a_region(
    server: SandboxServer, tmp_path: Path, phone_sql: str
) -> None:
    meta, tiktok = _sync(server, tmp_path, None, phone_sql)
    sent = {k: _one(v) for k, v in meta.items()}
    assert sent["e-us"] == sha("12133734253")
    assert sent["e-gb"] == sha("447911123456")
    assert sent["e-dotted"] == sha("12133734253")
    # 2133734253 read as +213 (Algeria) 373 4253 is no valid number: invalid, not guessed
    assert "e-national" not in meta and "e-bad" not in meta
    # TikTok documents E.164 with its +: digits alone without a region stay invalid there
    assert tiktok == {}


def test_a_national_number_of_the_region_keeps_its_reading(
    server: SandboxServer, tmp_path: Path
) -> None:
    meta, tiktok = _sync(server, tmp_path, "US", "{phone}")
    sent = {k: _one(v) for k, v in meta.items()}
    assert sent["e-national"] == sent["e-us"] == sent["e-dotted"] == sha("12133734253")
    # not a US number: read as +44 for Meta (TikTok, as before: invalid)
    assert sent["e-gb"] == sha("447911123456") and "e-gb" not in tiktok
    assert "e-bad" not in meta
    assert _one(tiktok["e-national"]) == sha("+12133734253")
