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


def _listed_columns(text: str) -> set[str]:
    """The column names in the first cells of the columns table of ``text``."""
    table = text.split("<!-- generated:columns -->")[1].split("<!-- end:columns -->", maxsplit=1)[0]
    cells = [line.split(" | ")[0].removeprefix("| ") for line in table.splitlines()[3:]]
    return {name.strip("`") for c in cells for name in c.split(", ")}


def test_every_flat_column_name_is_in_the_columns_table() -> None:
    """A column named by an alias or by a flat payload path (``event_name``) is mapped: the
    columns table's first cell lists it beside the parameter's name, in the generator's
    table and in docs/meta.md."""
    flat = {name for name in CATALOG.by_column if "." not in name}
    assert "event_name" in flat
    generated = "<!-- generated:columns -->\n" + docs.columns_table() + "\n<!-- end:columns -->"
    assert flat <= _listed_columns(generated), sorted(flat - _listed_columns(generated))
    text = (REPO / "docs" / "meta.md").read_text(encoding="utf-8")
    assert flat <= _listed_columns(text), sorted(flat - _listed_columns(text))


def test_render_refreshes_a_stale_table() -> None:
    stale = "<!-- generated:columns -->\n| old |\n<!-- end:columns -->\n"
    fresh = docs.render(stale)
    assert "| old |" not in fresh and "`user_data.em`" in fresh
