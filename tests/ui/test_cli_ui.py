"""The ``retl ui`` command: options checked before anything is served, and a real start."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import CliResult, cli_env

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.0.5"])
def test_a_host_off_this_machine_is_refused(cli: Callable[..., CliResult], host: str) -> None:
    result = cli("ui", "--host", host, "--project-dir", str(REPO))
    assert result.returncode == 1
    assert "--host" in result.stderr and "127.0.0.1" in result.stderr


def test_a_bad_port_is_refused(cli: Callable[..., CliResult]) -> None:
    result = cli("ui", "--port", "70000", "--project-dir", str(REPO))
    assert result.returncode == 1 and "--port" in result.stderr


@pytest.mark.slow
def test_retl_ui_prints_its_url_serves_and_stops(tmp_path: Path) -> None:
    for name in ("models", "data"):
        subprocess.run(["cp", "-r", str(REPO / name), str(tmp_path)], check=True)
    for name in ("destinations.yml", "retl_project.yml"):
        (tmp_path / name).write_text((REPO / name).read_text())
    proc = subprocess.Popen(
        [sys.executable, "-m", "reverse_etl", "ui", "--project-dir", str(tmp_path)],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()  # blocks until the server is bound
        assert line.startswith("retl ui on http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split()[3]
        page = httpx.get(url, timeout=30)
        assert page.status_code == 200 and "No runs yet" in page.text
        assert httpx.post(url, timeout=30).status_code == 405
        assert not (tmp_path / ".retl").exists()  # reading created nothing
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "retl ui stopped" in out
