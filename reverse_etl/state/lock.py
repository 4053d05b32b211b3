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

import contextlib
import datetime as dt
import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from reverse_etl import project_files
from reverse_etl.errors import LockError, LockHeldError

_MAX_INFO_BYTES = 64 * 1024  # a pid, a host, a time and a run's id: a few hundred bytes


@dataclass(frozen=True)
class LockHolder:
    """The sync holding a state's lock, as its info file says."""

    pid: str
    text: str  # "pid 123 on host since 2026-01-01T00:00:00+00:00"
    # The run, for the history's readers while it plans (its row is written after): its id,
    # command and start, when the sync said them.
    run_id: str | None = None
    command: str | None = None
    since: dt.datetime | None = None


class SyncLock:
    def __init__(self, state_file: Path, run: tuple[str, str] | None = None) -> None:
        """``run``: the run's id and command, written beside the holder's pid."""
        self.path = state_file.with_name(state_file.name + ".lock")
        self.info = state_file.with_name(state_file.name + ".lock.info")
        self._lock = FileLock(str(self.path), timeout=0)
        self._run = run

    def __enter__(self) -> SyncLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            holder = _read_info(self.info)
            holder = holder.split("\n", 1)[0]  # the pid, host and start; not the run
            raise LockHeldError(
                "another retl sync is running on this state" + (f" ({holder})" if holder else ""),
                file=self.path,
                hint="wait for it to finish; a killed sync releases the lock by itself",
                held_since=held_since(holder),
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
        now = dt.datetime.now(dt.timezone.utc)
        run = ""
        if self._run is not None:
            run_id, command = self._run
            said = {"run_id": run_id, "command": command, "started_at": now.isoformat()}
            run = json.dumps(said) + "\n"
        started = now.isoformat(timespec="seconds")
        # Replaced, not written through: a pull request may commit the file as a symbolic
        # link (to ~/.bashrc), which the sync would otherwise overwrite.
        try:
            project_files.write_atomic(
                self.info,
                f"pid {os.getpid()} on {socket.gethostname()} since {started}\n{run}".encode(),
            )
        except OSError as exc:  # a pull request's folder there; a full disk
            self._lock.release()  # __exit__ is not called when __enter__ raises
            folder = self.info.is_dir()
            raise LockError(
                "cannot take the state's lock: "
                + (
                    "a folder is where its info file goes"
                    if folder
                    else f"its info file cannot be written ({exc.strerror or exc})"
                ),
                file=self.info,
                hint="retl keeps a plain file there while a sync runs: move that path away (no "
                "sync is holding it)"
                if folder
                else "check the state folder's free space and permissions",
            ) from None
        return self

    @staticmethod
    def holder(state_file: Path) -> LockHolder | None:
        """Who holds ``state_file``'s lock, from the info file a sync writes once it has the
        lock (None when there is none: no sync, or one killed before it could remove it;
        a reader compares the PID with the one DuckDB names as the file's holder)."""
        info = state_file.with_name(state_file.name + ".lock.info")
        first, _, rest = _read_info(info).partition("\n")
        found = re.match(r"pid (\d+) on (\S+) since (\S+)", first)
        if not found:
            return None
        pid, host, _ = found.groups()
        if host == socket.gethostname() and not _alive(int(pid)):
            return None  # a sync killed before it could remove the file: nobody holds it
        # The file is read as data: a garbled one (nested past Python's depth, a start
        # without its offset) names no run, and never fails the history's readers
        run: dict[str, object] = {}
        with contextlib.suppress(ValueError, RecursionError):
            loaded = json.loads(rest) if rest else {}
            run = loaded if isinstance(loaded, dict) else {}
        started: dt.datetime | None = None
        with contextlib.suppress(ValueError):
            started = dt.datetime.fromisoformat(str(run.get("started_at", "")))
        if started is not None and started.utcoffset() is None:
            started = None  # retl writes UTC's offset; the runs' starts are compared with it
        run_id, command = run.get("run_id"), run.get("command")
        return LockHolder(
            pid,
            first,
            run_id if isinstance(run_id, str) else None,
            command if isinstance(command, str) else None,
            started,
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.info.unlink(missing_ok=True)
        self._lock.release()


def _read_info(info: Path) -> str:
    """The lock's info file, stripped; "" when there is none, or none retl can read: a
    pipe or a link to a device (a pull request's) would block or never end."""
    try:
        return project_files.read_text(info, max_bytes=_MAX_INFO_BYTES).strip()
    except (OSError, UnicodeDecodeError):
        return ""


def held_since(holder: str) -> dt.datetime | None:
    """When the sync named by ``holder`` ("pid 123 on host since 2026-01-01T00:00:00+00:00")
    took the lock, in UTC; None when it does not say (a garbled or older file)."""
    found = re.fullmatch(r"pid \d+ on \S+ since (\S+)", holder)
    if found is None:
        return None
    try:
        since = dt.datetime.fromisoformat(found.group(1))
        return None if since.utcoffset() is None else since.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError):  # a garbled file: year 1 or 9999 past UTC's range
        return None


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine exists (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # (no process has a number past C's int)
        return False
    except OSError:  # PermissionError: it exists, as another user's
        return True
    return True
