"""HTML building: everything from the project is escaped, only ``Html`` values are not.

Project files are untrusted input (a model may be called ``<script>``): every value goes
through :func:`esc` unless it is an :class:`Html` fragment this package built itself. What
:func:`esc` writes is also masked (:func:`shown`): e-mail addresses, phone numbers and IPv4
addresses as everywhere else (``pii_text.mask_text``), control characters and bidi
overrides as escapes (as the console writes them). Links are the one thing not masked: they
are built here from names that show no personal data (:func:`destination_href`).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from reverse_etl.destinations.shared.pii_text import mask_text, masked_key
from reverse_etl.reporting.console import terminal_safe

if TYPE_CHECKING:
    from reverse_etl.errors import Problem, RetlError

NAV = (
    ("runs", "/", "Runs"),
    ("destinations", "/destinations", "Destinations"),
    ("plan", "/plan", "Plan"),
    ("events", "/events", "Test events"),
)


class Html(str):
    """A fragment of HTML built here: :func:`esc` leaves it as it is."""

    __slots__ = ()


def esc(value: Any) -> Html:
    """``value`` as HTML text (quotes too, so it is safe in an attribute), as :func:`shown`."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(shown("" if value is None else str(value)), quote=True))


def shown(text: str) -> str:
    """``text`` as the page shows it: e-mail addresses, ``+`` phone numbers and IPv4
    addresses masked (a platform's message, a run's command or a destination's name may
    quote one), and control characters and bidi overrides written as escapes (``\\u202e``:
    an override in a name would show the rest of its cell backwards)."""
    return terminal_safe(mask_text(text))


def join(parts: Iterable[str]) -> Html:
    return Html("\n".join(parts))


def link(href: str, text: Any, **attrs: str) -> Html:
    """A link to ``href`` (a path built here: escaped, not masked) showing ``text``."""
    extra = "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    return Html(f'<a href="{html.escape(href, quote=True)}"{extra}>{esc(text)}</a>')


def path_part(value: str) -> str:
    """``value`` as one URL path segment."""
    return quote(value, safe="")


def destination_href(name: str) -> str:
    """The link to a destination's page. A name the page shows masked (an e-mail address, a
    phone number) is linked by its ``masked_key`` (``sha256:`` and 12 hex digits, as a PII
    key is logged): the raw name is never in the page, nor in the address bar, and the
    link still leads to it (:func:`destination_named`)."""
    return "/destinations/" + path_part(name if mask_text(name) == name else masked_key(name))


def destination_named(names: Iterable[str], part: str) -> str | None:
    """The destination a :func:`destination_href` path segment (unquoted) names."""
    found = list(names)
    if part in found:
        return part
    return next((n for n in found if mask_text(n) != n and masked_key(n) == part), None)


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    table_id: str = "",
    empty: str = "Nothing yet.",
) -> Html:
    """A table; cells are escaped unless they are ``Html``."""
    body = ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows]
    if not body:
        return Html(f'<p class="empty">{esc(empty)}</p>')
    ident = f' id="{esc(table_id)}"' if table_id else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return Html(
        f"<table{ident}><thead><tr>{head}</tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    )


def badge(text: str, kind: str) -> Html:
    return Html(f'<span class="badge {esc(kind)}">{esc(text)}</span>')


def when(value: object) -> str:
    """A time as people read it (seconds, UTC); ``-`` for what is not a time (a feed line
    written by hand, a number out of range)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            value = dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
        except (OverflowError, ValueError, OSError):
            return "-"
    if not isinstance(value, dt.datetime):
        return "-"
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if value.tzinfo else "")


def page(title: str, active: str, project: str, body: str, *, script: bool = False) -> Html:
    """The whole document: nav, title, body. ``script`` adds /static/app.js (no inline JS:
    the Content-Security-Policy forbids it)."""
    nav = " ".join(
        link(href, text, **({"aria_current": "page"} if key == active else {}))
        for key, href, text in NAV
    )
    js = '<script src="/static/app.js" defer></script>' if script else ""
    return Html(
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} - retl</title>"
        f'<link rel="stylesheet" href="/static/app.css">{js}</head>\n<body>'
        f'<header><span class="brand">retl</span> <span class="project">{esc(project)}</span>'
        f"<nav>{nav}</nav></header>\n<main><h1>{esc(title)}</h1>\n{body}\n</main></body></html>\n"
    )


def error_box(message: str, hint: str | None = None) -> Html:
    more = f'<p class="hint">{esc(hint)}</p>' if hint else ""
    return Html(f'<div class="error"><p>{esc(message)}</p>{more}</div>')


def problems_box(exc: RetlError, root: Path | None) -> Html:
    """An error as the CLI says it: a line per problem, with its file (relative to the
    project ``root``), line, key and hint (a summary's first hint alone named no problem)."""
    lines = "".join(f"<p>{esc(line)}</p>" for line in exc.render_lines(root))
    return Html(f'<div class="error">{lines}</div>')


def warnings_box(problems: Sequence[Problem], root: Path | None) -> Html:
    """Warnings as the CLI says them, the way :func:`problems_box` says an error: a line per
    warning, at its file (relative to the project ``root``), line and key, with its hint.
    Nothing when there is none."""
    return _lines_box(problems, root, "warning")


def notes_box(problems: Sequence[Problem], root: Path | None) -> Html:
    """Notes (what the CLI says as ``note: ...``, neither a warning nor an error: a value
    read in another case, a model not run) the way :func:`warnings_box` says warnings."""
    return _lines_box(problems, root, "notes")


def _lines_box(problems: Sequence[Problem], root: Path | None, css_class: str) -> Html:
    if not problems:
        return Html("")
    lines = "".join(f"<p>{esc(p.shown_from(root).render())}</p>" for p in problems)
    return Html(f'<div class="{css_class}">{lines}</div>')
