"""OAuth for ``retl auth tiktok``: get an advertiser access token and keep it in a per-user file.

The flow is TikTok's Marketing API authorisation (reference §6): the user opens the portal URL,
approves, TikTok redirects the browser to our one-shot server on 127.0.0.1 with an ``auth_code``,
and we exchange that code (plus the app secret) for a long-lived access token.

Secrets: the app secret and the access token are :class:`pydantic.SecretStr` everywhere, and no
log line, exception message or repr here contains them. The credentials file necessarily holds the
token; it lives outside any project (so it is never committed) and is readable by its owner only.
"""

from __future__ import annotations

import html
import json
import logging
import os
import secrets
import stat
import threading
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from socketserver import ThreadingMixIn
from time import monotonic
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

from pydantic import SecretStr

from reverse_etl.destinations.tiktok.vocab import (
    API_VERSION,
    CODE_BAD_APP_SECRET,
    CODE_BAD_AUTH_CODE,
    DEFAULT_API_BASE_URL,
)
from reverse_etl.errors import ConfigError, DestinationError, RetlError, TerminalDestinationError
from reverse_etl.secrets import register, secret_problem

log = logging.getLogger(__name__)

ACCESS_TOKEN_PATH: Final = f"/open_api/{API_VERSION}/oauth2/access_token/"
CALLBACK_PATH: Final = "/callback"
CREDENTIALS_ENV: Final = "RETL_CREDENTIALS_FILE"
FILE_FORMAT_VERSION: Final = 1
# A stalled browser connection gives up after this long without a byte; each connection has
# its own thread, so one that trickles cannot keep the redirect out or the flow past its
# overall timeout.
_SOCKET_TIMEOUT: Final = 10.0
# How often the waiting loop looks for an outcome a connection's thread recorded.
_POLL: Final = 0.2

_EXCHANGE_HINTS: Final = {
    CODE_BAD_APP_SECRET: "check the app ID and secret of your TikTok developer app",
    CODE_BAD_AUTH_CODE: "the authorisation code expired or was used already; start again",
}

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>retl</title></head>
<body style="font-family:sans-serif;margin:3em"><h1>{title}</h1><p>{body}</p></body></html>"""


# --------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class Credentials:
    """An advertiser access token and what it grants. ``repr`` shows the token as ``**********``."""

    access_token: SecretStr
    advertiser_ids: tuple[str, ...]
    scope: tuple[int, ...]
    app_id: str
    created_at: str  # ISO 8601, UTC
    api_base_url: str = DEFAULT_API_BASE_URL

    def to_json(self) -> dict[str, Any]:
        """The on-disk form; the only place the token value leaves its SecretStr."""
        return {
            "access_token": self.access_token.get_secret_value(),
            "advertiser_ids": list(self.advertiser_ids),
            "scope": list(self.scope),
            "app_id": self.app_id,
            "created_at": self.created_at,
            "api_base_url": self.api_base_url,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Credentials:
        """Inverse of :meth:`to_json`; raises KeyError/TypeError/ValueError on a bad entry."""
        token = data["access_token"]
        if not isinstance(token, str) or not token:
            raise ValueError("access_token must be a non-empty string")
        register(token)
        token = token.strip()  # an edited file may have gained a newline
        if not token or secret_problem(token, ascii_only=True) is not None:
            # The reason names the character class only: the caller quotes it.
            raise ValueError("access_token is not a printable ASCII string")
        return cls(
            access_token=SecretStr(token),
            advertiser_ids=tuple(str(a) for a in data.get("advertiser_ids") or ()),
            scope=tuple(int(s) for s in data.get("scope") or ()),
            app_id=str(data["app_id"]),
            created_at=str(data.get("created_at", "")),
            api_base_url=str(data.get("api_base_url") or DEFAULT_API_BASE_URL),
        )


def default_credentials_path() -> Path:
    """Where credentials live: a per-user file, never inside a project.

    ``$RETL_CREDENTIALS_FILE`` if set, else ``$XDG_CONFIG_HOME/retl/credentials.json``, else
    ``~/.config/retl/credentials.json``.
    """
    explicit = os.environ.get(CREDENTIALS_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    # The XDG spec says relative values are invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return base / "retl" / "credentials.json"


# Files that mark a folder whose content may be committed: a retl project, a git checkout.
_PROJECT_MARKERS: Final = ("retl_project.yml", "destinations.yml", ".git")
_warned: set[Path] = set()


def committable_folder(path: Path) -> Path | None:
    """The retl project or git checkout that ``path`` lies in, if any (searched upwards)."""
    resolved = path.expanduser().resolve()
    for folder in resolved.parents:
        if any((folder / marker).exists() for marker in _PROJECT_MARKERS):
            return folder
    return None


def warn_if_committable(path: Path) -> None:
    """Warn (once per file) when the credentials file lies inside a retl project or a git
    checkout: a token there can end up committed. Not refused: the user chose the path."""
    folder = committable_folder(path)
    if folder is None or path in _warned:
        return
    _warned.add(path)
    log.warning(
        "warning: the credentials file %s (%s) is inside %s, a project folder: the token in "
        "it could be committed; set %s to a path outside the project, or unset it to use %s",
        path,
        CREDENTIALS_ENV if os.environ.get(CREDENTIALS_ENV) else "the default",
        folder,
        CREDENTIALS_ENV,
        "~/.config/retl/credentials.json",
    )


class CredentialsStore:
    """A per-user JSON file of credentials, one entry per TikTok app, written atomically.

    Layout: ``{"version": 1, "last_saved": app_id, "apps": {app_id: Credentials.to_json()}}``.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_credentials_path()
        warn_if_committable(self.path)

    def __repr__(self) -> str:
        return f"CredentialsStore({str(self.path)!r})"

    def load(self, app_id: str | None = None) -> Credentials | None:
        """Credentials for ``app_id`` (None: the most recently saved), or None if there are none."""
        document = self._read()
        if document is None:
            return None
        apps = document["apps"]
        key = app_id if app_id is not None else document.get("last_saved")
        entry = apps.get(key) if isinstance(key, str) else None
        if entry is None:
            return None
        try:
            return Credentials.from_json(entry)
        except (KeyError, TypeError, ValueError) as exc:
            why = f"the entry for app {key!r} is invalid ({type(exc).__name__})"
            raise self._corrupt(why) from None

    def save(self, app_id: str, credentials: Credentials) -> None:
        """Add or replace the entry for ``app_id`` and make it the default for :meth:`load`."""
        document = self._read() or {"version": FILE_FORMAT_VERSION, "apps": {}}
        document["apps"][app_id] = credentials.to_json()
        document["last_saved"] = app_id
        self._write(json.dumps(document, indent=2, sort_keys=True).encode() + b"\n")

    # -- internals

    def _corrupt(self, why: str) -> ConfigError:
        return ConfigError(
            f"cannot read the credentials file: {why}",
            file=self.path,
            hint="delete the file and run `retl auth tiktok` again",
        )

    def _read(self) -> dict[str, Any] | None:
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return None
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            # Refusing would lock the user out of their own token; tightening fixes the exposure.
            log.warning(
                "credentials file %s was readable by other users (mode %o); setting it to 600",
                self.path,
                stat.S_IMODE(mode),
            )
            os.chmod(self.path, 0o600)
        try:
            document = json.loads(self.path.read_bytes())
        except OSError as exc:
            raise self._corrupt(exc.strerror or type(exc).__name__) from None
        except ValueError:
            # from None: a JSON error's message would quote the file, token included.
            raise self._corrupt("it is not valid JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("apps"), dict):
            raise self._corrupt("unexpected layout")
        if document.get("version", FILE_FORMAT_VERSION) > FILE_FORMAT_VERSION:
            raise self._corrupt("it was written by a newer retl")
        return document

    def _write(self, payload: bytes) -> None:
        directory = self.path.parent
        _make_private_dirs(directory)
        tmp = directory / f".{self.path.name}.{secrets.token_hex(6)}.tmp"
        # O_EXCL + 0600 at creation: the token is never, even briefly, in a readable file.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(directory)


def _make_private_dirs(directory: Path) -> None:
    """Create missing directories as 0700; existing ones are left alone (they may be shared)."""
    missing: list[Path] = []
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; not possible (nor needed) on Windows."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- OAuth flow


@dataclass(frozen=True)
class OAuthResult:
    """What ``run_oauth_flow`` obtained: the credentials to save and the advertisers granted."""

    credentials: Credentials
    advertiser_ids: tuple[str, ...]


def build_authorization_url(
    app_id: str, state: str, redirect_uri: str, auth_base_url: str = DEFAULT_API_BASE_URL
) -> str:
    """The TikTok For Business page where the advertiser approves access for ``app_id``."""
    query = urlencode({"app_id": app_id, "state": state, "redirect_uri": redirect_uri})
    return f"{auth_base_url.rstrip('/')}/portal/auth?{query}"


@dataclass
class _Outcome:
    code: str | None = None
    error: RetlError | None = None


class _CallbackServer(ThreadingMixIn, HTTPServer):
    """Holds the expected state and the outcome the handler records. Each connection is
    served by a thread of its own (daemon, not waited for on close): a connection that
    sends its request a byte at a time held the one-shot server, so the real redirect
    waited behind it and the flow outlived its --timeout."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, port: int, expected_state: str) -> None:
        super().__init__(("127.0.0.1", port), _CallbackHandler)
        self.expected_state = expected_state
        self.outcome: _Outcome | None = None
        self.refused = 0  # callbacks with another state: refused, the flow goes on
        self._lock = threading.Lock()

    def record(self, outcome: _Outcome) -> None:
        """The first outcome stands: a later callback (another thread's) changes nothing."""
        with self._lock:
            if self.outcome is None:
                self.outcome = outcome

    def count_refused(self) -> None:
        with self._lock:
            self.refused += 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser that hung up before the answer was written (a broken pipe): the outcome
        # was recorded first; socketserver's default prints a traceback to stderr.
        log.debug("OAuth callback server: a connection failed", exc_info=True)


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _CallbackServer
    timeout = _SOCKET_TIMEOUT

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != CALLBACK_PATH:
            # Browsers also ask for /favicon.ico; that must not end the flow.
            self._answer(404, "Not found", "This server only waits for TikTok's redirect.")
            return
        query = parse_qs(url.query)
        state = (query.get("state") or [""])[0]
        code = (query.get("auth_code") or query.get("code") or [""])[0]
        if not secrets.compare_digest(state.encode(), self.server.expected_state.encode()):
            # Not the redirect this flow asked for (a stale URL, or another page poking the
            # port): refused, and the flow goes on waiting for its own (any page could end
            # it with an image pointing here).
            self.server.count_refused()
            self._answer(400, "Authorisation failed", "The state did not match this login.")
            return
        if not code:
            self._answer(400, "Authorisation failed", "TikTok sent no authorisation code.")
            self.server.record(
                _Outcome(
                    error=RetlError(
                        "the OAuth callback carried no auth_code (was access declined?)",
                        hint="run `retl auth tiktok` again and approve access",
                    )
                )
            )
            return
        self.server.record(_Outcome(code=code))  # first: the answer may not get through
        self._answer(
            200,
            "retl is authorised",
            "You can close this tab and return to the terminal.",
        )

    def _answer(self, status: int, title: str, body: str) -> None:
        page = _PAGE.format(title=html.escape(title), body=html.escape(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes the request line, auth_code included, to stderr.
        log.debug("OAuth callback server: %s %s", self.command, urlsplit(self.path).path)


def run_oauth_flow(
    app_id: str,
    secret: SecretStr,
    *,
    api_base_url: str,
    auth_base_url: str | None = None,
    port: int = 0,
    timeout: float = 300.0,
    on_url: Callable[[str], None],
    open_browser: bool = False,
) -> OAuthResult:
    """Run the browser authorisation and exchange the code for an access token.

    ``auth_base_url`` defaults to ``api_base_url`` (both are business-api.tiktok.com in
    production; the sandbox serves both). TikTok only redirects to registered redirect URLs, so
    with the real API pass the ``port`` of the registered ``http://127.0.0.1:PORT/callback``;
    port 0 picks a free one, which suits the sandbox.
    """
    state = secrets.token_urlsafe(32)
    try:
        server = _CallbackServer(port, state)
    except OSError as exc:
        raise RetlError(
            f"cannot listen on 127.0.0.1:{port} for the OAuth callback ({exc.strerror})",
            hint="pick another port (and register its redirect URL in the TikTok app)",
        ) from None
    with server:
        redirect_uri = f"http://127.0.0.1:{server.server_address[1]}{CALLBACK_PATH}"
        url = build_authorization_url(app_id, state, redirect_uri, auth_base_url or api_base_url)
        log.debug("waiting for the OAuth callback on %s", redirect_uri)
        on_url(url)
        if open_browser:
            try:
                webbrowser.open(url)
            except webbrowser.Error:
                log.debug("could not open a browser; the URL was given to on_url")
        code = _wait_for_code(server, timeout)
    return _exchange(app_id, secret, code, api_base_url)


def _wait_for_code(server: _CallbackServer, timeout: float) -> str:
    deadline = monotonic() + timeout
    while server.outcome is None:
        remaining = deadline - monotonic()
        if remaining <= 0:
            refused = (
                f" ({server.refused} callback(s) with another state were refused: a stale URL, "
                "or another page; possible CSRF)"
                if server.refused
                else ""
            )
            raise RetlError(
                f"no OAuth callback arrived within {timeout:g} seconds{refused}",
                hint="open the printed URL in a browser, approve access, and run "
                "`retl auth tiktok` again (raise --timeout if you need longer)",
            )
        server.timeout = min(remaining, _POLL)
        server.handle_request()
    if server.outcome.error is not None:
        raise server.outcome.error
    assert server.outcome.code is not None
    return server.outcome.code


def _exchange(app_id: str, secret: SecretStr, code: str, api_base_url: str) -> OAuthResult:
    from reverse_etl.destinations.tiktok.client import TikTokClient

    register(secret.get_secret_value(), code)
    body = {"app_id": app_id, "secret": secret.get_secret_value(), "auth_code": code}
    try:
        with TikTokClient(api_base_url, None) as client:
            data = client.call("POST", ACCESS_TOKEN_PATH, json=body, authenticated=False)
    except DestinationError as exc:
        hint = _EXCHANGE_HINTS.get(exc.code) if exc.code is not None else None
        if hint is None:
            raise
        # A new error rather than a mutated one: Problem records are built at construction.
        raise TerminalDestinationError(exc.message, code=exc.code, hint=hint) from exc
    token = data.get("access_token")
    if isinstance(token, str):
        register(token)
    if not isinstance(token, str) or not token:
        raise TerminalDestinationError(
            "TikTok's token exchange answered without an access_token",
            hint="run `retl auth tiktok` again; if it persists, check the app's permissions",
        )
    problem = secret_problem(token, ascii_only=True)
    if problem is not None or token != token.strip():
        # Stored, it would fail every sync with an error about an invalid header.
        raise TerminalDestinationError(
            f"TikTok's token exchange answered with an access_token that "
            f"{problem or 'has whitespace around it'}",
            hint="run `retl auth tiktok` again; if it persists, contact TikTok support",
        )
    advertiser_ids = tuple(str(a) for a in _id_list(data, "advertiser_ids"))
    scope = tuple(int(s) for s in _id_list(data, "scope", digits=True))
    credentials = Credentials(
        access_token=SecretStr(token),
        advertiser_ids=advertiser_ids,
        scope=scope,
        app_id=app_id,
        created_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        api_base_url=api_base_url,
    )
    return OAuthResult(credentials, advertiser_ids)


def _id_list(data: dict[str, Any], field: str, *, digits: bool = False) -> list[str | int]:
    """``data[field]``: a list of IDs (texts or integers; ``digits``: of digits only), or an
    error naming the field. A text was stored as its characters ("7001" as 7, 0, 0, 1), an
    object as its repr, and a scope that was no number exited as a bug."""
    value = data.get(field) or []
    ok = isinstance(value, list) and all(
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, str) and (v.isdigit() if digits else bool(v.strip())))
        for v in value
    )
    if not ok:
        raise TerminalDestinationError(
            f"TikTok's token exchange answered with a {field} that is not a list of IDs",
            hint="run `retl auth tiktok` again; if it persists, contact TikTok support",
        )
    return list(value)


def authorize(
    app_id: str,
    secret: SecretStr,
    *,
    api_base_url: str = DEFAULT_API_BASE_URL,
    port: int = 0,
    timeout: float = 300.0,
    on_url: Callable[[str], None],
    open_browser: bool = False,
    store: CredentialsStore | None = None,
) -> tuple[OAuthResult, Path]:
    """``retl auth tiktok``: run the browser flow and save the token in the per-user store."""
    result = run_oauth_flow(
        app_id,
        secret,
        api_base_url=api_base_url,
        port=port,
        timeout=timeout,
        on_url=on_url,
        open_browser=open_browser,
    )
    target = store or CredentialsStore()
    target.save(app_id, result.credentials)
    return result, target.path
