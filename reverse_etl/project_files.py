"""Reading a file of the project (``retl_project.yml``, ``destinations.yml``, a model, a
dbt artifact, a file retl keeps in its state folder) whole, safely; and writing a file of the
state folder without following a link.

Such a file may come from an untrusted pull request, which can commit a symbolic link to a
device (``/dev/zero``: a read that never ends and grows without limit) or stand a pipe where
a file is expected (a read that blocks). Only a regular file is read, and at most
``max_bytes`` of it: anything else is an ``OSError`` whose ``strerror`` says why, which the
callers already turn into their located "cannot read FILE: ..." message.

A pull request can also commit ``.retl/<file>`` as a symbolic link to a file outside the
project (``~/.bashrc``): retl's writes there replace the link itself (``write_atomic``: a
temporary file renamed over it) or refuse it (``open_append``), never write through it. It
can commit a folder retl keeps inside the state folder (``.retl/runs``, ``.retl/tmp``, the
delivery log's ``state.duckdb.log/``) as a symbolic link to a folder outside the project:
retl would create files there and prune files from it. ``check_state_folders`` refuses those
when the project is loaded, ``own_folder`` again where each is used.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from reverse_etl.errors import StateError

# More than any config file or model holds; a dbt manifest can be larger (no cap there).
MAX_PROJECT_FILE_BYTES = 64 * 1024 * 1024

_NOT_REGULAR = "not a regular file (a device, a pipe or a socket)"
# A pipe opened for reading without a writer, or for writing without a reader, must not block.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_NOINHERIT = getattr(os, "O_NOINHERIT", 0)  # Windows: as mkstemp's, not given to a child

# The folders retl makes inside the state folder, each a real folder or none (docs/state.md):
# run reports and refused runs' records (pipeline/history.runs_folder), the sandbox's feed
# (sandbox/feed.feed_path), DuckDB's spill files and the workbench's scratch files
# (Project._spill_dir) with the attach extensions' copies (engine/duckdb), the journals and
# the delivery log of each local state file (state/store), a warehouse state's journals
# (pipeline/stores). A parent before its children.
STATE_SUBFOLDERS = (
    "runs",
    "sandbox",
    "tmp",
    "tmp/extensions",
    "state.duckdb.acks",
    "state.duckdb.log",
    "sandbox-state.duckdb.acks",
    "sandbox-state.duckdb.log",
    "warehouse-state.acks",
)


def _refuse_mode(mode: int, path: Path | str) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, _NOT_REGULAR, str(path))


def open_regular(path: Path | str) -> BinaryIO:
    """``path`` opened for reading (binary), when it is a regular file (a symbolic link to
    one too); else an ``OSError`` saying why. A device is refused before it is opened; a pipe
    put in its place meanwhile is opened without blocking, then refused."""
    _refuse_mode(os.stat(path).st_mode, path)  # follows a symbolic link: what would be read
    return _regular(os.open(path, os.O_RDONLY | _NONBLOCK | _BINARY), path, "rb")


def read_bytes(path: Path, max_bytes: int | None = MAX_PROJECT_FILE_BYTES) -> bytes:
    """The bytes of ``path``, a regular file (a symbolic link to one too) of at most
    ``max_bytes`` (None: any size)."""
    with open_regular(path) as f:
        data = f.read() if max_bytes is None else f.read(max_bytes + 1)
    if max_bytes is not None and len(data) > max_bytes:
        raise OSError(
            errno.EFBIG,
            f"larger than {max_bytes // (1024 * 1024)} MiB, more than a project file holds",
            str(path),
        )
    return data


def read_text(
    path: Path, encoding: str = "utf-8", max_bytes: int | None = MAX_PROJECT_FILE_BYTES
) -> str:
    """``read_bytes`` decoded (a ``UnicodeDecodeError`` as ``Path.read_text`` raises it)."""
    return read_bytes(path, max_bytes).decode(encoding)


def write_atomic(path: Path, data: bytes | Callable[[BinaryIO], object]) -> None:
    """Write ``data`` (bytes, or a function that writes to the open file) as ``path``, whole
    or not at all: into a new temporary file beside it (created exclusively: never a link's
    target), then renamed over ``path`` (a symbolic link there is replaced, its target left
    untouched). Raises ``OSError``.

    The file gets the permissions of one ``open`` creates (0666 less the umask), as DuckDB's
    state file beside it has: not ``mkstemp``'s 0600, which would lock the team's other
    members out of its run reports and the lock's holder."""
    fd, name = create_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                data(f)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def create_beside(path: Path) -> tuple[int, str]:
    """A new file of a name of its own beside ``path`` (``.<name>.<random>.tmp``), created
    exclusively (a link of that name is no file of retl's: another name is tried) with the
    permissions an ``open`` gives (0666 less the umask, not ``mkstemp``'s 0600), and its
    descriptor open for writing."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY | _NOINHERIT
    for _ in range(100):  # 48 random bits each: a clash is a link put there on purpose
        name = str(path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp"))
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no temporary file name left", str(path))


def open_append(path: Path) -> BinaryIO:
    """``path`` opened to append (binary), created when missing; an ``OSError``
    when it is a symbolic link (whose target is outside retl's say) or not a regular file."""
    if path.is_symlink():
        raise OSError(errno.ELOOP, "a symbolic link, which retl does not write through", str(path))
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _NONBLOCK | _BINARY
    return _regular(os.open(path, flags, 0o666), path, "ab")


def _regular(fd: int, path: Path | str, mode: str) -> BinaryIO:
    """The file ``fd`` (opened without blocking) as a file object, when it is a regular
    file; else it is closed and an ``OSError`` raised."""
    try:
        _refuse_mode(os.fstat(fd).st_mode, path)
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, mode)  # type: ignore[return-value]
    except BaseException:
        os.close(fd)
        raise


def check_state_folders(state_dir: Path) -> None:
    """Refuse each folder of ``STATE_SUBFOLDERS`` inside ``state_dir`` that is a symbolic link
    or not a folder (see ``own_folder``): one ``lstat`` each, before a command uses any. One
    that cannot be looked at (another user's state folder, mode 0700) is passed over: retl
    cannot create or delete anything in it either, and validate, compile or show, which need
    no state, work as before; a command that needs the state says it cannot read it."""
    for name in STATE_SUBFOLDERS:
        with contextlib.suppress(PermissionError):
            own_folder(state_dir / name)


def own_folder(path: Path, *, create: bool = False) -> bool:
    """Whether ``path``, a folder retl keeps inside the state folder, exists (made when
    ``create``); a ``StateError`` naming it and the fix when it is a symbolic link (never
    followed: a pull request's link to a folder outside the project, which retl would write
    files into and delete files from) or not a folder. The state folder itself may be a link
    (``state.path``, resolved when the project is loaded, says where it may lead)."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        if not create:
            return False
        path.mkdir(parents=True, exist_ok=True)
        mode = os.lstat(path).st_mode  # made meanwhile by another process: checked all the same
    if stat.S_ISDIR(mode):
        return True
    why = "not a folder (a file, a pipe or a device)"
    if stat.S_ISLNK(mode):
        why = "a symbolic link"
        with contextlib.suppress(OSError):
            why += f" (to {os.readlink(path)})"
    raise StateError(
        f"{path.name} in the state folder is {why}: retl would create and delete its files "
        "there; it keeps a real folder there, or none",
        file=path,
        hint="delete it, retl makes the folder when it needs it; to keep the state on another "
        "disk, set state.path in retl_project.yml, which moves the whole state folder "
        "(docs/state.md)",
    )
