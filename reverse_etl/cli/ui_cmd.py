"""``retl ui``: serve the project's local web page (runs, destinations, plan, test events)
until Ctrl-C. The page and the server are imported when the command runs (start-up time)."""

# No `from __future__ import annotations`: typer reads these at each start (see app.py).

import errno
import threading
from pathlib import Path
from typing import Annotated

import typer

from reverse_etl.cli import options as opt
from reverse_etl.cli.output import Output, run
from reverse_etl.errors import RetlError, UsageError

Port = Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free port).")]
Host = Annotated[
    str,
    typer.Option("--host", help="A loopback address to listen on; other hosts are refused."),
]


def ui(
    port: Port = 0,
    host: Host = "127.0.0.1",
    project_dir: opt.ProjectDir = Path("."),
    target: opt.Target = None,
    debug: opt.Debug = False,
) -> None:
    """Serve a local, read-only web page of this project: runs, destinations, the next plan
    and the sandbox's test events. Prints the URL; Ctrl-C stops it."""
    out = Output.create("text", debug)

    def go() -> None:
        from reverse_etl.ui import UiApp, UiServer, check_host

        check_host(host)  # before the project loads: the option is the first thing wrong
        if not 0 <= port <= 65535:
            raise UsageError(
                f"a port is a number from 0 to 65535, not {port}",
                key="--port",
                hint="--port 0 takes any free port",
            )
        with out.load(project_dir, target=target) as p:
            server = UiServer(UiApp(p, title=p.config.name or p.dir.name), host=host, port=port)
            try:
                server.start()
            except OSError as exc:
                raise _port_error(host, port, exc) from None
            out.console.info(f"retl ui on {server.url} (read-only; Ctrl-C stops it)")
            try:
                threading.Event().wait()  # until Ctrl-C or SIGTERM
            except KeyboardInterrupt:
                out.console.info("retl ui stopped")
            finally:
                server.stop()

    run(out, go)


def project_feed(directory: Path) -> Path | None:
    """The test-events feed of the project in ``directory`` (``retl sandbox`` started there
    writes it, for ``retl ui``), or None when ``directory`` holds no readable project."""
    from reverse_etl.config.project import PROJECT_FILE

    if not (directory / PROJECT_FILE).is_file():
        return None
    from reverse_etl.project import Project
    from reverse_etl.sandbox.feed import feed_path

    try:
        return feed_path(Project.load(directory).state_dir)
    except RetlError:
        return None


def _port_error(host: str, port: int, exc: OSError) -> UsageError:
    if exc.errno == errno.EADDRINUSE:
        why = f"port {port} on {host} is already in use"
    elif exc.errno == errno.EACCES:
        why = f"not allowed to listen on port {port} (ports below 1024 need privileges)"
    else:
        why = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return UsageError(why, key="--port", hint="pass --port 0 to take any free port")
