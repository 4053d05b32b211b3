"""Shared fixtures: write a project tree, run the real ``retl`` command in a subprocess, start
the TikTok sandbox (``server``, accepting ``sandbox_token``).

The helpers are handed out as fixtures (not imported from this module) so that test folders
with their own ``conftest.py`` never shadow them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (derandomized): the suite's result does
# not depend on the run, and a failure in CI reproduces anywhere. HYPOTHESIS_PROFILE=explore
# draws fresh examples (1,000 where a test sets no number of its own) to look for new
# counterexamples; pin what it finds with @example.
# No deadline: an example's time depends on how loaded the machine is (a 200 ms deadline
# failed a JSON property test at 278 ms under a parallel suite), never on the code's result.
settings.register_profile("deterministic", derandomize=True, deadline=None)
settings.register_profile(
    "explore", derandomize=False, max_examples=1000, database=None, deadline=None
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

if TYPE_CHECKING:
    from reverse_etl.sandbox import SandboxServer

# Variables that make rich or click colour output even without a terminal: the CLI tests
# check what a pipe (CI log) really gets, so none of them may leak in from the caller.
_COLOUR_FORCING = (
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
    "PY_COLORS",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
)

MakeProject = Callable[[Path, Mapping[str, str]], Path]
RunCli = Callable[..., subprocess.CompletedProcess[str]]

# The sandbox's access token in most tests (tests.test_sync.SECRET): a recognisable value, so
# that tests can check no output shows it.
SANDBOX_TOKEN = "tok-SECRET-5f2a9c71e0d44b"


def trace_calls(
    monkeypatch: pytest.MonkeyPatch,
    owner: Any,
    name: str,
    steps: list[str],
    label: str,
    when: Callable[..., bool] | None = None,
) -> None:
    """Replace ``owner.name`` (a function of a module, or a method of a class) by one that
    appends ``label`` to ``steps`` (when ``when(*args, **kwargs)`` holds) and then calls it:
    the order of a run's steps, for tests of what runs before what."""
    original = getattr(owner, name)

    def traced(*args: Any, **kwargs: Any) -> Any:
        if when is None or when(*args, **kwargs):
            steps.append(label)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, traced)


def write_project(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``files`` (relative path -> text) under ``root`` and return ``root``.

    Texts are dedented and one leading newline is dropped, so tests can write YAML inline;
    line numbers in assertions count from the first line after the opening quotes.
    """
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        body = textwrap.dedent(text)
        if body.startswith("\n"):
            body = body[1:]
        path.write_text(body, encoding="utf-8")
    return root


def cli_env(overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The caller's environment without colour forcing, plus ``overrides`` (None removes)."""
    env = {k: v for k, v in os.environ.items() if k not in _COLOUR_FORCING}
    env.pop("TIKTOK_ACCESS_TOKEN", None)
    env["PYTHONIOENCODING"] = "utf-8"
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def invoke_cli(
    *args: str | os.PathLike[str],
    cwd: Path | str | None = None,
    env: Mapping[str, str | None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m reverse_etl ARGS`` (the same entry point as ``retl``) with pipes."""
    return subprocess.run(
        [sys.executable, "-m", "reverse_etl", *(str(a) for a in args)],
        cwd=cwd,
        env=cli_env(env),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="session")
def make_project() -> MakeProject:
    """``make_project(tmp_path, {"models/a.sql": "select 1 as a"}) -> tmp_path``."""
    return write_project


@pytest.fixture(scope="session")
def run_cli() -> RunCli:
    """``run_cli("compile", "--project-dir", path, cwd=None, env=None)``."""
    return invoke_cli


@dataclass(frozen=True)
class CliResult:
    """What an in-process run printed, shaped like ``subprocess.CompletedProcess``."""

    returncode: int
    stdout: str
    stderr: str


def invoke_in_process(
    *args: str | os.PathLike[str], env: Mapping[str, str | None] | None = None
) -> CliResult:
    """The CLI through typer's CliRunner: same boundary code, no interpreter start-up.

    Used where a table of bad inputs would otherwise start dozens of interpreters; the exit
    code path itself (typer.Exit -> process status) is covered by the subprocess tests.
    """
    from typer.testing import CliRunner

    from reverse_etl.cli.app import app

    runner = CliRunner()
    result = runner.invoke(app, [str(a) for a in args], env=dict(env or {}))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="session")
def cli() -> Callable[..., CliResult]:
    """``cli("compile", "--project-dir", path)``: the CLI in this process."""
    return invoke_in_process


@pytest.fixture
def sandbox_token() -> str:
    """The token ``server`` accepts; a module that uses its own overrides this fixture."""
    return SANDBOX_TOKEN


@pytest.fixture
def server(sandbox_token: str) -> Iterator[SandboxServer]:
    """The TikTok sandbox on loopback: the demo world, with ``sandbox_token`` granted the demo
    advertiser. Folders and modules with another kind of ``server`` define their own."""
    # imported here: the CLI subprocess tests need no emulator in this process
    from reverse_etl.sandbox import DEMO_ADVERTISER_ID, SandboxServer, SandboxWorld

    world = SandboxWorld.demo()
    world.add_token(sandbox_token, [DEMO_ADVERTISER_ID])
    with SandboxServer(world) as srv:
        yield srv


@contextmanager
def sync_held_midway(
    project: Path,
    server: Any,
    env: Mapping[str, str],
    *,
    after_requests: int,
    in_flight: int,
    args: Sequence[str] = (),
) -> Iterator[subprocess.Popen[str]]:
    """``retl sync`` on ``project`` in a subprocess, held mid-send by ``server`` (a
    SandboxServer): the sandbox lets ``after_requests`` track requests through and holds every
    later one; this yields the process once ``in_flight`` of them are held.

    With ``in_flight`` the sync's thread_count, every sending slot is then busy with a held
    request, so every request before them was answered and its acknowledgement recorded
    (the delivery runner only starts a request once an earlier one is dealt with): the state
    is known exactly, however loaded the machine. On exit a process still running is killed,
    and the held requests are let through and have landed on the server."""
    server.faults.hold_after(after_requests)
    proc = subprocess.Popen(
        [sys.executable, "-m", "reverse_etl", "sync", "--project-dir", str(project), *args],
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        # Woken by the gate; the timeout only bounds the wait for a sync that died early.
        while not server.faults.wait_held(in_flight, timeout=1.0):
            if proc.poll() is not None:
                raise AssertionError(f"the sync ended before it was held: {proc.communicate()}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=60)
        server.faults.release()
        # Requests already received finish on the server although their sender may be gone.
        assert server.stats.wait_idle(timeout=60)


def kill_sync_midway(
    project: Path, server: Any, env: Mapping[str, str], *, after_requests: int, in_flight: int
) -> int:
    """SIGKILL a ``retl sync`` held mid-send (see ``sync_held_midway``) and return how many
    events the server holds once the requests it had in flight have landed."""
    with sync_held_midway(
        project, server, env, after_requests=after_requests, in_flight=in_flight
    ) as proc:
        proc.kill()
    return int(server.stats.events_accepted)
