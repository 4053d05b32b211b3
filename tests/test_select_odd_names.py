"""A destination's name with a space, a quote, ``<`` or a comma (destinations.yml allows any
key): selected by its name whole, in the library's run path, on ``retl ui``'s destination page
and by ``--select "destination:NAME"`` (models/select.tokens)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from reverse_etl.cli.options import selection
from reverse_etl.errors import UsageError
from reverse_etl.pipeline.history import command_text, reset_command_text
from reverse_etl.project import Project
from reverse_etl.ui.app import UiApp

NAMES = ["my dest", "q\"uo'te <b>x</b>", "café ✓", "a,b+"]


def _dest(name: str, pixel: int) -> str:
    key = name.replace("\\", "\\\\").replace('"', '\\"')
    return f"""
  "{key}":
    type: meta_conversions
    model: purchases
    pixel_id: "12345678901234{pixel:02d}"
    access_token: "{{{{ env_var('META_ACCESS_TOKEN') }}}}"
    action_source: system_generated
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, make_project: Any) -> Path:
    files = {
        "models/purchases.sql": """
            select 'Purchase' as event, 'order-1' as event_id,
                   now() - interval 1 hour as event_time, 'a@example.com' as email,
                   10.5 as value, 'USD' as currency
            """,
        "destinations.yml": "destinations:\n"
        + "".join(_dest(n, i) for i, n in enumerate(NAMES))
        + _dest("plain", 9),
    }
    return make_project(tmp_path_factory.mktemp("odd") / "shop", files)


@pytest.mark.parametrize("name", NAMES)
def test_a_destination_is_selected_by_its_whole_name(shop: Path, name: str) -> None:
    with Project.load(shop) as p:
        assert [d.name for d in p.destinations] == [*NAMES, "plain"]
        assert [d.name for d in p.select_destinations([f"destination:{name}"])] == [name]
        assert [v.destination for v in p.validate([f"destination:{name}"])] == [name]
        # the run path re-selects what the model picks: every name whole
        assert [v.destination for v in p.validate(["purchases"])] == [*NAMES, "plain"]
        assert [v.destination for v in p.validate(["purchases"], exclude=["plain"])] == NAMES


def test_the_plan_of_a_selection_names_each_destination_whole(shop: Path) -> None:
    with Project.load(shop) as p:
        plans = p.plan(["purchases"], exclude=["destination:plain"])
    assert [pl.name for pl in plans] == NAMES


def test_separate_selectors_still_add_up(shop: Path) -> None:
    with Project.load(shop) as p:
        assert [d.name for d in p.select_destinations(["destination:plain purchases"])] == [
            *NAMES,
            "plain",
        ]
        picked = p.select_destinations(["destination:plain", "destination:café ✓"])
    assert [d.name for d in picked] == ["café ✓", "plain"]


def test_state_reset_forgets_a_destination_named_whole(shop: Path) -> None:
    with Project.load(shop) as p:
        p.sync(["destination:my dest"], sandbox=True)
        assert p.state_reset(["destination:my dest"], sandbox=True) == {"my dest": 1}


@pytest.mark.parametrize("given", [["my dest"], ["destination:my dest tag:x"]])
def test_a_space_split_name_says_how_to_select_it_whole(shop: Path, given: list[str]) -> None:
    with Project.load(shop) as p, pytest.raises(UsageError) as caught:
        p.select_destinations(given)
    assert "named 'my'" in caught.value.message
    assert caught.value.hint == 'select it whole, as one argument: --select "destination:my dest"'


@pytest.mark.parametrize("name", NAMES)
def test_the_ui_destination_page_shows_the_mapping_of_an_odd_name(shop: Path, name: str) -> None:
    with Project.load(shop) as p:
        response = UiApp(p, title="t").handle(f"/destinations/{quote(name, safe='')}", {})
    text = response.body.decode()
    assert response.status == 200, text[:500]
    assert "--select" not in text
    assert "no destination named" not in text
    assert "<b>x</b>" not in text  # escaped
    assert "event_id" in text  # the mapping section is there


@pytest.mark.slow
def test_plan_selects_a_name_with_a_space_from_the_command_line(shop: Path, run_cli: Any) -> None:
    result = run_cli("plan", "--project-dir", shop, "--select", "destination:my dest")
    assert result.returncode == 0, result.stderr
    assert "my dest" in result.stdout
    assert "plain" not in result.stdout


def _selected(command: str, option: str = "--select") -> list[str]:
    """The values of ``option`` in ``command`` as a shell would pass them to retl."""
    words = shlex.split(command)
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word == option]


def test_the_run_history_s_command_selects_a_destination_named_whole(shop: Path) -> None:
    """It was saved as ``retl sync --select destination:my dest --sandbox``: copied back
    from ``retl runs`` or the page, the shell split the name ("no destination named 'my'")."""
    with Project.load(shop) as p:
        report = p.sync(["destination:my dest"], sandbox=True)
        command = next(r.command for r in p.runs() if r.run_id == report.run_id)
        assert command == "retl sync --select 'destination:my dest' --sandbox"
        again = selection(_selected(command))
        assert [d.name for d in p.select_destinations(again)] == ["my dest"]


@pytest.mark.parametrize("name", NAMES)
def test_a_saved_command_gives_back_each_argument_as_it_was(name: str) -> None:
    select = [f"destination:{name}", "tag:a tag:b"]  # the second: two selectors, one argument
    command = command_text(select, sandbox=True, full_refresh=True, limit=5)
    assert shlex.split(command) == [
        "retl",
        "sync",
        *("--select", select[0], "--select", select[1]),
        *("--sandbox", "--full-refresh", "--limit", "5"),
    ]
    reset = reset_command_text(select, [f"destination:{name}"], sandbox=False)
    assert _selected(reset) == select
    assert _selected(reset, "--exclude") == [f"destination:{name}"]
    assert command_text(["purchases"], sandbox=False, full_refresh=False, limit=None) == (
        "retl sync --select purchases"  # nothing to quote: as before
    )


def test_a_quoted_command_is_masked_as_before() -> None:
    """``retl runs`` and the page mask contacts in the command; the quotes do not hide them."""
    from reverse_etl.destinations.shared.pii_text import mask_text

    command = command_text(
        ["destination:jane.doe@example.com x"], sandbox=False, full_refresh=False, limit=None
    )
    assert mask_text(command) == "retl sync --select 'destination:j***@example.com x'"


def test_the_payload_hint_names_a_destination_with_a_space_as_one_argument(
    tmp_path: Path, make_project: Any
) -> None:
    files = {
        "models/purchases.sql": "select 'Purchase' as event, 'order-1' as event_id",
        "models/other.sql": "select 'Purchase' as event, 'order-1' as event_id",
        "destinations.yml": "destinations:\n" + _dest("my dest", 1),
    }
    root = make_project(tmp_path / "shop", files)
    with Project.load(root) as p, pytest.raises(UsageError) as caught:
        p.payload("other", "order-1", "my dest")
    hint = caught.value.problems[0].hint or ""
    assert shlex.split(hint)[-2:] == ["--destination", "my dest"], hint
