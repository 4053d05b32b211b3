"""No form of a secret reaches stdout, stderr or any file, whatever shape the secret is in.

The CLI cases run the real ``retl sync`` in a subprocess against a server on loopback, with a
distinctive token, then search everything the run could have written (stdout, stderr, the
project with its run reports, HOME and TMPDIR) for the token: raw, as str and bytes repr,
percent-encoded and JSON-escaped. A token with a control or non-ASCII character is searched
for by its halves as well, since a message could quote the part before the bad character.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import psycopg
import pytest
from pydantic import SecretStr

from reverse_etl.destinations.tiktok.auth import Credentials, CredentialsStore
from reverse_etl.engine.postgres import PostgresConnection, _connect_error
from reverse_etl.errors import ConfigError
from reverse_etl.sandbox import DEMO_ADVERTISER_ID, DEMO_PIXEL_CODE, SandboxServer, SandboxWorld
from tests.conftest import CliResult, MakeProject, RunCli

# Two distinctive halves with characters that every encoding changes ('/', '+', '=', '"', '\').
HALF_A = "sentA7f3/Q9+zq="
HALF_B = 'sentB2k8"W4\\xv'
TOKEN = HALF_A + HALF_B
NOW = int(time.time()) - 3600


def forms(text: str) -> set[str]:
    """Every way ``text`` may be written: its own, reprs, percent-encodings, JSON escapes."""
    out = {
        text,
        repr(text)[1:-1],
        ascii(text)[1:-1],
        repr(text.encode("utf-8", "backslashreplace"))[2:-1],
        quote(text, safe=""),
        quote(text),
        quote_plus(text),
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
    }
    out |= {json.dumps(f)[1:-1] for f in list(out)}  # a JSON report of a repr
    return out


def assert_nowhere(needles: list[str], stdout: str, stderr: str, *roots: Path) -> None:
    texts = {"stdout": stdout.encode(), "stderr": stderr.encode()}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                texts[str(path)] = path.read_bytes()
    assert any(root.rglob("*.json") for root in roots)  # the run report was searched too
    for needle in needles:
        for form in forms(needle):
            for where, data in texts.items():
                assert form.encode() not in data, f"{form!r} found in {where}"


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    made = {name: tmp_path / name for name in ("project", "home", "tmp")}
    for path in made.values():
        path.mkdir()
    return made


def write_events_project(make_project: MakeProject, root: Path, base_url: str) -> Path:
    model = (
        "select 'Purchase' as event, 'order-' || i as event_id, "
        f"{NOW} - i as event_time, 'user' || i || '@example.com' as email "
        "from range(3) t(i)"
    )
    destinations = f"""
        destinations:
          tiktok:
            type: tiktok_events
            model: events
            auth_method: access_token
            access_token: "{{{{ env_var('TIKTOK_ACCESS_TOKEN') }}}}"
            event_source_id: {DEMO_PIXEL_CODE}
            api_base_url: {base_url}
            thread_count: 1
        """
    return make_project(root, {"models/events.sql": model, "destinations.yml": destinations})


def sync(
    run: RunCli | Callable[..., CliResult], dirs: dict[str, Path], token: str, *flags: str
) -> tuple[int, str, str]:
    """``retl sync`` through ``run`` (a subprocess, or in this process where a table of
    cases would otherwise start an interpreter each) with HOME and TMPDIR in ``dirs``."""
    env: dict[str, str | None] = {
        "TIKTOK_ACCESS_TOKEN": token,
        "HOME": str(dirs["home"]),
        "TMPDIR": str(dirs["tmp"]),
        "XDG_CONFIG_HOME": None,
        "RETL_CREDENTIALS_FILE": None,
    }
    proc = run("sync", "--project-dir", dirs["project"], *flags, env=env)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    world = SandboxWorld.demo()
    world.add_token(TOKEN, [DEMO_ADVERTISER_ID])
    with SandboxServer(world) as srv:
        yield srv


@pytest.mark.slow
def test_a_token_with_a_trailing_newline_is_stripped_with_a_warning(
    sandbox: SandboxServer, dirs: dict[str, Path], make_project: MakeProject, run_cli: RunCli
) -> None:
    write_events_project(make_project, dirs["project"], sandbox.base_url)
    code, out, err = sync(run_cli, dirs, TOKEN + "\n", "--format", "json")
    assert code == 0, err
    assert sandbox.stats.events_accepted == 3
    # A warning as any other (README): in the JSON document, at its file as the project
    # spells it, and not on stderr (it was a stray log line there, with the absolute path).
    warning = next(w for w in json.loads(out)["warnings"] if "whitespace" in w["message"])
    assert warning["file"] == "destinations.yml" and warning["line"] is not None
    assert warning["key"] == "destinations.tiktok.access_token"
    assert "TIKTOK_ACCESS_TOKEN" in warning["message"]
    assert "whitespace" not in err, err
    assert_nowhere([TOKEN + "\n", TOKEN], out, err, *dirs.values())
    code, out, err = sync(run_cli, dirs, TOKEN + "\n", "--full-refresh", "--yes")
    assert code == 0, err
    assert "warning: destinations.yml:" in err and "had whitespace around it" in err
    assert str(dirs["project"]) not in err
    assert_nowhere([TOKEN + "\n", TOKEN], out, err, *dirs.values())


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (HALF_A + "\x01" + HALF_B, "control character"),
        (HALF_A + "\n" + HALF_B, "control character"),
        (HALF_A + "é" + HALF_B, "non-ASCII"),
    ],
)
def test_an_impossible_token_is_a_located_config_error_that_does_not_quote_it(
    sandbox: SandboxServer,
    dirs: dict[str, Path],
    make_project: MakeProject,
    cli: Callable[..., CliResult],
    bad: str,
    why: str,
) -> None:
    write_events_project(make_project, dirs["project"], sandbox.base_url)
    code, out, err = sync(cli, dirs, bad, "--debug")
    assert code == 1, err
    assert "destinations.yml:6" in err and "destinations.tiktok.access_token" in err
    assert "TIKTOK_ACCESS_TOKEN" in err and why in err
    assert sandbox.stats.events_accepted == 0
    assert_nowhere([bad, HALF_A, HALF_B], out, err, *dirs.values())


class EchoingServer(ThreadingHTTPServer):
    """Answers every request with TikTok's bad-token error, quoting the token back in the
    forms a careless gateway or library would: raw, bytes repr, percent-encoded."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        token = self.headers.get("Access-Token", "")
        message = (
            f"Access token {token} is incorrect (header {token.encode()!r}, "
            f"url {quote(token, safe='')}, form {quote_plus(token)}, repr {token!r})"
        )
        body = json.dumps({"code": 40105, "message": message, "request_id": "RID"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST


@pytest.fixture
def echoing() -> Iterator[EchoingServer]:
    server = EchoingServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        server.thread.join(timeout=5)


@pytest.mark.slow
def test_a_server_that_quotes_the_token_back_in_any_form_gets_it_masked(
    echoing: EchoingServer, dirs: dict[str, Path], make_project: MakeProject, run_cli: RunCli
) -> None:
    write_events_project(make_project, dirs["project"], echoing.base_url)
    code, out, err = sync(run_cli, dirs, TOKEN, "--format", "json", "--debug")
    assert code == 1, err
    assert "is incorrect" in out + err and "**********" in out + err
    assert_nowhere([TOKEN], out, err, *dirs.values())


# -- library level: the other places a secret is read ----------------------------------------


def test_scrub_masks_every_form_of_a_registered_secret() -> None:
    from reverse_etl.secrets import scrub  # here: the other tests also run on older code

    secret = "libA9/x+y=" + '"q\\' + "é-libB7"
    text = " | ".join(sorted(forms(secret)))
    assert scrub(text, [secret]).replace("**********", "").strip(" |") == ""


def test_a_postgres_connection_error_never_quotes_the_password() -> None:
    password = 'pgS3cr/et+"pw=\\'
    conn = PostgresConnection(password=SecretStr(password))
    quoted = (
        f"connection failed: dsn 'password={password}' {password.encode()!r} "
        f"{quote(password, safe='')}: FATAL:  password authentication failed for user x"
    )
    error = _connect_error(conn, psycopg.OperationalError(quoted))
    for form in forms(password):
        assert form not in str(error) and form not in repr(error)
    assert "password authentication failed" in str(error)


@pytest.mark.parametrize(
    ("warehouse", "key"),
    [
        ('{type: postgres, dbname: "dbname=app password=S3cretPW!xyz"}', "warehouse.dbname"),
        ('{type: postgres, database: "postgresql://u:S3cretPW!xyz@h/app"}', "warehouse.database"),
        (
            '{type: postgres, host: "postgresql://u:S3cretPW!xyz@h/app", dbname: a}',
            "warehouse.host",
        ),
        ('{type: postgres, dbname: a, user: "u password=S3cretPW!xyz"}', "warehouse.user"),
        ('{type: spark, remote: "sc://jane:S3cretPW!xyz@127.0.0.1:1"}', "warehouse"),
    ],
)
def test_a_password_in_a_warehouse_value_that_is_printed_is_refused_unquoted(
    warehouse: str, key: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """These values are printed in messages (cannot connect to PostgreSQL at ..., database
    "..."; cannot reach Spark Connect at ...): a connection string written in one printed its
    password, and neither libpq nor Spark Connect reads a password there (an audit)."""
    (tmp_path / "retl_project.yml").write_text(f"name: x\nwarehouse: {warehouse}\n")
    (tmp_path / "destinations.yml").write_text("destinations: {}\n")
    result = cli("plan", "--project-dir", tmp_path)
    assert result.returncode == 1
    assert f"retl_project.yml:2 {key}:" in result.stderr
    assert "S3cretPW" not in result.stdout + result.stderr


def test_a_stored_oauth_token_is_stripped_or_refused_without_being_quoted(
    tmp_path: Path,
) -> None:
    entry = {"access_token": TOKEN + "\r\n", "app_id": "APP", "advertiser_ids": ["1"]}
    assert Credentials.from_json(entry).access_token.get_secret_value() == TOKEN
    store = CredentialsStore(tmp_path / "credentials.json")
    bad = HALF_A + "\x07" + HALF_B
    document = {"version": 1, "last_saved": "APP", "apps": {"APP": {**entry, "access_token": bad}}}
    store.path.write_text(json.dumps(document))
    store.path.chmod(0o600)
    with pytest.raises(ConfigError) as info:
        store.load()
    text = str(info.value) + repr(info.value) + "".join(info.value.render_lines())
    assert "credentials" in text
    for needle in (bad, HALF_A, HALF_B):
        for form in forms(needle):
            assert form not in text


@pytest.mark.parametrize(
    ("warehouse", "key"),
    [
        (
            "{type: postgres, host: 127.0.0.1, port: 1, dbname: app}",
            "retl_project.yml:2 warehouse.host",
        ),
        (
            "{type: duckdb, attach: [{name: crm, type: postgres, "
            "dsn: 'host=127.0.0.1 port=1 dbname=crm'}]}",
            "warehouse.attach.crm",
        ),
        pytest.param(
            "{type: spark, remote: 'sc://127.0.0.1:1'}",
            "retl_project.yml:2 warehouse.remote",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("pyspark") is None, reason="pyspark is not installed"
            ),
        ),
    ],
)
def test_retl_allowed_hosts_keeps_credentials_from_a_host_the_project_chose(
    warehouse: str, key: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """retl_project.yml (a pull request's) names the server: libpq sent it PGPASSWORD, or
    any password the project's settings read, wherever it was (an audit). Whoever runs retl
    may list the hosts it may reach; the project cannot."""
    (tmp_path / "retl_project.yml").write_text(f"name: x\nwarehouse: {warehouse}\n")
    (tmp_path / "destinations.yml").write_text(
        "destinations:\n  tt:\n    type: tiktok_events\n    model: ev\n    access_token: x\n"
        "    event_source_id: CSANDBOXDEMOPIXEL001\n"
    )
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "ev.sql").write_text("select 'Purchase' as event, 'e1' as event_id")
    env = {"RETL_ALLOWED_HOSTS": "db.internal, warehouse.example.com", "PGPASSWORD": "pg-SECRET"}
    result = cli("plan", "--sandbox", "--project-dir", tmp_path, env=env)
    assert result.returncode == 1
    said = " ".join(result.stderr.split())
    assert f"{key}: retl may not connect to 127.0.0.1: RETL_ALLOWED_HOSTS lists only " in said
    assert "cannot start" not in said  # Spark's refusal is not a session that failed
    assert "pg-SECRET" not in said


def test_retl_allowed_hosts_checks_the_address_libpq_connects_to_not_only_the_name(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """libpq connects to hostaddr when host names the server only for TLS: 'host=db.internal
    hostaddr=127.0.0.1' passed the check and sent PGPASSWORD to 127.0.0.1 (an audit)."""
    dsn = "host=db.internal hostaddr=127.0.0.1 port=1 dbname=crm"
    (tmp_path / "retl_project.yml").write_text(
        f"name: x\nwarehouse: {{type: duckdb, attach: [{{name: crm, type: postgres, "
        f"dsn: '{dsn}'}}]}}\n"
    )
    (tmp_path / "destinations.yml").write_text("destinations: {}\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "ev.sql").write_text("select 1 as a")
    result = cli("show", "ev", "--project-dir", tmp_path, env={"RETL_ALLOWED_HOSTS": "db.internal"})
    assert result.returncode == 1
    assert "retl may not connect to 127.0.0.1" in " ".join(result.stderr.split())


@pytest.mark.parametrize(
    "call",
    [
        "postgres_scan('host=127.0.0.1 dbname=x', 'public', 't')",
        "POSTGRES_QUERY('crm', 'select 1')",
        "sqlite_scan('/tmp/x.sqlite', 't')",
    ],
)
def test_a_model_may_not_call_a_database_connector(
    call: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """Once an attachment loaded DuckDB's postgres extension, a model's postgres_scan() went
    to a host of its choosing, past RETL_ALLOWED_HOSTS, and libpq sent it PGPASSWORD."""
    (tmp_path / "retl_project.yml").write_text("name: x\n")
    (tmp_path / "destinations.yml").write_text("destinations: {}\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "ev.sql").write_text(f"select * from {call}")
    result = cli("show", "ev", "--project-dir", tmp_path)
    assert result.returncode == 1
    said = " ".join(result.stderr.split())
    assert "model 'ev' calls " in said and "only through warehouse.attach" in said


@pytest.mark.parametrize(
    "key",
    [
        "spark.driver.extraJavaOptions",
        "spark.jars.packages",
        "spark.sql.extensions",
        "spark.sql.catalog.evil",
        "spark.plugins",
        "spark.sql.warehouse.dir",
        "spark.shuffle.manager",
    ],
)
def test_a_spark_setting_that_loads_code_is_refused(
    key: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """An in-process session handed warehouse.conf to spark-submit and the JVM: a Java agent
    or package from a pull request would run (an audit)."""
    (tmp_path / "retl_project.yml").write_text(
        f"name: x\nwarehouse:\n  type: spark\n  master: local[1]\n  conf:\n    {key}: x\n"
    )
    (tmp_path / "destinations.yml").write_text("destinations: {}\n")
    result = cli("validate", "--project-dir", tmp_path)
    assert result.returncode == 1
    assert f"'{key}' is not a Spark setting retl_project.yml may give" in " ".join(
        result.stderr.split()
    )
    fine = "spark.sql.shuffle.partitions"
    (tmp_path / "retl_project.yml").write_text(
        f"name: x\nwarehouse:\n  type: spark\n  master: local[1]\n  conf:\n    {fine}: '8'\n"
    )
    assert "not a Spark setting" not in cli("validate", "--project-dir", tmp_path).stderr


@pytest.mark.parametrize("kind", ["tiktok_events", "meta_conversions"])
def test_the_token_goes_only_to_the_platform_this_machine_or_a_listed_host(
    kind: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """A pull request that names another host in api_base_url would have the next sync send
    the access token there: only the platform's API, this machine and the hosts the runner
    lists in RETL_ALLOWED_HOSTS take it, and a URL whose host two parsers could read
    differently (a user part, a backslash) is refused outright."""
    target = "event_source_id: X" if kind == "tiktok_events" else "pixel_id: '1'"
    platform = (
        "https://business-api.tiktok.com"
        if kind == "tiktok_events"
        else ("https://graph.facebook.com")
    )
    cases = [
        (platform, {}, None),
        (f"{platform}/", {}, None),
        ("http://localhost:8080/x", {}, None),
        ("https://proxy.corp.example/tt", {}, "add proxy.corp.example to RETL_ALLOWED_HOSTS"),
        ("https://proxy.corp.example/tt", {"RETL_ALLOWED_HOSTS": "proxy.corp.example"}, None),
        ("https://PROXY.corp.example", {"RETL_ALLOWED_HOSTS": "db, proxy.corp.example"}, None),
        (f"{platform}.evil.example", {}, "none of them"),
        ("https://business-api.tiktok.com@evil.example", {}, "plain URL"),
        ("https://evil.example\\@graph.facebook.com", {}, "plain URL"),
        (f"{platform}/?x=1", {}, "plain URL"),
    ]
    for url, env, says in cases:
        (tmp_path / "destinations.yml").write_text(
            f"destinations:\n  d:\n    type: {kind}\n    model: ev\n    access_token: x\n"
            f"    {target}\n    api_base_url: '{url}'\n"
        )
        (tmp_path / "retl_project.yml").write_text("name: x\n")
        result = cli("validate", "--project-dir", tmp_path, env=env)
        said = " ".join(result.stderr.split())
        assert "Traceback" not in said
        if says is None:
            assert "api_base_url" not in said, (url, said)
        else:
            assert "api_base_url" in said and says in said, (url, said)


@pytest.mark.parametrize("kind", ["tiktok_events", "meta_conversions"])
def test_an_api_base_url_over_plain_http_is_refused_but_to_this_machine(
    kind: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """The access token goes in a header: plain http carried it in clear to any host."""
    target = "event_source_id: X" if kind == "tiktok_events" else "pixel_id: '1'"
    for url, refused in (("http://api.example.com", True), ("http://127.0.0.1:9", False)):
        (tmp_path / "destinations.yml").write_text(
            f"destinations:\n  d:\n    type: {kind}\n    model: ev\n    access_token: x\n"
            f"    {target}\n    api_base_url: {url}\n"
        )
        (tmp_path / "retl_project.yml").write_text("name: x\n")
        result = cli("validate", "--project-dir", tmp_path)
        said = " ".join(result.stderr.split())
        assert ("http:// only for this machine" in said) is refused, said
