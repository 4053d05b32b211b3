"""Secrets in text: what a secret may look like, and masking it wherever text leaves retl.

A secret leaks in forms other than its own: an exception quotes it as ``repr`` or as a bytes
repr (``Illegal header value b'TOKEN\\n'``), a URL carries it percent-encoded, a JSON document
escapes it, and a repr of any of those escapes it once more. :func:`scrub` masks every such
form of every secret this process has used (:func:`register`), so the places where text leaves
retl (stdout, stderr, run reports) need no knowledge of which secrets exist. This is what CI
systems do with their masked variables, and it is a second line: code that handles a secret
keeps it out of messages in the first place.

:func:`secret_problem` is the other half: a token with a control character or a non-ASCII
character can never be valid, and sending it only produces an error that quotes it.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, quote_plus

from reverse_etl.errors import ConfigError, Problem

log = logging.getLogger(__name__)
# The attribute of a log record that carries its warning as a located Problem.
PROBLEM_ATTR: Final = "retl_problem"

MASK: Final = "**********"
# Shorter values would mask ordinary words in every message, and guessing them is trivial.
MIN_SCRUB_LENGTH: Final = 4

_noted: set[tuple[str, str]] = set()  # (file, key) whose whitespace this command reported


def _inner(quoted: str) -> str:
    """``'abc'`` / ``"abc"`` / ``b'abc'`` without the prefix and quotes."""
    start = 2 if quoted[:1] == "b" else 1
    return quoted[start:-1]


def _bytes_reprs(text: str) -> list[str]:
    forms = [_inner(repr(text.encode("utf-8", "backslashreplace")))]
    with contextlib.suppress(UnicodeEncodeError):
        forms.append(_inner(repr(text.encode("latin-1"))))
    return forms


_ESCAPES: Final[tuple[Callable[[str], str], ...]] = (
    lambda s: _inner(repr(s)),
    lambda s: _inner(ascii(s)),
    lambda s: json.dumps(s)[1:-1],
    lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
)
_ENCODINGS: Final[tuple[Callable[[str], str], ...]] = (
    lambda s: quote(s, safe=""),
    quote,
    quote_plus,
    html.escape,
)


def representations(secret: str) -> frozenset[str]:
    """The forms in which ``secret`` can appear in text: itself, its str and bytes reprs,
    URL-encoded, HTML- and JSON-escaped, and each of those escaped once more (a repr of an
    exception message, a JSON report of a repr)."""
    first = {secret, *_bytes_reprs(secret)}
    first.update(escape(secret) for escape in (*_ESCAPES, *_ENCODINGS))
    second = {escape(form) for form in first for escape in _ESCAPES}
    return frozenset(f for f in first | second if len(f) >= MIN_SCRUB_LENGTH)


class _Registry:
    """The secrets of this process, and one regular expression matching all their forms."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secrets: set[str] = set()
        self.pattern: re.Pattern[str] | None = None

    def add(self, secrets: Iterable[str | None]) -> None:
        new = {s for s in secrets if s and len(s) >= MIN_SCRUB_LENGTH}
        with self.lock:
            if new <= self.secrets:
                return
            self.secrets.update(new)
            self.pattern = _compile(self.secrets)


_REGISTRY = _Registry()


def register(*secrets: str | None) -> None:
    """Remember secrets for :func:`scrub`: call it wherever a secret value is obtained."""
    _REGISTRY.add(secrets)


def _compile(secrets: Iterable[str]) -> re.Pattern[str] | None:
    forms = {form for secret in secrets for form in representations(secret)}
    if not forms:
        return None
    # Longest first, so that "TOKEN\\n" is masked whole rather than leaving its "\\n".
    ordered = sorted(forms, key=lambda f: (-len(f), f))
    return re.compile("|".join(re.escape(f) for f in ordered))


def scrub(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every form of every registered secret (and of ``extra``) masked."""
    more = [s for s in extra if s and len(s) >= MIN_SCRUB_LENGTH]
    if more:
        text = scrub_with(_compile(more), text)
    return scrub_with(_REGISTRY.pattern, text)


def scrub_with(pattern: re.Pattern[str] | None, text: str) -> str:
    return text if pattern is None else pattern.sub(MASK, text)


def map_texts(value: Any, fn: Callable[[str], str]) -> Any:
    """A copy of a JSON-like document (dicts, lists, tuples, strings) with ``fn`` applied to
    every string, keys included."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {map_texts(k, fn): map_texts(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [map_texts(v, fn) for v in value]
    return value


def scrub_data(value: Any) -> Any:
    """A copy of a JSON-like document (dicts, lists, tuples, strings) with strings scrubbed."""
    return map_texts(value, scrub)


def secret_problem(value: str, *, ascii_only: bool, multiline: bool = False) -> str | None:
    """Why ``value`` (already stripped) cannot be a valid secret, or None. Never quotes it.

    Control characters are never part of a secret: they come from a copied file or terminal
    (``multiline`` secrets, PEM keys, may hold line breaks and tabs). ``ascii_only`` secrets
    (API tokens, sent in HTTP headers) must also be ASCII, as HTTP requires.
    """
    for char in value:
        code = ord(char)
        if multiline and char in "\n\r\t":
            continue
        if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            return f"contains a control character (U+{code:04X})"
        if ascii_only and code > 0x7E:
            return "contains a non-ASCII character (API tokens are ASCII)"
    return None


def forget_notes() -> None:
    """A new command: its secrets' whitespace is said again (once per setting and command)."""
    _noted.clear()


def strip_secret(value: str) -> tuple[str, bool]:
    """``value`` without surrounding whitespace (a newline from a copied file, typically),
    and whether anything was removed."""
    stripped = value.strip()
    return stripped, stripped != value


def checked_secret(
    value: str,
    *,
    key: str,
    file: Path | None = None,
    line: int | None = None,
    env: Iterable[str] = (),
) -> str:
    """A configured secret made safe to use: surrounding whitespace removed (with a warning,
    once per setting), control and (for API tokens) non-ASCII characters refused with a
    ConfigError at ``file``/``line``/``key``. ``env`` names the variables it was read from.
    Neither the warning nor the error shows the value. The value is :func:`register`-ed."""
    register(value)
    names = ", ".join(env)
    origin = f" (environment variable {names})" if names else ""
    cleaned, stripped = strip_secret(value)
    if stripped and cleaned and (str(file), key) not in _noted:
        _noted.add((str(file), key))
        # A located warning: the CLI says it through its console (in --format json, in the
        # document's warnings), its file as the project spells it; see cli/output.py.
        noted = Problem(
            f"the value{origin} had whitespace around it (a trailing newline?), which was removed",
            file=file,
            line=line,
            key=key,
            severity="warning",
        )
        log.warning("warning: %s", noted.render(), extra={PROBLEM_ATTR: noted})
    last = key.rsplit(".", 1)[-1]
    problem = secret_problem(
        cleaned, ascii_only=last not in ("password", "private_key"), multiline=last == "private_key"
    )
    if problem is not None:
        raise ConfigError(
            f"the value{origin} {problem}; it was not used",
            file=file,
            line=line,
            key=key,
            hint="copy the secret again without extra characters, and check how your CI's "
            "secret store or .env file quotes it",
        )
    register(cleaned)
    return cleaned
