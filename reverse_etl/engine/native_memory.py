"""Large freed blocks go back to the system: glibc's ``M_MMAP_THRESHOLD`` held at its default.

Rows leave a local Spark session as one Python ``bytes`` object per Arrow batch (a few MB each,
read from pyspark's socket), freed once the workbench has copied the batch. glibc serves a
block that large with ``mmap`` and unmaps it when freed, until it sees such a block freed: it
then raises its threshold to that size (up to 32 MB), and later batches come from its heap,
which fragments and does not shrink while DuckDB's threads allocate beside it. Staging rows
out of Spark grew the process by ~36 MB per million rows that way (1M: 537 MB, 3M: 610 MB);
with the threshold held, 500 and 529 MB (``bench/reference/workbench-memory-2026-12-03.txt``).

glibc only (``mallopt``); elsewhere, and when the user set ``MALLOC_MMAP_THRESHOLD_``
themselves, nothing is changed. DuckDB and Arrow allocate with their own allocators: only
Python's own large objects are affected.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
DEFAULT_THRESHOLD = 128 * 1024  # glibc's default, before it adapts


class _State:
    held = False


def hold_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold at its default for the rest of the process (once); True
    when it is held."""
    if _State.held:
        return True
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _State.held = mallopt(M_MMAP_THRESHOLD, DEFAULT_THRESHOLD) == 1
    return _State.held
