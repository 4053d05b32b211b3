"""The garbage collector is paused while ``retl`` imports what it needs: importing typer,
pydantic, sqlglot and the rest allocates ~200,000 long-lived objects (modules, classes,
functions, schemas), and the collector walked them over and over while they were created:
~60-80 ms of a ``retl validate`` of ~0.8 s (issue #18).

Only the process entry point (``cli/entry.py``) pauses it, before its first import. The root
command's callback (``cli/app.py``, run before any subcommand) resumes it, after moving what
the start-up allocated to the permanent generation (``gc.freeze()``), which later collections
skip; a command pauses it again around its own imports (:func:`importing`). A command's work
(a sync of millions of rows) runs with the collector on, as before; only cyclic garbage made
while importing, if any, is never freed (a few objects, once per process). Called in-process
(tests), nothing is paused or frozen: :func:`resume` and :func:`importing` do nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


class _State:
    owned = False  # set by the entry point: this process is retl's own
    paused = False


def pause() -> None:
    """Stop collecting until :func:`resume` (the entry point, before its imports)."""
    if gc.isenabled():
        gc.disable()
        _State.owned = _State.paused = True


def resume() -> None:
    """Collect again, skipping what exists now; a no-op unless :func:`pause` stopped it."""
    if _State.paused:
        _State.paused = False
        gc.freeze()
        gc.enable()


@contextmanager
def importing() -> Iterator[None]:
    """Around a command's imports: not collected while they run, frozen after."""
    if not (_State.owned and gc.isenabled()):
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
