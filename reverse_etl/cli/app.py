"""The ``retl`` command line: parse options -> one Project method -> render the result."""

# No `from __future__ import annotations` in the modules that declare commands (this one,
# options.py, runs_cmd.py, ui_cmd.py): typer reads every command's annotations at each start,
# and string annotations cost typing.get_type_hints a compile() each (~10 ms of `--help`, #18).

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from reverse_etl.__about__ import __version__
from reverse_etl.cli import collector, output
from reverse_etl.cli import options as opt
from reverse_etl.cli.confirm import confirmer
from reverse_etl.cli.output import Output, run
from reverse_etl.cli.runs_cmd import runs_app
from reverse_etl.cli.ui_cmd import project_feed, ui
from reverse_etl.errors import RetlError, UsageError, shown_file
from reverse_etl.reporting.console import CountedWarnings
from reverse_etl.secrets import forget_notes

# The facade, the renderers and the scaffold import DuckDB, Arrow, pydantic and sqlglot
# (~1 s): each command imports what it needs when it runs, so `--version` and `--help` do
# not (issue #18; tests/test_startup_imports.py checks it).
if TYPE_CHECKING:
    from reverse_etl.project import Project

app = typer.Typer(
    name="retl",
    help="Declarative reverse ETL: SQL models in, ad-platform events out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals hold tokens
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"retl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """retl: sync warehouse rows to ad platforms, only what changed."""
    collector.resume()  # every subcommand passes here first (the root options are parsed)
    forget_notes()  # a secret's whitespace is said by each command (of a process too)


def _load(out: Output, project_dir: Path, vars: str | None, target: str | None) -> "Project":
    """The project of a command that takes --project-dir, --vars and --target."""
    return out.load(project_dir, vars=opt.parse_vars(vars), target=target)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the project.")] = Path("."),
    fmt: opt.Format = "text",
    debug: opt.Debug = False,
) -> None:
    """Scaffold a working project: a model, sample data and destinations.yml."""
    out = Output.create(fmt, debug)

    def go() -> None:
        from reverse_etl.scaffold import init_project

        written = init_project(directory.expanduser().resolve())
        if out.format == "json":
            out.json({"ok": True, "created": [str(p) for p in written]})
            return
        for path in written:
            out.console.info(f"created {path}")
        # As the README's tutorial goes on: from inside the project (relative paths in models
        # then read as written, docs/configuration.md).
        import shlex

        here = directory.expanduser().resolve() == Path.cwd().resolve()
        enter = "" if here else f"cd {shlex.quote(str(directory))} && "
        out.console.info(f"next: {enter}retl show purchase_events")

    run(out, go)


@app.command("compile")
def compile_(
    project_dir: opt.ProjectDir = Path("."),
    target: opt.Target = None,
    select: opt.Select = None,
    exclude: opt.Exclude = None,
    vars: opt.Vars = None,
    fmt: opt.Format = "text",
    debug: opt.Debug = False,
) -> None:
    """Print the compiled SQL of models (Jinja rendered, upstream models inlined)."""
    out = Output.create(fmt, debug)

    def go() -> None:
        with _load(out, project_dir, vars, target) as p:
            compiled = p.compile(opt.selection(select), exclude=opt.selection(exclude))
            if out.format == "json":
                out.json(
                    {
                        "ok": True,
                        "models": [
                            {
                                "name": c.name,
                                # as validate's model_file: relative to the project
                                "path": shown_file(c.model.path, out.root) or str(c.model.path),
                                "sql": c.sql,
                                "upstream": list(c.upstream),
                            }
                            for c in compiled
                        ],
                    }
                )
                return
            for c in compiled:
                shown = shown_file(c.model.path, out.root) or c.model.path
                out.console.sql(f"{c.name} ({shown})", c.sql)

    run(out, go)


@app.command()
def show(
    model: Annotated[str, typer.Argument(help="Model name.")],
    limit: Annotated[int, typer.Option("--limit", "-n", help="Rows to show.")] = 10,
    payload: Annotated[
        str | None,
        typer.Option(
            "--payload",
            help="Show the request body a sync would send for the row with this key (hashed, "
            "identifiers sent in clear masked, now, no network call). A key of several "
            "columns: a JSON list of their values.",
            show_default=False,
        ),
    ] = None,
    destination: Annotated[
        str | None,
        typer.Option(
            "--destination",
            help="With --payload: only this destination (default: every one reading MODEL).",
            show_default=False,
        ),
    ] = None,
    sandbox: opt.Sandbox = False,
    project_dir: opt.ProjectDir = Path("."),
    target: opt.Target = None,
    vars: opt.Vars = None,
    fmt: opt.Format = "text",
    debug: opt.Debug = False,
) -> None:
    """Run a model and preview its first rows, or show one row's request body (--payload)."""
    out = Output.create(fmt, debug)

    def go() -> None:
        from reverse_etl.cli.payload_render import render_payloads
        from reverse_etl.cli.render import render_preview

        if payload is None and (destination is not None or sandbox):
            option = "--destination" if destination is not None else "--sandbox"
            raise UsageError("only used with --payload KEY", key=option)
        with _load(out, project_dir, vars, target) as p:
            if payload is None:
                render_preview(out, p.preview(model, limit=limit))
                return
            bodies = p.payload(model, payload, destination, sandbox=sandbox)
            code = render_payloads(out, model, bodies)
        if code:
            raise typer.Exit(code)

    run(out, go)


@app.command()
def validate(
    project_dir: opt.ProjectDir = Path("."),
    target: opt.Target = None,
    select: opt.Select = None,
    exclude: opt.Exclude = None,
    vars: opt.Vars = None,
    fmt: opt.Format = "text",
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too.")] = False,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Ask no warehouse server: column types from declarations only."
        ),
    ] = False,
    debug: opt.Debug = False,
) -> None:
    """Check that each destination's model columns fit its platform's parameters."""
    out = Output.create(fmt, debug)

    def go() -> None:
        with collector.importing():  # sqlglot, pydantic models, Jinja: ~0.3 s of imports
            from reverse_etl.cli.validate_render import render_validation

        counted = CountedWarnings(out.console)  # --strict fails on the project's warnings too
        out.console = counted
        try:
            with _load(out, project_dir, vars, target) as p:
                results = p.validate(
                    opt.selection(select), exclude=opt.selection(exclude), offline=offline
                )
                out.console = counted.inner
                code = render_validation(out, results, strict, counted.warnings)
        finally:
            # the command's own console again, for an error's document too (its warnings)
            out.console = counted.inner
        if code:
            raise typer.Exit(code)

    run(out, go)


@app.command()
def check(
    project_dir: opt.ProjectDir = Path("."),
    target: opt.Target = None,
    select: opt.Select = None,
    exclude: opt.Exclude = None,
    vars: opt.Vars = None,
    sandbox: opt.Sandbox = False,
    fmt: opt.Format = "text",
    debug: opt.Debug = False,
) -> None:
    """Check each destination's token and target with its platform's read APIs. Sends nothing."""
    out = Output.create(fmt, debug)

    def go() -> None:
        from reverse_etl.cli.render import render_check

        with _load(out, project_dir, vars, target) as p:
            code = render_check(
                out, p.check(opt.selection(select), exclude=opt.selection(exclude), sandbox=sandbox)
            )
        if code:
            raise typer.Exit(code)

    run(out, go)


@app.command()
def plan(
    project_dir: opt.ProjectDir = Path("."),
    target: opt.Target = None,
    select: opt.Select = None,
    exclude: opt.Exclude = None,
    vars: opt.Vars = None,
    sandbox: opt.Sandbox = False,
    full_refresh: opt.FullRefresh = False,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 on 'invalid' rows (or match coverage below min_match_coverage), or "
            "on any 'warning' too: for pull-request checks.",
        ),
    ] = None,
    fmt: opt.Format = "text",
    debug: opt.Debug = False,
) -> None:
    """Show what a sync would send (counts, invalid rows, sample payloads). Sends nothing."""
    out = Output.create(fmt, debug)

    def go() -> None:
        from reverse_etl.cli.render import render_plan
        from reverse_etl.pipeline.plan import FAIL_ON, plan_failures

        if fail_on is not None and fail_on not in FAIL_ON:
            raise UsageError(
                f"--fail-on must be 'invalid' or 'warning', not '{fail_on}'", key="--fail-on"
            )
        with _load(out, project_dir, vars, target) as p:
            plans = p.plan(
                opt.selection(select),
                exclude=opt.selection(exclude),
                sandbox=sandbox,
                full_refresh=full_refresh,
            )
            failures = plan_failures(plans, fail_on) if fail_on else []
            render_plan(out, plans, failures)
        if failures:
            raise typer.Exit(1)

    run(out, go)


@app.command()
def sync(
    project_dir: opt.ProjectDir = Path("."),
    target: opt.Target = None,
    select: opt.Select = None,
    exclude: opt.Exclude = None,
    vars: opt.Vars = None,
    sandbox: opt.Sandbox = False,
    full_refresh: opt.FullRefresh = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Same as 'retl plan'.")] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Send at most N rows per destination.")
    ] = None,
    yes: opt.Yes = False,
    fmt: opt.Format = "text",
    debug: opt.Debug = False,
) -> None:
    """Run the models and send their events to each destination."""
    out = Output.create(fmt, debug)

    def go() -> None:
        from reverse_etl.cli.render import render_plan, render_sync
        from reverse_etl.pipeline.report import masked_error_document

        with _load(out, project_dir, vars, target) as p:
            if dry_run:
                plans = p.plan(
                    opt.selection(select),
                    exclude=opt.selection(exclude),
                    sandbox=sandbox,
                    full_refresh=full_refresh,
                )
                render_plan(out, plans)
                return
            try:
                report = p.sync(
                    opt.selection(select),
                    exclude=opt.selection(exclude),
                    sandbox=sandbox,
                    limit=limit,
                    full_refresh=full_refresh,
                    confirm=confirmer(out, yes),
                )
            except RetlError as exc:
                stopped = p.last_sync
                if stopped is None or not stopped.results:
                    # stopped before any destination was sent to: the error, with the run's
                    # id and report once that is written (the run is in `retl runs` then)
                    if out.format == "json" and stopped is not None and stopped.report_path:
                        document = masked_error_document(output.error_document(exc, out.root))
                        document["run_id"] = stopped.run_id
                        document["report_file"] = str(stopped.report_path)
                        output.stop_with(out, exc, document)
                    raise
                # A destination was sent to before the error (another one's missing token,
                # say): its counts are said too, and are the --format json document.
                if out.format == "json":
                    output.stop_with(out, exc, stopped.to_dict(out.root))
                render_sync(out, stopped)
                raise
            render_sync(out, report)
            if not report.ok:
                raise typer.Exit(1)

    run(out, go)


@app.command()
def sandbox(
    port: Annotated[
        int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free port).")
    ] = 8787,
    record: Annotated[
        Path | None, typer.Option("--record", help="Append accepted events to this JSONL file.")
    ] = None,
    debug: opt.Debug = False,
) -> None:
    """Serve the local emulators of TikTok's Events API and Meta's Conversions API until
    Ctrl-C."""
    out = Output.create("text", debug)

    def go() -> None:
        from reverse_etl.sandbox import (
            DEMO_META_PIXEL_ID,
            DEMO_PIXEL_CODE,
            DEMO_TOKEN,
            SandboxServer,
            serve,
        )

        def ready(server: SandboxServer) -> None:
            url = server.base_url
            out.console.info(
                f"sandbox on {url} (token {DEMO_TOKEN}): TikTok Events API (pixel "
                f"{DEMO_PIXEL_CODE}; summary at {url}/_sandbox/summary) and Meta Conversions "
                f"API (POST {url}/v21.0/{DEMO_META_PIXEL_ID}/events; summary at "
                f"{url}/_sandbox/meta/summary). Ctrl-C stops it."
            )
            if feed is not None:
                out.console.info(f"received events also go to {feed} (retl ui shows them)")

        feed = project_feed(Path.cwd())  # started in a project: feed its `retl ui`
        serve(port, record_path=record, on_ready=ready, feed_path=feed)

    run(out, go)


app.add_typer(runs_app, name="runs")
app.command("ui")(ui)

state_app = typer.Typer(help="Inspect or reset what retl has sent.", no_args_is_help=True)
app.add_typer(state_app, name="state")


@state_app.command("show")
def state_show(
    project_dir: opt.ProjectDir = Path("."),
    target: opt.Target = None,
    sandbox: opt.Sandbox = False,
    fmt: opt.Format = "text",
    debug: opt.Debug = False,
) -> None:
    """Show, per destination and event source, how many rows are recorded as sent."""
    out = Output.create(fmt, debug)

    def go() -> None:
        from reverse_etl.cli.render import render_state

        with out.load(project_dir, target=target) as p:
            scopes = p.state_show(sandbox=sandbox)
            apart = None
            if not scopes and not sandbox and p.state_file(sandbox=True).exists():
                try:
                    rows: int | None = sum(s.rows or 0 for s in p.state_show(sandbox=True))
                except RetlError:
                    rows = None  # damaged or busy: `state show --sandbox` says which
                apart = (p.state_file(sandbox=True), rows)
            state = p.config.state
            where: Path | str = p.state_file(sandbox=sandbox)
            if state.location == "warehouse" and not sandbox:  # not the local file
                where = f"the warehouse's {state.schema_} tables"
            render_state(out, scopes, where, sandbox=sandbox, sandbox_state=apart)

    run(out, go)


@state_app.command("reset")
def state_reset(
    project_dir: opt.ProjectDir = Path("."),
    target: opt.Target = None,
    select: opt.Select = None,
    exclude: opt.Exclude = None,
    sandbox: opt.Sandbox = False,
    yes: opt.Yes = False,
    fmt: opt.Format = "text",
    debug: opt.Debug = False,
) -> None:
    """Forget what was sent (to the selected destinations): their next sync sends every row."""
    out = Output.create(fmt, debug)

    def go() -> None:
        with out.load(project_dir, target=target) as p:
            forgotten = p.state_reset(
                opt.selection(select),
                exclude=opt.selection(exclude),
                sandbox=sandbox,
                confirm=confirmer(out, yes),
            )
            if out.format == "json":
                out.json({"ok": True, "rows_forgotten": forgotten})
                return
            for name, n in forgotten.items():
                out.console.info(f"{name}: forgot {n} sent row(s)")
            if not forgotten:
                out.console.info("the state is empty: nothing to forget")
            if not sandbox and not any(forgotten.values()):
                _point_to_sandbox_state(out, p)

    run(out, go)


def _point_to_sandbox_state(out: Output, p: "Project") -> None:
    """A reset of the live state that forgot nothing, in a project whose sandbox runs sent
    rows: the user most likely meant those (`retl state show` points to them the same way)."""
    if not p.state_file(sandbox=True).exists():
        return
    try:
        rows = sum(s.rows or 0 for s in p.state_show(sandbox=True))
    except RetlError:
        return  # damaged or busy: `state show --sandbox` says which
    if rows:
        out.console.info(
            f"the state of 'retl sync --sandbox' runs is kept apart and holds {rows} sent "
            "row(s): 'retl state reset --sandbox' forgets them"
        )


auth_app = typer.Typer(help="Authorise retl with an ad platform (OAuth).", no_args_is_help=True)
app.add_typer(auth_app, name="auth")


@auth_app.command("tiktok")
def auth_tiktok(
    app_id: Annotated[str, typer.Option("--app-id", help="Your TikTok developer app ID.")],
    secret: Annotated[
        str,
        typer.Option(
            "--secret",
            envvar="TIKTOK_APP_SECRET",
            help="The app's secret (or TIKTOK_APP_SECRET).",
            show_default=False,
        ),
    ],
    port: Annotated[
        int,
        typer.Option("--port", help="Local redirect port (must match a registered redirect URL)."),
    ] = 8765,
    api_base_url: Annotated[
        str, typer.Option("--api-base-url", help="Business API base URL (a sandbox in tests).")
    ] = "https://business-api.tiktok.com",
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open a browser.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait.")] = 300.0,
    fmt: opt.Format = "text",
    debug: opt.Debug = False,
) -> None:
    """Run TikTok's OAuth flow and store the token (0600, outside any project)."""
    out = Output.create(fmt, debug)

    def go() -> None:
        from pydantic import SecretStr

        from reverse_etl.destinations.tiktok.auth import authorize

        def show(url: str) -> None:
            if out.format == "json":
                print(f"open this URL to authorise retl: {url}", file=sys.stderr, flush=True)
            else:
                out.console.info(f"Open this URL to authorise retl:\n{url}")

        result, path = authorize(
            app_id,
            SecretStr(secret),
            api_base_url=api_base_url,
            port=port,
            timeout=timeout,
            on_url=show,
            open_browser=browser,
        )
        if out.format == "json":
            out.json(
                {
                    "ok": True,
                    "credentials_file": str(path),
                    "advertiser_ids": list(result.advertiser_ids),
                }
            )
            return
        out.console.info(f"token stored in {path}")
        out.console.info("advertiser IDs granted: " + (", ".join(result.advertiser_ids) or "none"))

    run(out, go)


def main() -> None:
    """The console script. Usage errors (a missing argument, an unknown option) exit 1 like
    every other user error; click's default is 2, which retl keeps for its own bugs. With
    ``--format json`` on the command line, such an error is also a JSON document on stdout,
    as every other error is: a script reading it gets one either way."""
    if _json_requested(sys.argv[1:]):
        _main_json()
    try:
        _main_text()
    except SystemExit as exc:
        if exc.code == 2 and not output.UNEXPECTED.is_set():
            sys.exit(1)
        raise


_EXTRA_ARGS = re.compile(r"(unexpected extra argument(?:s|\(s\))?) \(.*\)", re.S)


def _json_requested(args: list[str]) -> bool:
    """Whether the command line asks for ``--format json`` (before click has parsed it:
    a usage error stops click before any option is read)."""
    chosen = None
    for a, b in zip(args, [*args[1:], ""], strict=False):
        if a.startswith("--format="):
            chosen = a.removeprefix("--format=")
        elif a == "--format":
            chosen = b  # the last one given wins, as click takes it
    return chosen == "json"


def _click_error() -> type[Exception]:
    """click's ``ClickException``, through typer's public BadParameter (typer vendors click
    since 0.2x)."""
    return {c.__name__: c for c in typer.BadParameter.__mro__}["ClickException"]


def _unquoted(message: str) -> str:
    """click's message without the extra arguments it quotes back: a mistyped
    ``--vars '{token: X}'`` (unquoted) leaves X as an extra argument, which would otherwise
    reach a CI log or a document CI keeps (no secret is registered to mask yet)."""
    return _EXTRA_ARGS.sub(r"\1", message)


def _main_text() -> NoReturn:
    """``app()`` as in standalone mode, click's usage block and ``Error:`` line on stderr as
    it says them, but with no extra argument quoted back (``_unquoted``)."""
    try:
        code = app(standalone_mode=False)
    except _click_error() as exc:
        error: Any = exc  # a click.ClickException
        error.message = _unquoted(str(error.message))
        error.show()
        sys.exit(error.exit_code)
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _main_json() -> NoReturn:
    """``app()`` as in standalone mode, but a usage error is said as every other error of
    ``--format json`` is: its JSON document on stdout and one ``error:`` line on stderr (not
    click's usage block)."""
    try:
        code = app(standalone_mode=False)
    except _click_error() as exc:
        error: Any = exc  # a click.ClickException
        message = _unquoted(str(error.format_message()))
        ctx = getattr(error, "ctx", None)
        key = getattr(error, "option_name", None)  # NoSuchOption, BadOptionUsage
        param = getattr(error, "param", None)  # BadParameter, MissingParameter
        if key is None and param is not None:
            key = next(iter(param.opts), None)
        hint = f"see '{ctx.command_path} --help'" if ctx is not None else None
        output.say_error(
            Output.create("json", debug=False), UsageError(message, key=key, hint=hint)
        )
        sys.exit(1)
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
