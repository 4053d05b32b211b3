"""Arrow arrays and scalars of plain Python values, built from their bytes.

``pa.array``, ``pa.scalar`` and the functions that take a Python value (``pa.repeat``,
``fill_null``) first ask pyarrow's pandas shim whether the value is a pandas object, which
imports pandas where it is installed: 0.35-0.6 s of a sync that never needs it (issue #18).
The few Arrow values retl makes from Python ones are made here instead, with
``Array.from_buffers`` over the value's bytes (Arrow's own layout: native byte order, 32-bit
offsets for strings), which asks no such question. Everything else comes from DuckDB or
Arrow compute already as Arrow.
"""

from __future__ import annotations

import datetime as dt
import itertools
import struct
from collections.abc import Sequence

import pyarrow as pa

_EPOCH = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)


def int32s(values: Sequence[int]) -> pa.Array:
    """An int32 array of ``values``."""
    data = pa.py_buffer(struct.pack(f"={len(values)}i", *values))
    return pa.Array.from_buffers(pa.int32(), len(values), [None, data])


def int64_range(start: int, stop: int) -> pa.Array:
    """``start, start + 1, ..., stop - 1`` as int64 (``pa.array(range(start, stop))``)."""
    return pa.arange(start, stop) if stop > start else pa.nulls(0, pa.int64())


def strings(values: Sequence[str | None]) -> pa.Array:
    """A string array of ``values`` (None: NULL)."""
    n = len(values)
    encoded = [b"" if v is None else v.encode() for v in values]
    ends = list(itertools.accumulate(map(len, encoded), initial=0))
    if ends[-1] > 2**31 - 1:
        raise ValueError("more than 2 GiB of text in one string array")
    offsets = pa.py_buffer(struct.pack(f"={n + 1}i", *ends))
    data = pa.py_buffer(b"".join(encoded))
    if all(v is not None for v in values):
        return pa.Array.from_buffers(pa.string(), n, [None, offsets, data])
    bits = bytearray((n + 7) // 8)  # Arrow's validity bitmap: bit i set when row i is valid
    for i, v in enumerate(values):
        if v is not None:
            bits[i >> 3] |= 1 << (i & 7)
    return pa.Array.from_buffers(pa.string(), n, [pa.py_buffer(bytes(bits)), offsets, data])


def scalar(value: str | bytes | int | dt.datetime) -> pa.Scalar:
    """``pa.scalar(value)``: a ``str`` as a string, ``bytes`` as binary, an ``int`` as int64,
    a naive (UTC) ``datetime`` as ``timestamp("us")``."""
    if isinstance(value, str | bytes):
        data = value.encode() if isinstance(value, str) else value
        offsets = pa.py_buffer(struct.pack("=2i", 0, len(data)))
        kind = pa.string() if isinstance(value, str) else pa.binary()
        return pa.Array.from_buffers(kind, 1, [None, offsets, pa.py_buffer(data)])[0]
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise ValueError("a naive (UTC) datetime is expected")
        micros = (value - _EPOCH) // _MICROSECOND
        return pa.Array.from_buffers(pa.timestamp("us"), 1, [None, _int64(micros)])[0]
    if isinstance(value, bool):
        raise TypeError("not an integer: a bool")
    return pa.Array.from_buffers(pa.int64(), 1, [None, _int64(value)])[0]


def _int64(value: int) -> pa.Buffer:
    return pa.py_buffer(struct.pack("=q", value))
