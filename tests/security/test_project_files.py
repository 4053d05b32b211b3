"""A project file that is no regular file: a pull request can commit a symbolic link to a
device (``/dev/zero``: the read never ended and grew without limit) or stand a pipe where a
file is expected (the read blocked): a CI job ran to its timeout. Each is one located error
now, at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reverse_etl import project_files

PROJECT = {
    "retl_project.yml": "name: t\n",
    "models/m.sql": "select 'e-1' as event_id",
    "destinations.yml": "destinations: {}\n",
}


@pytest.mark.parametrize("name", ["destinations.yml", "retl_project.yml", "models/m.sql"])
@pytest.mark.parametrize("kind", ["device", "pipe"])
def test_a_project_file_that_is_no_regular_file_is_refused_at_once(
    tmp_path: Path, make_project, cli, name: str, kind: str
) -> None:
    root = make_project(tmp_path, PROJECT)
    path = root / name
    path.unlink()
    if kind == "device":
        path.symlink_to("/dev/zero")
    else:
        os.mkfifo(path)
    result = cli("validate", "--project-dir", root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not a regular file (a device, a pipe or a socket)" in result.stderr
    assert Path(name).name in result.stderr
    assert "Traceback" not in result.stderr


def test_a_project_file_past_the_size_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    path.write_bytes(b"a: 1\n" * 100)
    assert project_files.read_text(path, max_bytes=500) == "a: 1\n" * 100
    with pytest.raises(OSError, match="larger than"):
        project_files.read_bytes(path, max_bytes=499)
    assert len(project_files.read_bytes(path, max_bytes=None)) == 500
    with pytest.raises(IsADirectoryError):
        project_files.read_bytes(tmp_path)
