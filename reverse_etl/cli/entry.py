"""The process entry point: the ``retl`` console script and ``python -m reverse_etl``.

It runs the CLI (``app.main``), then ends the process without the interpreter's teardown:
once a command is done, freeing hundreds of MB object by object (Arrow buffers, DuckDB's
allocator handing its pages back to the system, every module's dictionaries) cost a 200k-row
sync 0.5-1 s of wall time after its last line was printed (issue #18). Everything a normal
exit does that matters still happens, in the same order: other threads are waited for (if any
is still running, the normal exit is taken instead), ``atexit`` handlers run (logging's flush,
``weakref.finalize`` and ``TemporaryDirectory`` clean-ups), stdout and stderr are flushed
(if that fails, the normal exit reports it as Python does). Project files are closed by the
commands themselves (``with Project.load(...)``), never left to the garbage collector.

Called in-process (tests), ``app.main`` raises ``SystemExit`` as usual: only this entry point
ends the process.

``retl --version`` alone is answered here, before typer and retl's CLI modules are imported
(~0.1 s of the ~0.15 s it took, issue #18): the same line the ``--version`` option of
``cli/app.py`` prints. Any other arguments (``--version --help`` too) go to the CLI.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

from reverse_etl.cli import collector


def main() -> None:
    """Run ``retl`` with ``sys.argv`` and end the process with its exit code."""
    collector.pause()  # while the CLI starts: resumed by the root command (cli/collector.py)
    code: str | int | None = 0
    try:
        if sys.argv[1:] == ["--version"]:
            code = _version()
        else:
            from reverse_etl.cli import app

            app.main()
    except SystemExit as exc:
        code = exc.code
    if code is None or isinstance(code, int):
        _exit_now(int(code or 0))
    sys.exit(code)  # a message as the code, or a normal exit after all (see _exit_now)


def _version() -> int:
    """``retl --version``: what the CLI's ``--version`` option prints, and its exit code."""
    from reverse_etl.__about__ import __version__

    try:
        print(f"retl {__version__}", flush=True)
    except BrokenPipeError:
        # The reader went away: exit 1 without a word, as click does for the other commands.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def _exit_now(code: int) -> None:
    """``os._exit(code)`` after what a normal exit does that matters; returns (the caller then
    exits normally) when that cannot be done the quick way."""
    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        return  # a normal exit waits for them: so does this one
    atexit._run_exitfuncs()  # and clears them: a normal exit after this does not run them again
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # a closed pipe: the normal exit says so, and exits 120, as Python does
    os._exit(code)
