"""One sync at a time per state: an OS file lock, released by the kernel if the process dies.

A lock held by a killed process therefore never blocks the next run; a live holder is named
(pid, host, start time) in the refusal.

This lock is taken before the state database is opened, so a second sync stops here, with the
holder named. DuckDB keeps a lock of its own on the database file while it is open read-write:
that one refuses every other process. A ``retl plan`` or ``state show`` during a sync (the
holder DuckDB names is the sync this lock's info file names) then reads a copy instead (see
``pipeline/stores.py``); another tool holding the file is reported as "in use" (see
``store.py``), never as damage.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from reverse_etl.errors import LockError, LockHeldError


@dataclass(frozen=True)
class LockHolder:
    """The sync holding a state's lock, as its info file says."""

    pid: str
    text: str  # "pid 123 on host since 2026-01-01T00:00:00+00:00"


class SyncLock:
    def __init__(self, state_file: Path) -> None:
        self.path = state_file.with_name(state_file.name + ".lock")
        self.info = state_file.with_name(state_file.name + ".lock.info")
        self._lock = FileLock(str(self.path), timeout=0)

    def __enter__(self) -> SyncLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            holder = self.info.read_text(encoding="utf-8").strip() if self.info.exists() else ""
            raise LockHeldError(
                "another retl sync is running on this state" + (f" ({holder})" if holder else ""),
                file=self.path,
                hint="wait for it to finish; a killed sync releases the lock by itself",
            ) from None
        except OSError as exc:  # a folder, a link to nowhere or a loop where the lock file goes
            what = (
                "a symbolic link is where its lock file goes"
                if self.path.is_symlink()
                else "a folder is where its lock file goes"
                if self.path.is_dir()
                else str(exc.strerror or exc)
            )
            raise LockError(
                f"cannot take the state's lock: {what}",
                file=self.path,
                hint="retl keeps a plain lock file there: move that path away (no sync is "
                "holding it)",
            ) from None
        started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.info.write_text(
            f"pid {os.getpid()} on {socket.gethostname()} since {started}\n", encoding="utf-8"
        )
        return self

    @staticmethod
    def holder(state_file: Path) -> LockHolder | None:
        """Who holds ``state_file``'s lock, from the info file a sync writes once it has the
        lock (None when there is none: no sync, or one killed before it could remove it;
        a reader compares the PID with the one DuckDB names as the file's holder)."""
        info = state_file.with_name(state_file.name + ".lock.info")
        try:
            text = info.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        found = re.match(r"pid (\d+) ", text)
        return LockHolder(found.group(1), text) if found else None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.info.unlink(missing_ok=True)
        self._lock.release()
