"""Reading a file of the project (``retl_project.yml``, ``destinations.yml``, a model, a
dbt artifact, a file retl keeps in its state folder) whole, safely.

Such a file may come from an untrusted pull request, which can commit a symbolic link to a
device (``/dev/zero``: a read that never ends and grows without limit) or stand a pipe where
a file is expected (a read that blocks). Only a regular file is read, and at most
``max_bytes`` of it: anything else is an ``OSError`` whose ``strerror`` says why, which the
callers already turn into their located "cannot read FILE: ..." message.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

# More than any config file or model holds; a dbt manifest can be larger (no cap there).
MAX_PROJECT_FILE_BYTES = 64 * 1024 * 1024


def read_bytes(path: Path, max_bytes: int | None = MAX_PROJECT_FILE_BYTES) -> bytes:
    """The bytes of ``path``, a regular file (a symbolic link to one too) of at most
    ``max_bytes`` (None: any size)."""
    mode = os.stat(path).st_mode  # follows a symbolic link: what would be read
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "not a regular file (a device, a pipe or a socket)", str(path))
    with open(path, "rb") as f:
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
