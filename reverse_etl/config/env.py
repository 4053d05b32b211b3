"""``{{ env_var('NAME', 'default') }}`` in YAML values, and secrets that resolve late.

Secrets are resolved only where they are used (a sync that sends), so ``retl validate`` and
``retl plan`` work in a pull request from a fork that has no secrets. A secret value is wrapped
in :class:`LazySecret`, whose repr never shows it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2
from pydantic import SecretStr

from reverse_etl.errors import ConfigError

SECRET_KEYS = frozenset(
    {"access_token", "password", "secret", "client_secret", "token", "private_key", "app_secret"}
)


class MissingEnvVar(Exception):
    """Internal: an env_var() without default named a variable that is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _env_var(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is not None:
        return value
    if default is not None:
        return str(default)
    raise MissingEnvVar(name)


_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
_ENV.globals["env_var"] = _env_var


def has_template(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def render_value(value: str, env: Mapping[str, object] | None = None) -> str:
    """Render one templated YAML string; raises MissingEnvVar or jinja2 errors."""
    template = _ENV.from_string(value)
    return template.render(**(env or {}))


@dataclass(frozen=True)
class Location:
    file: Path
    line: int | None
    key: str


def resolve(value: str, where: Location) -> str:
    """Render ``value`` now, turning failures into a ConfigError at ``where``."""
    try:
        return render_value(value)
    except MissingEnvVar as exc:
        raise ConfigError(
            f"environment variable {exc.name} is not set",
            file=where.file,
            line=where.line,
            key=where.key,
            hint=f"export {exc.name}=... or give a default: env_var('{exc.name}', '...')",
        ) from None
    except jinja2.TemplateError as exc:
        raise ConfigError(
            f"invalid template: {exc}",
            file=where.file,
            line=where.line,
            key=where.key,
            hint="only {{ env_var('NAME') }} and {{ env_var('NAME', 'default') }} are allowed",
        ) from None


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
            # A default is no place for a secret: point at the environment (or the sandbox).
            raise ConfigError(
                exc.message,
                file=exc.file,
                line=exc.line,
                key=exc.key,
                hint="set it in the environment (your CI's secret store), or try "
                "'retl sync --sandbox', which needs no token",
            ) from None
        if not value:
            raise ConfigError(
                "is empty",
                file=self._where.file,
                line=self._where.line,
                key=self._where.key,
                hint="set it, for example with {{ env_var('TIKTOK_ACCESS_TOKEN') }}",
            )
        return SecretStr(value)

    def __repr__(self) -> str:
        return "LazySecret('**********')"

    __str__ = __repr__
