"""Match coverage is written one way wherever retl shows it (shared/text.percent: rounded down, so
a coverage just under min_match_coverage never reads as equal to it): the sync's summary said
66.6% for 2 of 3 rows while `retl runs show` and the Runs page said 66.7%, and the
Destination page's chart 0.666667."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.cli.output import Output
from reverse_etl.cli.render import render_sync
from reverse_etl.project import Project
from reverse_etl.reporting.console import NullConsole
from reverse_etl.sandbox import SandboxServer
from reverse_etl.ui import UiApp
from tests.conftest import invoke_in_process
from tests.test_sync import NOW, SECRET, events_project

ENV = {"TIKTOK_ACCESS_TOKEN": SECRET}


def test_runs_show_and_the_runs_page_write_coverage_as_the_summary_does(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = (
        "select 'Purchase' as event, 'order-' || i as event_id, "
        f"{NOW} - i as event_time, "
        "case when i < 2 then 'user' || i || '@example.com' end as email, "
        "i * 1.5 as value, 'USD' as currency from range(3) t(i)"
    )
    project = events_project(tmp_path / "p", server.base_url, select=model)
    console = NullConsole()
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    with Project.load(project, console=console) as p:
        report = p.sync()
        render_sync(Output("text", False, console, False, root=project), report)
        run_id = report.run_id
        app = UiApp(p, title="t")
        page = app.handle(f"/runs/{run_id}", {}).body.decode()
        chart = app.handle("/destinations/tiktok", {}).body.decode().split('id="coverage-chart"')[1]
    said = "\n".join(console.lines)
    assert "match coverage 66.6%" in said, said
    shown = invoke_in_process("runs", "show", run_id, "--project-dir", project, env=ENV)
    assert shown.returncode == 0, shown.stderr
    assert "66.6%" in shown.stdout and "66.7%" not in shown.stdout, shown.stdout
    assert "66.6%" in page and "66.7%" not in page
    # the chart's point says it too (it said 0.666667)
    assert f"<title>coverage: 66.6% (run {run_id})</title>" in chart, chart
