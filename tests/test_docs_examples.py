"""The README and docs say what the code does: their example commands run as written (in
process, with the ``cli`` fixture), and what they claim of the CLI is true."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import shutil
from pathlib import Path

import orjson
import pytest

from reverse_etl.config.project import load_project_config
from reverse_etl.sandbox import SandboxServer
from reverse_etl.scaffold import init_project

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
EXAMPLE = ROOT / "examples" / "one_model_two_platforms"


@pytest.fixture(autouse=True)
def _no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TIKTOK_ACCESS_TOKEN", "META_ACCESS_TOKEN", "RETL_TARGET"):
        monkeypatch.delenv(var, raising=False)


def code_block(text: str, after: str, lang: str) -> str:
    """The first ```lang block after the text ``after``."""
    start = text.index(after)
    match = re.compile(rf"```{lang}\n(.*?)```", re.S).search(text, start)
    assert match is not None, f"no {lang} block after {after!r}"
    return match.group(1)


def table(output: str) -> dict[str, dict[str, str]]:
    """A plain console table (header, dashes, rows) as {first cell: {column: cell}}."""
    lines = output.splitlines()
    i = next(n for n, line in enumerate(lines) if line and set(line) <= {"-", " "})
    spans = [m.span() for m in re.finditer(r"-+", lines[i])]

    def cells(line: str) -> list[str]:
        ends = [*(s for s, _ in spans[1:]), None]
        return [line[s:e].strip() for (s, _), e in zip(spans, ends, strict=True)]

    header = cells(lines[i - 1])
    rows = {}
    for line in lines[i + 1 :]:
        if not line.strip() or not line.startswith(line.lstrip()):
            break
        values = cells(line)
        if not values[0]:
            break
        rows[values[0]] = dict(zip(header, values, strict=True))
    return rows


# --- README: the five-minute tutorial -----------------------------------------------------


def test_the_readme_tutorial_runs_as_written(tmp_path: Path, cli) -> None:
    block = code_block(README.read_text(), "## Five-minute tutorial", "bash")
    root: Path | None = None
    ran = 0
    for raw in block.splitlines():
        command, _, comment = raw.partition("  #")
        for part in (p.strip() for p in command.split("&&")):
            words = shlex.split(part)
            if words[0] == "cd":
                root = tmp_path / words[1]
                continue
            if words[0] == "sed":
                assert words[1] == "-i" and root is not None
                _, old, new, _ = words[2].split("/")
                path = root / words[3]
                text = path.read_text()
                assert old in text, f"the tutorial's sed finds nothing in {path}"
                path.write_text(text.replace(old, new, 1))
                continue
            assert words[0] == "retl", part
            if words[1] == "init":
                result = cli("init", tmp_path / words[2])
            else:
                assert root is not None
                result = cli(*words[1:], "--project-dir", root)
            ran += 1
            assert result.returncode == 0, (part, result.stderr)
            # The sample orders are recent: the first plan warns of no old event_time.
            assert "days old" not in result.stderr, (part, result.stderr)
            _check_comment(words, comment, result.stdout)
    assert ran >= 10
    assert root is not None
    # After the tutorial, the plain `state show` points to the sandbox's own state.
    shown = cli("state", "show", "--project-dir", root)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == (
        f"nothing sent yet ({root / '.retl' / 'state.duckdb'}); the state of 'retl sync "
        f"--sandbox' runs is kept apart: {root / '.retl' / 'sandbox-state.duckdb'} holds 3 "
        "sent row(s), shown by 'retl state show --sandbox'\n"
    )


def _check_comment(words: list[str], comment: str, stdout: str) -> None:
    """The figures a tutorial comment gives ("3 sent", "1 changed, 2 unchanged") are those
    of the command's summary table."""
    figures = dict((w, int(n)) for n, w in re.findall(r"(\d+) (sent|changed|unchanged)", comment))
    if words[1] == "state":
        row = table(stdout)["tiktok_purchases"]
        # both the configured pixel (the state's key) and the sandbox's that the run printed
        assert row["event source (configured)"] == "WEB:id:YOUR_PIXEL_CODE"
        assert row["sent to"] == "CSANDBOXDEMOPIXEL001"
        return
    if not figures:
        return
    row = table(stdout)["tiktok_purchases"]
    for column, expected in figures.items():
        assert int(row[column]) == expected, (words, column, row)


def test_init_sample_orders_are_recent_whenever_it_runs(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    init_project(tmp_path / "p")
    rows = (tmp_path / "p" / "data" / "orders.csv").read_text().splitlines()[1:]
    days = [dt.date.fromisoformat(r.split(",")[4].split()[0]) for r in rows]
    # the three days before today (or before tomorrow, if the clock passed midnight since)
    assert all(today - dt.timedelta(days=4) <= d < today + dt.timedelta(days=1) for d in days)
    assert days == sorted(days) and len(set(days)) == 3


def test_state_show_points_to_the_sandbox_state_and_shows_both_sources(tmp_path: Path, cli) -> None:
    root = tmp_path / "shop"
    assert cli("init", root).returncode == 0
    assert cli("sync", "--sandbox", "--project-dir", root).returncode == 0
    plain = cli("state", "show", "--project-dir", root)
    assert plain.returncode == 0, plain.stderr
    assert "shown by 'retl state show --sandbox'" in plain.stdout
    assert "holds 3 sent row(s)" in plain.stdout
    sandbox = cli("state", "show", "--sandbox", "--project-dir", root)
    row = table(sandbox.stdout)["tiktok_purchases"]
    assert (row["event source (configured)"], row["sent to"], row["rows sent"]) == (
        "WEB:id:YOUR_PIXEL_CODE",
        "CSANDBOXDEMOPIXEL001",
        "3",
    )


def test_init_dates_the_sample_orders_before_the_day_it_runs(tmp_path: Path) -> None:
    init_project(tmp_path / "p", today=dt.date(2031, 3, 1))  # the day `retl init` runs
    rows = (tmp_path / "p" / "data" / "orders.csv").read_text().splitlines()[1:]
    assert [r.split(",")[4] for r in rows] == [
        "2031-02-26 10:15:00",
        "2031-02-27 11:20:00",
        "2031-02-28 09:05:00",
    ]


# --- README: what it says of the commands -------------------------------------------------


def _commands_table() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Commands") : text.index("## Documentation")]
    return [row.split("|")[1].strip() for row in section.splitlines() if row.startswith("| `")]


def _help(cli, command: str) -> str:
    result = cli(*command.split(), "--help")
    assert result.returncode == 0, (command, result.stderr)
    return result.stdout


def _command_of(usage: str) -> str:
    """`retl state reset [--select NAME]` -> "state reset"."""
    words = []
    for word in usage.strip("`").split()[1:]:
        if not re.fullmatch(r"[a-z]+", word):
            break
        words.append(word)
    return " ".join(words)


def test_every_option_in_the_readme_commands_table_exists(cli) -> None:
    checked = 0
    for cell in _commands_table():
        for usage in re.findall(r"`(retl [^`]+)`", cell):
            command = _command_of(usage)
            text = _help(cli, command)
            for option in re.findall(r"--[a-z][a-z-]*", usage):
                assert option in text, f"README: `{usage}`, but retl {command} has no {option}"
                checked += 1
    assert checked >= 15


def test_the_readmes_shared_options_are_those_of_each_command(cli) -> None:
    text = " ".join(README.read_text().split())
    shared = re.search(
        r"Every command(?: that reads a project \(all but (.*?)\))? takes (.*?) after its name",
        text,
    )
    assert shared is not None, "README: the sentence on shared options is gone"
    excluded = set(re.findall(r"`(\w+)`", shared.group(1) or ""))
    options = re.findall(r"`(--[a-z-]+)", shared.group(2))
    commands = {_command_of(u) for c in _commands_table() for u in re.findall(r"`(retl [^`]+)`", c)}
    readers = sorted(c for c in commands if c.split()[0] not in excluded)
    assert "show" in readers and "state show" in readers
    for command in readers:
        help_text = _help(cli, command)
        for option in options:
            assert option in help_text, f"README: retl {command} takes {option}; it does not"
    selecting = re.search(r"((?:`[a-z ]+`(?:, | and ))+`[a-z ]+`) also take (.*?), with", text)
    assert selecting is not None, "README: the sentence on --select is gone"
    names = re.findall(r"`([a-z ]+)`", selecting.group(1))
    assert set(names) == {"compile", "validate", "check", "plan", "sync", "state reset"}
    for command in names:
        for option in re.findall(r"`(--[a-z-]+)`", selecting.group(2)):
            assert option in _help(cli, command), (command, option)
    # and the commands the sentence leaves out have no --select
    assert "--select" not in _help(cli, "show") and "--select" not in _help(cli, "state show")


PLACEHOLDERS = {
    "MODEL": "purchase_events",
    "M": "purchase_events",
    "SEL": "purchase_events",
    "NAME": "tiktok_purchases",
    "N": "1",
    "KEY": "order-1001",
}


def test_each_command_of_the_readme_table_runs(tmp_path: Path, cli) -> None:
    root = tmp_path / "shop"
    assert cli("init", root).returncode == 0
    ran = []
    for cell in _commands_table():
        for usage in re.findall(r"`(retl [^`]+)`", cell):
            command = _command_of(usage)
            if command in ("sandbox", "auth tiktok", "init", "ui"):
                continue  # serves until Ctrl-C; needs TikTok; run above
            words = [
                PLACEHOLDERS.get(w, w) for w in usage.replace("[", " ").replace("]", " ").split()
            ]
            if "RUN" in words:  # the newest run (the table's syncs come before)
                listed = cli("runs", "--format", "json", "--project-dir", root)
                run_id = orjson.loads(listed.stdout)["runs"][0]["run_id"]
                words = [run_id if w == "RUN" else w for w in words]
            # nothing reaches TikTok: sends and checks go to the in-process emulator
            if command in ("sync", "check") and "--dry-run" not in words:
                words += [] if "--sandbox" in words else ["--sandbox"]
            result = cli(*words[1:], "--project-dir", root)
            assert result.returncode == 0, (usage, words, result.stderr)
            ran.append(command)
    assert {"compile", "show", "plan", "check", "sync", "state show", "validate"} <= set(ran)
    assert "state reset" in ran


# --- docs/sandbox.md: sync against a standalone `retl sandbox` -----------------------------


def test_sandbox_docs_destinations_reach_a_standalone_sandbox(tmp_path: Path, cli) -> None:
    text = (DOCS / "sandbox.md").read_text()
    yml = code_block(text, "<!-- standalone-sandbox-destinations -->", "yaml")
    assert "http://127.0.0.1:8787" in yml
    root = Path(shutil.copytree(EXAMPLE, tmp_path / "p", ignore=shutil.ignore_patterns(".retl")))
    with SandboxServer(port=0) as server:
        (root / "destinations.yml").write_text(
            yml.replace("http://127.0.0.1:8787", server.base_url)
        )
        checked = cli("check", "--project-dir", root)
        assert checked.returncode == 0, checked.stderr
        synced = cli("sync", "--project-dir", root, "--format", "json")  # no --sandbox
        assert synced.returncode == 0, synced.stderr
        report = json.loads(synced.stdout)
        assert report["sandbox"] is False
        sent = {d["destination"]: d["events"]["sent"] for d in report["destinations"]}
        assert sent == {"tiktok_pixel": 28, "meta_pixel": 28}
        assert server.stats.events_accepted == 28
        assert {e["event_source_id"] for e in server.events()} == {"CSANDBOXDEMOPIXEL001"}
        assert len(server.meta.events()) == 28
        assert server.meta.stats.events_accepted == 28


# --- docs/ci.md ---------------------------------------------------------------------------


def test_ci_docs_do_not_call_warehouse_state_a_future_option() -> None:
    text = " ".join((DOCS / "ci.md").read_text().split())
    assert "once that option is available" not in text
    assert "state: {location: warehouse}" in text


def test_ci_docs_pull_request_commands_run(tmp_path: Path, cli) -> None:
    root = tmp_path / "shop"
    assert cli("init", root).returncode == 0
    text = (DOCS / "ci.md").read_text()
    runs = re.findall(r"- run: (retl [^\n>|]+?)(?:\s*[>|].*)?$", text, re.M)
    assert "retl validate --format json" in runs and "retl plan --fail-on invalid" in runs
    for command in ("retl validate --format json", "retl plan --fail-on invalid"):
        result = cli(*shlex.split(command)[1:], "--project-dir", root)
        assert result.returncode == 0, (command, result.stderr)


# --- docs/configuration.md ----------------------------------------------------------------


def test_configuration_docs_project_examples_load(tmp_path: Path) -> None:
    from reverse_etl.config.project import apply_target

    text = (DOCS / "configuration.md").read_text()
    first = code_block(text, "## retl_project.yml", "yaml")
    (tmp_path / "retl_project.yml").write_text(first)
    config, loaded = load_project_config(tmp_path)
    assert set(config.targets) == {"dev", "ci"} and config.default_target == "dev"
    ci, target = apply_target(config, loaded, "ci")
    assert (target.name, ci.state.path) == ("ci", ".retl-ci")

    targets = code_block(text, "## Targets", "yaml")
    (tmp_path / "retl_project.yml").write_text(targets)
    config, loaded = load_project_config(tmp_path)
    prod, target = apply_target(config, loaded, "prod", environ={})
    assert (target.name, target.type, prod.state.location) == ("prod", "postgres", "warehouse")
    dev, target = apply_target(config, loaded, None, environ={})
    assert (target.name, dev.state.path) == ("dev", ".retl/dev")
