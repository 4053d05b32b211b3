"""docs/meta.md: its generated tables match the settings model and the catalog."""

from __future__ import annotations

from pathlib import Path

from reverse_etl.destinations.meta import docs
from reverse_etl.destinations.meta.catalog import CATALOG
from reverse_etl.destinations.meta.config import MetaConfig

REPO = Path(__file__).resolve().parents[2]


def test_meta_docs_tables_match_the_catalog() -> None:
    text = (REPO / "docs" / "meta.md").read_text(encoding="utf-8")
    assert docs.render(text) == text, (
        "docs/meta.md is stale: run python -m reverse_etl.destinations.meta.docs docs/meta.md"
    )
    for name in MetaConfig.model_fields:
        assert f"| `{name}` |" in text
    for param in CATALOG.params:
        assert f"`{param.dotted}`" in text
    # The points the issue asks the page to make.
    for phrase in ("Authorization: Bearer", "never in a URL", "bisected", "190", "LDU"):
        assert phrase in text


def test_render_refreshes_a_stale_table() -> None:
    stale = "<!-- generated:columns -->\n| old |\n<!-- end:columns -->\n"
    fresh = docs.render(stale)
    assert "| old |" not in fresh and "`user_data.em`" in fresh
