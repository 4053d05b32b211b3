"""retl ui's Plan page shows the warnings ``retl plan`` prints for a destination (a changed
mapping, match coverage below min_match_coverage, a column TikTok expects, ...), and its
notes ('web' read as 'WEB', the model not run), each at its file, line and key, escaped: it
showed none of them."""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path

from reverse_etl.cli.output import Output
from reverse_etl.cli.render import render_plan
from reverse_etl.pipeline.plan import MODEL_NOT_RUN
from reverse_etl.project import Project
from reverse_etl.reporting.console import NullConsole
from reverse_etl.scaffold import init_project
from reverse_etl.ui import UiApp
from reverse_etl.ui.plan import plan_section

DEST = "tiktok_purchases"


def _warned(tmp_path: Path) -> tuple[Path, int]:
    """A scaffolded project synced once to the sandbox, then its model's match keys are null
    and its page_url is renamed, under min_match_coverage 0.5; and that key's line."""
    root = tmp_path / "p"
    init_project(root)
    with Project.load(root) as p:
        assert p.sync(sandbox=True).ok
    model = root / "models" / "purchase_events.sql"
    text = model.read_text()
    for column in ("customer_email", "customer_phone", "customer_id"):
        text = text.replace(f"    {column} ", "    cast(null as varchar) ", 1)
    text = text.replace(
        "landing_url                 as page_url", "'x' as \"properties.landing\"", 1
    )
    model.write_text(text)
    dests = root / "destinations.yml"
    text = dests.read_text().replace("    # min_match_coverage:\n", "    min_match_coverage: 0.5\n")
    dests.write_text(text)
    return root, text.splitlines().index("    min_match_coverage: 0.5") + 1


def test_the_plan_page_shows_the_plan_s_warnings_where_they_are(tmp_path: Path) -> None:
    root, line = _warned(tmp_path)
    console = NullConsole()
    with Project.load(root, console=console) as p:
        page = UiApp(p, title="t").handle("/plan", {"compute": "1", "sandbox": "1"}).body.decode()
        console.lines.clear()  # then what `retl plan` says, to compare
        render_plan(Output("text", False, console, False, root=root), p.plan(sandbox=True))
    section = page.split(f'data-destination="{DEST}"', 1)[1].split("</section>", 1)[0]
    assert '<div class="warning">' in section, section
    box = section.split('<div class="warning">', 1)[1].split("</div>", 1)[0]
    shown = [x.removeprefix("<p>") for x in box.split("</p>") if x]
    changed = "the mapping changed since the last sync (column &#x27;properties.landing&#x27;"
    assert any(x.startswith(changed) for x in shown), shown  # escaped
    below = f"destinations.yml:{line} destinations.{DEST}.min_match_coverage: match coverage 0%"
    assert any(x.startswith(below) for x in shown), shown
    assert any("no page_url column" in x and x.startswith("destinations.yml:") for x in shown)
    assert str(root) not in page
    # The words `retl plan` prints, escaped as HTML (' is &#x27;)
    printed = [x.removeprefix("warning: ") for x in console.lines if x.startswith("warning: ")]
    # (the page names the min_match_coverage key the terminal's line leaves unsaid)
    located = below.removesuffix("match coverage 0%")
    for warning in shown:
        said = html.unescape(warning).removeprefix(located)
        assert f"{DEST}: {said}" in printed, (warning, printed)
    assert len(shown) == len(printed)


def test_the_plan_page_shows_the_destination_s_notes_where_they_are(tmp_path: Path) -> None:
    """'web' read as 'WEB' and 'the model was not run', which `retl plan` says as notes (and
    its JSON as `notes`), were not on the page."""
    root = tmp_path / "p"
    init_project(root)
    dests = root / "destinations.yml"
    text = dests.read_text().replace("    event_data_source: WEB\n", "    event_data_source: web\n")
    dests.write_text(text)
    line = text.splitlines().index("    event_data_source: web") + 1
    with Project.load(root) as p:
        page = UiApp(p, title="t").handle("/plan", {"compute": "1", "sandbox": "1"}).body.decode()
        (plan,) = p.plan(sandbox=True)
    section = page.split(f'data-destination="{DEST}"', 1)[1].split("</section>", 1)[0]
    assert '<div class="notes">' in section, section
    box = section.split('<div class="notes">', 1)[1].split("</div>", 1)[0]
    read = (
        f"destinations.yml:{line} destinations.{DEST}.event_data_source: &#x27;web&#x27; "
        "read as &#x27;WEB&#x27; (write event_data_source: WEB)"
    )
    assert box == f"<p>{read}</p>"  # escaped, at its file, line and key
    assert str(root) not in page
    # a plan whose diff was skipped says so, after the settings' notes
    skipped = str(plan_section(replace(plan, model_run=False), root))
    box = skipped.split('<div class="notes">', 1)[1].split("</div>", 1)[0]
    assert box == f"<p>{read}</p><p>{html.escape(MODEL_NOT_RUN)}</p>"
