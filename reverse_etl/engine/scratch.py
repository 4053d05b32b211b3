"""Files the workbench writes for itself during a run (the plan's rows as Parquet), beside
DuckDB's own spill files.

Each file is named after the process that wrote it, removed when the workbench closes, and
removed by the next workbench over the same folder if its process died first (a SIGKILL
mid-sync leaves the plan's rows behind: 370 MB per million rows).
"""

from __future__ import annotations

import itertools
import os
import shutil
import stat
import tempfile
from pathlib import Path

from reverse_etl import project_files

PREFIX = "retl-scratch-"
_SEQ = itertools.count()


class ScratchFiles:
    """Scratch files in ``folder``; with no folder, in a private one made when first needed
    and removed on close."""

    def __init__(self, folder: Path | None) -> None:
        self._folder = folder
        self._private: Path | None = None
        self._files: dict[str, Path] = {}  # by the name of what they hold
        if folder is not None:
            remove_orphans(folder)

    @property
    def folder(self) -> Path:
        if self._folder is not None:
            return self._folder
        if self._private is None:
            self._private = Path(tempfile.mkdtemp(prefix="retl-scratch-"))
        return self._private

    def new(self, name: str, suffix: str) -> Path:
        """A fresh path in the folder for what ``name`` holds (the folder is made, the file
        is not)."""
        if self._folder is not None:  # the state folder's tmp/: never a pull request's link
            project_files.own_folder(self._folder, create=True)
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{PREFIX}{os.getpid()}-{next(_SEQ)}{suffix}"
        self._files[name] = path
        return path

    def discard(self, name: str) -> None:
        """Remove the file made for ``name`` (if any)."""
        path = self._files.pop(name, None)
        if path is not None:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        for path in self._files.values():
            path.unlink(missing_ok=True)
        self._files.clear()
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None


def remove_orphans(folder: Path) -> None:
    """Remove scratch files in ``folder`` whose process is gone. Never through a link: a
    ``folder`` that is a symbolic link (a pull request's ``.retl/tmp``, to a folder outside
    the project) is left alone, and a link in it is removed, not its target."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return
        entries = list(folder.glob(f"{PREFIX}*"))
    except OSError:
        return
    for entry in entries:
        pid = _pid(entry.name)
        if pid is not None and pid != os.getpid() and not _alive(pid):
            entry.unlink(missing_ok=True)


def _pid(name: str) -> int | None:
    head = name[len(PREFIX) :].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # os.kill(pid, 0) would stop the process on Windows: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive, and not ours to judge
    return True
