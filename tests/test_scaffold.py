"""``retl init``: a project that works as written, documents every parameter, overwrites nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from reverse_etl import ConfigError, Project
from reverse_etl.config.docstrings import field_doc
from reverse_etl.destinations.tiktok.config import TikTokConfig
from reverse_etl.scaffold import destinations_template, init_project

EXPECTED_FILES = [
    "retl_project.yml",
    "destinations.yml",
    "models/purchase_events.sql",
    "data/orders.csv",
    ".gitignore",
]


def test_init_writes_a_working_project(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("TIKTOK_ACCESS_TOKEN", raising=False)
    root = tmp_path / "shop"
    written = init_project(root)
    assert written == [root / name for name in EXPECTED_FILES]
    assert all(p.is_file() for p in written)
    assert ".retl/" in (root / ".gitignore").read_text().splitlines()

    with Project.load(root) as project:
        assert project.config.name == "my_retl_project"
        (compiled,) = project.compile()
        assert compiled.model.primary_key == ("event_id",)
        preview = project.preview("purchase_events")
        assert len(preview.rows) == 3
        row = dict(zip(preview.columns, preview.rows[0], strict=True))
        assert row["event_id"] == "order-1001"
        assert row["value"] == Decimal("42.50")
        assert preview.types[preview.columns.index("event_time")] == "timestamp[us]"
        # destinations.yml loads without the token: it is resolved only when sending.
        (dest,) = project.destinations
        assert (dest.name, dest.type, dest.model) == (
            "tiktok_purchases",
            "tiktok_events",
            "purchase_events",
        )
        assert dest.settings.access_token is not None
        assert not dest.settings.access_token.is_available()
        monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "from-env")
        assert dest.settings.access_token.reveal().get_secret_value() == "from-env"


def test_template_documents_every_tiktok_parameter() -> None:
    text = destinations_template()
    for name in TikTokConfig.model_fields:
        assert f"    {name}:" in text or f"    # {name}:" in text, name
        doc = field_doc(TikTokConfig, name)
        assert doc, name
        first_doc_words = " ".join(doc.split()[:3])
        assert first_doc_words in " ".join(text.split()), name


def test_init_into_an_existing_directory_with_other_files(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("hello\n")
    init_project(tmp_path)
    assert (tmp_path / "README.md").read_text() == "hello\n"
    assert (tmp_path / "retl_project.yml").is_file()


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text("mine\n")
    with pytest.raises(ConfigError) as info:
        init_project(tmp_path)
    (problem,) = info.value.problems
    assert problem.file == tmp_path / "data" / "orders.csv"
    assert problem.message == f"{tmp_path / 'data' / 'orders.csv'} already exists"
    assert (tmp_path / "data" / "orders.csv").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["data", "orders.csv"]


def test_init_onto_a_file_is_a_user_error(tmp_path: Path, cli) -> None:
    target = tmp_path / "not_a_dir"
    target.write_text("x")
    result = cli("init", target)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {target}: {target} exists and is not a directory "
        "(choose a new or empty directory)\n"
    )


def test_init_json_output(tmp_path: Path, cli) -> None:
    result = cli("init", tmp_path / "p", "--format", "json")
    assert result.returncode == 0
    document = json.loads(result.stdout)
    assert document == {
        "ok": True,
        "created": [str(tmp_path / "p" / name) for name in EXPECTED_FILES],
        "warnings": [],
    }
