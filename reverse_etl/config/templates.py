"""The only templates a YAML value may hold: ``env_var('NAME')``, ``env_var('NAME', 'default')``
and ``var('name')``, each inside ``{{ }}``.

YAML files may come from an untrusted pull request, so they are never handed to Jinja: a value
is parsed against this small grammar, and anything else (filters, attribute access, ``{% %}``
blocks, other names) is refused before anything is evaluated. Values are substituted as text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_STRING = r"'[^'\\\n]*'|\"[^\"\\\n]*\""
# One call: {{ env_var('NAME') }}, {{ env_var('NAME', 'default') }}, {{ var('name') }}
_CALL = re.compile(
    r"\{\{\s*(?P<fn>env_var|var)\s*\(\s*(?P<arg>" + _STRING + r")\s*"
    r"(?:,\s*(?P<default>" + _STRING + r")\s*)?\)\s*\}\}"
)
# dbt's env_var('NAME', 4): a default that is not a quoted string (a number, true, none)
_UNQUOTED_DEFAULT = re.compile(
    r"\{\{\s*env_var\s*\(\s*(?:" + _STRING + r")\s*,\s*(?P<default>[A-Za-z0-9_.+-]+)\s*\)"
)
_OPENERS = ("{{", "{%", "{#")
ALLOWED = "{{ env_var('NAME') }}, {{ env_var('NAME', 'default') }} or {{ var('name') }}"


class TemplateSyntaxError(ValueError):
    """A YAML value holds a template outside the allowed grammar; the message says why."""


class MissingEnvVar(Exception):
    """An env_var() without default named a variable that is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class MissingVar(Exception):
    """A var() named no project var."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class Call:
    """One ``{{ env_var(...) }}`` or ``{{ var(...) }}`` in a value."""

    function: str
    name: str
    default: str | None


Part = str | Call


def has_template(value: object) -> bool:
    """True when ``value`` is a string holding anything that looks like a template."""
    return isinstance(value, str) and any(o in value for o in _OPENERS)


def parse_value(value: str) -> tuple[Part, ...]:
    """Split ``value`` into literal text and calls; raise TemplateSyntaxError otherwise."""
    parts: list[Part] = []
    pos = 0
    for match in _CALL.finditer(value):
        parts.append(value[pos : match.start()])
        name = match["arg"][1:-1]
        default = match["default"][1:-1] if match["default"] is not None else None
        if not re.fullmatch(_NAME, name):
            raise TemplateSyntaxError(f"{match['fn']}() takes a name of letters, digits and _")
        if match["fn"] == "var" and default is not None:
            raise TemplateSyntaxError("var() takes no default here: set it under 'vars:'")
        parts.append(Call(match["fn"], name, default))
        pos = match.end()
    parts.append(value[pos:])
    for text in parts:
        if isinstance(text, str) and has_template(text):
            unquoted = _UNQUOTED_DEFAULT.search(text)
            if unquoted is not None:
                # The default is not quoted back: under a secret key it may be the secret.
                raise TemplateSyntaxError(
                    "env_var()'s default is text: quote it (env_var('NAME', '4'), not "
                    "env_var('NAME', 4)), the setting reads numbers and booleans from text"
                )
            raise TemplateSyntaxError("a value may hold only env_var() and var() calls")
    return tuple(p for p in parts if p != "")


def env_names(value: str) -> tuple[str, ...]:
    """The environment variables ``value`` reads (none when it does not parse)."""
    try:
        parts = parse_value(value)
    except TemplateSyntaxError:
        return ()
    return tuple(p.name for p in parts if isinstance(p, Call) and p.function == "env_var")


def var_names(text: str) -> tuple[str, ...]:
    """The project vars that ``{{ var('name') }}`` calls anywhere in ``text`` read."""
    calls = (m for m in _CALL.finditer(text) if m["fn"] == "var")
    return tuple(dict.fromkeys(m["arg"][1:-1] for m in calls))


def render_parts(
    parts: tuple[Part, ...], environ: Mapping[str, str], variables: Mapping[str, Any] | None
) -> str:
    """Substitute the calls; raises MissingEnvVar, MissingVar or TemplateSyntaxError."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif part.function == "env_var":
            value = environ.get(part.name, part.default)
            if value is None:
                raise MissingEnvVar(part.name)
            out.append(value)
        else:
            if variables is None:
                raise TemplateSyntaxError("var() is not available in this file: use env_var()")
            if part.name not in variables:
                raise MissingVar(part.name)
            out.append(str(variables[part.name]))
    return "".join(out)
