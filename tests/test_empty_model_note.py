"""A model that returns no rows (a WHERE clause that broke, say) is a visible note in plan's
and sync's summary, not an error: the exit code stays 0."""

from __future__ import annotations

import pytest

from tests.test_error_messages import EVENTS_SQL, project

NOTE = "tiktok_web: note: model 'events' returned no rows"


@pytest.mark.parametrize("command", [["sync", "--sandbox"], ["plan"]])
def test_a_model_with_no_rows_is_a_note_in_the_summary(command, tmp_path, make_project, cli):
    root = project(tmp_path, make_project, models={"events": EVENTS_SQL + "where total < 0\n"})
    result = cli(*command, "--project-dir", root, env={"TIKTOK_ACCESS_TOKEN": "test-token"})
    assert result.returncode == 0, result.stderr
    assert NOTE in result.stdout
    assert "check its WHERE clause" in result.stdout and "retl show events" in result.stdout
    assert "error" not in result.stdout + result.stderr


def test_a_model_with_rows_has_no_such_note_even_when_nothing_changed(tmp_path, make_project, cli):
    root = project(tmp_path, make_project)
    for _ in range(2):  # the second sync sends nothing: every row is unchanged
        result = cli("sync", "--sandbox", "--project-dir", root)
        assert result.returncode == 0, result.stderr
        assert "returned no rows" not in result.stdout + result.stderr
