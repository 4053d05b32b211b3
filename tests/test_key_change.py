"""A destination whose row key changed since its last sync stops before anything is sent.

The state keeps each acknowledged row under its key's value only. Compared across a key
change, a row never sent whose new key equals an old key's value passed for one sent before
(held back with ``on_change: skip``, or outside the dedup window: never sent), while rows
sent before came out as new; the only word was "the mapping changed ... 0 row(s) sent
before will be sent again"."""

from __future__ import annotations

import shlex
from pathlib import Path

from tests.conftest import SANDBOX_TOKEN

MODEL = """{{ config(primary_key=%s) }}
select 'Purchase' as event, 'e-' || i::varchar as event_id, i::varchar as order_id,
  (i - 5)::varchar as content_id, TIMESTAMP '2026-12-05 12:00:00' as event_time,
  'https://x.example/p' as page_url
from range(0, {{ var('hi', 10) }}) t(i)
"""
DESTINATION = """destinations:
  tt:
    type: tiktok_events
    model: ev
    access_token: sandbox-token
    event_data_source: WEB
    target_event_source: ID
    event_source_id: CSANDBOXDEMOPIXEL001
    on_change: skip
%s"""


def _project(root: Path, model_key: str, dest_key: str | None) -> None:
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "models" / "ev.sql").write_text(MODEL % repr(model_key), encoding="utf-8")
    line = f"    primary_key: {dest_key}\n" if dest_key else ""
    (root / "destinations.yml").write_text(DESTINATION % line, encoding="utf-8")
    (root / "retl_project.yml").write_text("name: keys\n", encoding="utf-8")


def _sent(result_text: str) -> str:
    return next((row for row in result_text.splitlines() if "events sent" in row), "")


def test_a_changed_primary_key_stops_plan_and_sync_until_the_state_is_reset(tmp_path, cli) -> None:
    root = tmp_path / "p"
    _project(root, "order_id", "order_id")
    first = cli("sync", "--sandbox", "--yes", "--project-dir", root)
    assert first.returncode == 0, first.stderr
    assert "10/10 events sent" in first.stdout + first.stderr

    _project(root, "order_id", "content_id")  # content_id 0..4 equal order_id 5..9
    for args in (("plan",), ("sync", "--yes"), ("sync", "--yes", "--full-refresh")):
        result = cli(*args, "--sandbox", "--project-dir", root, "--vars", "{hi: 15}")
        assert result.returncode == 1, args
        said = result.stderr
        assert "error: destinations.yml:" in said and "destinations.tt.primary_key" in said
        assert "the row key changed since the last sync (order_id -> content_id)" in said
        assert "retl state reset --sandbox --select tt" in said
        assert _sent(result.stdout + said) == ""
    reset = cli("state", "reset", "--sandbox", "--select", "tt", "--yes", "--project-dir", root)
    assert reset.returncode == 0, reset.stderr
    again = cli("sync", "--sandbox", "--yes", "--project-dir", root, "--vars", "{hi: 15}")
    assert again.returncode == 0, again.stderr
    assert "15/15 events sent" in again.stdout + again.stderr  # not 10 "changed, not re-sent"
    plan = cli("plan", "--sandbox", "--project-dir", root, "--vars", "{hi: 15}")
    assert plan.returncode == 0, plan.stderr


def test_a_model_s_own_key_that_changed_is_named_in_the_model_file(tmp_path, cli) -> None:
    root = tmp_path / "p"
    _project(root, "order_id", None)
    assert cli("sync", "--sandbox", "--yes", "--project-dir", root).returncode == 0
    _project(root, "content_id", None)
    result = cli("plan", "--sandbox", "--project-dir", root)
    assert result.returncode == 1
    assert "error: models/ev.sql: tt: the row key changed" in result.stderr
    _project(root, "order_id", None)  # put back: as before
    assert cli("plan", "--sandbox", "--project-dir", root).returncode == 0


def test_a_renamed_destination_stops_until_its_old_state_is_kept_or_forgotten(
    tmp_path, cli
) -> None:
    """Its state is kept under the old name: renamed, every row went out again, unasked
    (a full refresh asks first), and 'state reset --select OLD' refused the old name."""
    root = tmp_path / "p"
    _project(root, "order_id", "order_id")
    assert cli("sync", "--sandbox", "--yes", "--project-dir", root).returncode == 0
    config = root / "destinations.yml"
    config.write_text(config.read_text().replace("  tt:", "  tt_new:"), encoding="utf-8")
    for args in (("plan",), ("sync", "--yes")):
        result = cli(*args, "--sandbox", "--project-dir", root)
        assert result.returncode == 1, args
        said = " ".join(result.stderr.split())
        assert "destinations.yml:2 destinations.tt_new: tt_new: nothing was sent" in said
        assert "the state holds 10 event(s) sent to the same event source by destination 'tt'" in (
            said
        )
        assert "retl state reset --sandbox --select tt" in said
        assert _sent(result.stdout + result.stderr) == ""
    reset = cli("state", "reset", "--sandbox", "--select", "tt", "--yes", "--project-dir", root)
    assert reset.returncode == 0, reset.stderr
    assert "tt: forgot 10 sent row(s)" in reset.stdout + reset.stderr
    # 'tt' is gone from destinations.yml: its platform is not known, nor said to be TikTok's
    assert "10 event(s) the ad platform acknowledged before" in " ".join(reset.stderr.split())
    again = cli("sync", "--sandbox", "--yes", "--project-dir", root)
    assert again.returncode == 0, again.stderr
    assert "10/10 events sent" in again.stdout + again.stderr


def test_a_second_destination_to_the_same_event_source_is_no_rename(tmp_path, cli) -> None:
    root = tmp_path / "p"
    _project(root, "order_id", "order_id")
    assert cli("sync", "--sandbox", "--yes", "--project-dir", root).returncode == 0
    config = root / "destinations.yml"
    text = config.read_text()
    config.write_text(text + text.replace("destinations:\n", "").replace("  tt:", "  tt2:"))
    result = cli("sync", "--sandbox", "--yes", "--project-dir", root)
    assert result.returncode == 0, result.stderr


def test_a_renamed_model_whose_event_ids_are_derived_from_its_name_is_warned_of(
    tmp_path, cli
) -> None:
    """Without an event_id column, event ids are derived from '<model>:<key>': renamed, a row
    sent again went out under another event id, unsaid (the platform counted it twice)."""
    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "retl_project.yml").write_text("name: keys\n")
    model = (
        "select 'Purchase' as event, i::varchar as order_id, "
        "TIMESTAMP '2026-12-05 12:00:00' as event_time, i + {{ var('bump', 0) }} as value, "
        "'USD' as currency, 'https://x.example' as page_url from range(10) t(i)\n"
    )
    (root / "models" / "ev.sql").write_text(model)
    config = DESTINATION % "    primary_key: order_id\n"
    (root / "destinations.yml").write_text(config.replace("    on_change: skip\n", ""))
    assert cli("sync", "--sandbox", "--yes", "--project-dir", root).returncode == 0
    (root / "models" / "ev.sql").rename(root / "models" / "purchases.sql")
    text = (root / "destinations.yml").read_text().replace("model: ev", "model: purchases")
    (root / "destinations.yml").write_text(text)
    args = ("--sandbox", "--project-dir", root, "--vars", "{bump: 1}")
    said = "its model is now 'purchases' (it was 'ev')"
    assert said in cli("plan", *args).stderr
    first = cli("sync", "--yes", *args)
    assert first.returncode == 0 and said in first.stderr
    assert said not in cli("plan", *args).stderr  # the last sync's model is the new one


def test_a_model_s_name_selects_by_model_even_when_a_gone_destination_had_it(tmp_path, cli) -> None:
    """'--select NAME' is a model selector first: a destination gone from destinations.yml
    that had the model's name is reset only as destination:NAME (a review found the model's
    name resetting the gone destination instead of the model's)."""
    root = tmp_path / "p"
    _project(root, "order_id", "order_id")
    config = root / "destinations.yml"
    config.write_text(config.read_text().replace("  tt:", "  ev:"), encoding="utf-8")
    assert cli("sync", "--sandbox", "--yes", "--project-dir", root).returncode == 0
    config.write_text(config.read_text().replace("  ev:", "  tt:"), encoding="utf-8")
    refresh = ("sync", "--sandbox", "--yes", "--full-refresh", "--project-dir", root)
    assert cli(*refresh).returncode == 0  # tt is new: its first sync as a full refresh
    reset = ("state", "reset", "--sandbox", "--yes", "--project-dir", root, "--select")
    by_model = cli(*reset, "ev")
    assert by_model.returncode == 0, by_model.stderr
    assert "tt: forgot 10 sent row(s)" in by_model.stdout + by_model.stderr
    gone = cli(*reset, "destination:ev")
    assert gone.returncode == 0, gone.stderr
    assert "ev: forgot 10 sent row(s)" in gone.stdout + gone.stderr


def test_a_key_changed_after_a_sync_that_sent_nothing_is_taken(tmp_path, cli, server) -> None:
    """A first sync refused by the platform (a token it does not know): the key changed
    after it was refused as if rows had been sent under the old one. Nothing was
    acknowledged under it: the new key is taken (the refused run records no sync since
    tests/test_refused_run.py; an empty first sync below does, with its key)."""
    root = tmp_path / "p"

    def project(key: str, token: str) -> None:
        _project(root, "order_id", key)
        config = root / "destinations.yml"
        text = config.read_text().replace("sandbox-token", token)
        config.write_text(text + f"    api_base_url: {server.base_url}\n", encoding="utf-8")

    project("order_id", "not-the-token")
    refused = cli("sync", "--yes", "--project-dir", root)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "access_token" in refused.stderr
    assert server.events() == []
    project("event_id", SANDBOX_TOKEN)  # the right token, another key
    plan = cli("plan", "--project-dir", root)
    assert plan.returncode == 0, plan.stderr
    again = cli("sync", "--yes", "--project-dir", root)
    assert again.returncode == 0, again.stderr
    assert "10/10 events sent" in again.stdout + again.stderr
    # the key of that sync is the one compared with from now on
    project("order_id", SANDBOX_TOKEN)
    moved = cli("plan", "--project-dir", root)
    assert moved.returncode == 1
    assert "the row key changed since the last sync (event_id -> order_id)" in moved.stderr


def test_a_key_changed_after_a_first_sync_with_nothing_to_send_is_taken(tmp_path, cli) -> None:
    """A first sync of an empty model is a sync: it records its run and its key. Nothing
    was acknowledged under that key: a key changed after it is taken."""
    root = tmp_path / "p"
    _project(root, "order_id", "order_id")
    empty = cli("sync", "--sandbox", "--yes", "--project-dir", root, "--vars", "{hi: 0}")
    assert empty.returncode == 0, empty.stderr
    shown = cli("state", "show", "--sandbox", "--project-dir", root)
    assert shown.returncode == 0 and "tt" in shown.stdout, shown.stderr  # recorded
    _project(root, "order_id", "event_id")
    again = cli("sync", "--sandbox", "--yes", "--project-dir", root)
    assert again.returncode == 0, again.stderr
    assert "10/10 events sent" in again.stdout + again.stderr


def _suggested(said: str, start: str) -> list[str]:
    """The command a message suggests in single quotes, from ``start``, as a shell splits it."""
    text = " ".join(said.split())
    at = text.index(start)
    tail = text[at:]
    # the suggestion ends at the closing single quote that follows a complete shell word
    for end in range(len(start), len(tail) + 1):
        try:
            words = shlex.split(tail[:end])
        except ValueError:
            continue
        if end < len(tail) and tail[end] == "'" and words[-1].startswith("destination:"):
            return words
    raise AssertionError(f"no complete command after {start!r} in {text!r}")


def test_the_hints_name_a_destination_with_a_space_as_one_argument(tmp_path, cli) -> None:
    """'--select my dest' split the name: the reset the hint gave picked nothing of it."""
    root = tmp_path / "p"
    _project(root, "order_id", "order_id")
    config = root / "destinations.yml"
    config.write_text(config.read_text().replace("  tt:", '  "my dest":'), encoding="utf-8")
    assert cli("sync", "--sandbox", "--yes", "--project-dir", root).returncode == 0

    _project(root, "order_id", "content_id")
    config.write_text(config.read_text().replace("  tt:", '  "my dest":'), encoding="utf-8")
    changed = cli("plan", "--sandbox", "--project-dir", root)
    assert changed.returncode == 1
    words = _suggested(changed.stderr, "retl state reset --sandbox --select ")
    assert words == ["retl", "state", "reset", "--sandbox", "--select", "destination:my dest"]

    config.write_text(config.read_text().replace('  "my dest":', '  "new dest":'), "utf-8")
    renamed = cli("plan", "--sandbox", "--project-dir", root)
    assert renamed.returncode == 1
    words = _suggested(renamed.stderr, "retl state reset --sandbox --select ")
    assert words[-1] == "destination:my dest"
    assert _suggested(renamed.stderr, "--full-refresh --select ")[-1] == "destination:new dest"
    assert _suggested(renamed.stderr, "--exclude ")[-1] == "destination:new dest"
    reset = cli(*words[1:], "--yes", "--project-dir", root)
    assert reset.returncode == 0, reset.stderr
    assert "my dest: forgot 10 sent row(s)" in reset.stdout + reset.stderr
