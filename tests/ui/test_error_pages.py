"""retl ui's pages say an error as the CLI does: each problem at its file (relative to the
project), line and key, with its own hint, not the summary with the first problem's hint."""

from __future__ import annotations

from pathlib import Path

from reverse_etl.project import Project
from reverse_etl.scaffold import init_project
from reverse_etl.ui import UiApp


def _project(tmp_path: Path) -> tuple[Path, int]:
    """A scaffolded project whose destination's primary_key names no column of its model,
    and the line that key is written on."""
    root = tmp_path / "p"
    init_project(root)
    dests = root / "destinations.yml"
    text = dests.read_text().replace(
        "    model: purchase_events\n", "    model: purchase_events\n    primary_key: nope\n", 1
    )
    dests.write_text(text)
    line = text.splitlines().index("    primary_key: nope") + 1
    return root, line


def test_the_plan_page_names_the_problem_at_its_file_line_and_key(tmp_path: Path) -> None:
    root, line = _project(tmp_path)
    with Project.load(root) as p:
        page = UiApp(p, title="t").handle("/plan", {"compute": "1", "sandbox": "1"}).body.decode()
    error = page.split('<div class="error">', 1)[1].split("</div>", 1)[0]
    assert f"destinations.yml:{line} destinations.tiktok_purchases.primary_key:" in error
    assert "primary key column &#x27;nope&#x27; is not in the model" in error
    assert str(root) not in page  # relative to the project, as the CLI says it


def test_a_page_of_a_project_that_cannot_be_read_names_the_file_and_line(
    tmp_path: Path,
) -> None:
    root, _ = _project(tmp_path)
    (root / "models" / "purchase_events.sql").write_text("select 1 as a\n{{ ref('gone') }}\n")
    with Project.load(root) as p:
        page = UiApp(p, title="t").handle("/destinations/tiktok_purchases", {}).body.decode()
    error = page.split('<div class="error">', 1)[1].split("</div>", 1)[0]
    assert "models/purchase_events.sql:2: ref(&#x27;gone&#x27;): no model named" in error
    assert str(root) not in page


def test_the_destination_page_says_where_each_diagnostic_is(tmp_path: Path) -> None:
    root, _ = _project(tmp_path)
    text = (
        (root / "destinations.yml")
        .read_text()
        .replace("event_data_source: WEB", "event_data_source: web")
    )
    (root / "destinations.yml").write_text(text)
    line = text.splitlines().index("    event_data_source: web") + 1
    (root / "models" / "purchase_events.sql").write_text("select nope from\n")
    with Project.load(root) as p:
        page = UiApp(p, title="t").handle("/destinations/tiktok_purchases", {}).body.decode()
    diagnostics = page.split('id="diagnostics"', 1)[1].split("</table>", 1)[0]
    assert "<th>where</th>" in diagnostics
    assert "<td>models/purchase_events.sql:1</td>" in diagnostics
    where = f"destinations.yml:{line} destinations.tiktok_purchases.event_data_source"
    assert f"<td>{where}</td>" in diagnostics
    assert str(root) not in page
