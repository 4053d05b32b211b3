"""Freed memory goes back to the system: glibc's ``M_MMAP_THRESHOLD`` held at its default,
Arrow's buffers from the system's allocator, and glibc's free heap pages trimmed between steps.

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


def arrow_system_pool() -> bool:
    """Arrow's buffers from glibc's allocator rather than the mimalloc pyarrow bundles, which
    keeps freed pages for reuse: the journal's batches read back for the fold, and the fold's
    columns, stayed in the process after the send. A 200k first sync peaked at 309-331 MB with
    mimalloc, 302-306 MB with the system's, no slower; a 1M one was the same either way
    (docs/performance.md). Linux only (what was measured), and not when the user chose a pool
    with ``ARROW_DEFAULT_MEMORY_POOL``. True when the system's pool is the default."""
    if not sys.platform.startswith("linux") or "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return False
    import pyarrow as pa

    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())
    return True


def trim_heap() -> bool:
    """glibc's ``malloc_trim(0)``: the free pages of every arena go back to the system, those in
    the middle of a heap too. What the send frees (Arrow's reads of the plan's file and the
    request bodies, from the system's allocator since ``arrow_system_pool``) otherwise stays
    in the process, and the fold's peak sits on it: a 200k first sync's fold peaked at
    295-297 MB, 268-276 MB with the heap trimmed first (docs/performance.md). Linux only, and
    only with a libc that has it (musl has not); True when it ran."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True
