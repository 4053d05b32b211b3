"""`retl state reset` without `--sandbox` after sandbox-only syncs forgot nothing and said
only that: the rows the user meant are in the sandbox state, which it now points to (as
`retl state show` does), and it still forgets nothing there."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult


def test_a_live_reset_that_forgets_nothing_points_to_the_sandbox_state(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    root = tmp_path / "shop"
    assert cli("init", root).returncode == 0
    assert cli("sync", "--sandbox", "--project-dir", root).returncode == 0
    live = cli("state", "reset", "--yes", "--project-dir", root)
    assert live.returncode == 0, live.stderr
    assert "'retl state reset --sandbox' forgets them" in live.stdout, live.stdout
    assert "holds 3 sent row(s)" in live.stdout
    kept = cli("state", "show", "--sandbox", "--project-dir", root)
    assert "tiktok_purchases" in kept.stdout  # the live reset left the sandbox state alone
    sandbox = cli("state", "reset", "--sandbox", "--yes", "--project-dir", root)
    assert sandbox.returncode == 0, sandbox.stderr
    assert "forgot 3 sent row(s)" in sandbox.stdout
    assert "state reset --sandbox" not in sandbox.stdout
    again = cli("state", "reset", "--yes", "--project-dir", root)
    assert "state reset --sandbox" not in again.stdout  # nothing left there to point to
