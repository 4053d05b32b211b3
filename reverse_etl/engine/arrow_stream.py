"""A stream of Arrow batches handed to DuckDB with a bounded read-ahead.

Given a ``RecordBatchReader`` itself, DuckDB scans it through a ``pyarrow.dataset.Scanner``
(to push projections down), whose background thread reads up to 16 batches ahead of the
scan. Whenever the scan waits (evicting blocks to the temp directory), batches pile up there,
a few MB each: staging 1M rows out of Spark held up to ~130 MB of them at once, and the
longer the stream, the worse its worst burst (the retl process's peak grew with the rows).

A bare Arrow C stream capsule is read one batch at a time, when DuckDB's scan asks for one.
That alone would serialise the producer (a socket read from Spark, a phone parser's results)
with the scan, so :class:`ReadAhead` keeps a read-ahead of its own: one thread reads the
source at most ``depth`` batches ahead. The memory held is then bounded by ``depth``, not by
how long the scan waits.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

READ_AHEAD = 2  # batches read while DuckDB's scan works on the one before


class _End:
    """The source is exhausted."""


class _Failed:
    """The source raised ``error``: raised again where the batch was wanted."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class ReadAhead:
    """``reader``'s batches, read by a background thread at most ``depth`` batches ahead, as
    an Arrow C stream capsule for DuckDB (:meth:`capsule`).

    The source's error is raised in the consumer after the batches before it, and kept in
    :attr:`error`: DuckDB reports it as its own error with the Python traceback folded into
    the text, so the caller raises this one instead. When the consumer stops early, the
    reader thread stops at its next batch; it is not waited for, since it may be blocked in
    the source's own read.
    """

    def __init__(self, reader: pa.RecordBatchReader, depth: int = READ_AHEAD) -> None:
        self._reader = reader
        self._depth = depth
        self.error: BaseException | None = None

    def capsule(self) -> object:
        import pyarrow as pa

        ahead = pa.RecordBatchReader.from_batches(self._reader.schema, self.batches())
        return ahead.__arrow_c_stream__()

    def batches(self) -> Iterator[pa.RecordBatch]:
        slots: queue.Queue[pa.RecordBatch | _End | _Failed] = queue.Queue(maxsize=self._depth)
        stopped = threading.Event()

        def offer(item: pa.RecordBatch | _End | _Failed) -> bool:
            while not stopped.is_set():
                try:
                    slots.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                for batch in self._reader:
                    if not offer(batch):
                        return
            except BaseException as exc:  # handed to the consumer, raised there
                offer(_Failed(exc))
                return
            offer(_End())

        worker = threading.Thread(target=produce, name="retl-read-ahead", daemon=True)
        worker.start()
        try:
            while True:
                item = slots.get()
                if isinstance(item, _End):
                    return
                if isinstance(item, _Failed):
                    self.error = item.error
                    raise item.error
                yield item
        except (Exception, KeyboardInterrupt) as exc:
            # Ctrl-C's handler raises in the main thread, here (DuckDB's scan asks for the
            # batch there): kept too, so that the caller stops as interrupted, not failed.
            if self.error is None:
                self.error = exc
            raise
        finally:
            stopped.set()
