"""YAML values with ``{{ env_var('NAME') }}`` or ``{{ var('name') }}``; secrets resolved late.

Secrets are resolved only where they are used (a sync that sends), so ``retl validate`` and
``retl plan`` work in a pull request from a fork that has no secrets. A secret value is wrapped
in :class:`LazySecret`, whose repr never shows it. Values are never rendered by Jinja: see
:mod:`reverse_etl.config.templates` for the grammar they may use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from reverse_etl.config.secret_env import SECRET_KEYS, is_secret_name
from reverse_etl.config.templates import (
    ALLOWED,
    Call,
    MissingEnvVar,
    MissingVar,
    TemplateSyntaxError,
    env_names,
    has_template,
    parse_value,
    render_parts,
)
from reverse_etl.errors import ConfigError
from reverse_etl.secrets import checked_secret

__all__ = ["SECRET_KEYS", "LazySecret", "Location", "check_template", "has_template", "resolve"]

# A hint is said in parentheses after its message: none inside it.
_SET_IT = "set it in the environment; in CI, define it in your CI's secret store"


@dataclass(frozen=True)
class Location:
    file: Path
    line: int | None
    key: str
    # What the value may read: project vars (None: var() is not allowed in this file), and
    # whether it sits under a secret key (only then may it read a variable holding a secret).
    variables: Mapping[str, Any] | None = field(default=None, compare=False)
    secret: bool = False
    secret_env: frozenset[str] = field(default=frozenset(), compare=False)


def _error(where: Location, message: str, hint: str | None) -> ConfigError:
    return ConfigError(message, file=where.file, line=where.line, key=where.key, hint=hint)


def check_template(value: str, where: Location) -> None:
    """Refuse, before anything is evaluated, a value outside the template grammar, and a
    non-secret value that reads a variable holding a secret (it could be printed)."""
    try:
        parts = parse_value(value)
    except TemplateSyntaxError as exc:
        raise _error(where, f"template not allowed: {exc}", f"write {ALLOWED}") from None
    if where.secret:
        for part in parts:
            if not isinstance(part, str) and part.function == "var":
                # Every model can read a project var (and --vars sits in shell histories and
                # CI logs): a secret taken from one could be printed by a model's SQL.
                raise _error(
                    where,
                    f"'{where.key}' is a secret setting and reads var('{part.name}'), which "
                    "every model can read",
                    "read the secret from the environment: {{ env_var('TIKTOK_ACCESS_TOKEN') }}",
                )
        return
    for part in parts:
        if isinstance(part, str) or part.function != "env_var":
            continue
        if is_secret_name(part.name, where.secret_env):
            raise _error(
                where,
                f"env_var('{part.name}') holds a secret and '{where.key}' is not a secret "
                "setting, so its value could be printed",
                "read secrets only in secret settings (access_token, password, …); "
                + (
                    f"a secret setting of the project reads {part.name} too"
                    if part.name in where.secret_env
                    else "rename the variable if it holds no secret"
                ),
            )


def resolve(value: str, where: Location) -> str:
    """Substitute ``value``'s env_var()/var() calls now; failures are a ConfigError at ``where``."""
    check_template(value, where)
    try:
        return render_parts(parse_value(value), os.environ, where.variables)
    except MissingEnvVar as exc:
        raise _error(
            where,
            f"environment variable {exc.name} is not set",
            f"export {exc.name}=... or give a default: env_var('{exc.name}', '...')",
        ) from None
    except MissingVar as exc:
        raise _error(
            where,
            f"var('{exc.name}') is not defined",
            "add it under 'vars:' in retl_project.yml, or pass --vars",
        ) from None
    except TemplateSyntaxError as exc:
        raise _error(where, str(exc), None) from None


def _variables(names: Sequence[str], one: str, several: str) -> str:
    """``is empty: environment variable(s) NAME[, ...] <one|several>``."""
    listed = ", ".join(names)
    if len(names) == 1:
        return f"is empty: environment variable {listed} {one}"
    return f"is empty: environment variables {listed} {several}"


class LazySecret:
    """A secret from the config, resolved on first use and never printed."""

    __slots__ = ("_raw", "_where")

    def __init__(self, raw: str, where: Location) -> None:
        self._raw = raw
        self._where = where

    @property
    def key(self) -> str:
        return self._where.key

    @property
    def from_env(self) -> bool:
        return has_template(self._raw)

    @property
    def whole_env_var(self) -> str | None:
        """The variable this secret is, when it is exactly one ``{{ env_var('NAME') }}``
        without a default and with nothing written around it; else None."""
        try:
            parts = parse_value(self._raw.strip())
        except TemplateSyntaxError:
            return None
        if len(parts) != 1 or not isinstance(parts[0], Call):
            return None
        call = parts[0]
        return call.name if call.function == "env_var" and call.default is None else None

    def is_available(self) -> bool:
        """True when reveal() would succeed (the variable is set, or a literal)."""
        try:
            self.reveal()
        except ConfigError:
            return False
        return True

    def reveal(self) -> SecretStr:
        try:
            value = resolve(self._raw, self._where) if has_template(self._raw) else self._raw
        except ConfigError as exc:
            # A default is no place for a secret: point at the environment (or the sandbox,
            # which stands in for a destination; a warehouse's secret it needs as well).
            hint = _SET_IT
            if self._where.key.startswith("destinations."):
                hint += ", or try 'retl sync --sandbox', which needs no token"
            raise ConfigError(
                exc.message, file=exc.file, line=exc.line, key=exc.key, hint=hint
            ) from None
        value = _checked_secret(value, self._raw, self._where)
        if not value:
            raise self._empty()
        return SecretStr(value)

    def _empty(self) -> ConfigError:
        """The error of a secret that resolved to nothing. From the environment, it names the
        variable: a CI secret that is not defined (or misspelled) is set, as an empty string."""
        read = tuple(dict.fromkeys(env_names(self._raw))) if has_template(self._raw) else ()
        names = [n for n in read if n in os.environ]  # an unset one took its default
        if names:
            message = _variables(names, "is set but empty", "are set but empty")
            hint = (
                "give it its value in the environment; in CI, a secret that the secret store "
                "does not define, or spells differently, is passed as an empty string"
            )
        elif read:
            message = _variables(
                read,
                "is not set, and its default is empty",
                "are not set, and their defaults are empty",
            )
            hint = _SET_IT
        else:
            message = "is empty"
            hint = "set it, for example with {{ env_var('TIKTOK_ACCESS_TOKEN') }}"
        where = self._where
        return ConfigError(message, file=where.file, line=where.line, key=where.key, hint=hint)

    def __repr__(self) -> str:
        return "LazySecret('**********')"

    __str__ = __repr__


def _checked_secret(value: str, raw: str, where: Location) -> str:
    """A secret's value stripped and checked (see reverse_etl.secrets.checked_secret), with
    errors at the setting and naming the environment variables it came from."""
    return checked_secret(
        value, key=where.key, file=where.file, line=where.line, env=env_names(raw)
    )
