"""Resolve env_var()/var() templates in a loaded YAML tree, keeping secrets lazy."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reverse_etl.config.env import LazySecret, Location, check_template, has_template, resolve
from reverse_etl.config.secret_env import is_secret_setting, project_secret_env, secret_env_refs
from reverse_etl.config.yaml_loader import KeyPath, LoadedYaml, format_key_path
from reverse_etl.errors import ConfigError, Problem


def resolve_tree(
    loaded: LoadedYaml,
    value: Any,
    key_path: KeyPath,
    *,
    variables: Mapping[str, Any] | None = None,
    extra_secret_env: frozenset[str] = frozenset(),
) -> Any:
    """A copy of ``value`` with templates substituted; values under secret keys become
    LazySecret. Every template in the tree is checked first, secret ones included, and every
    problem is reported at once.

    Every string under a secret key is wrapped, templated or not, so a literal token can never
    be printed by accident either. ``variables`` are the project vars that ``var()`` reads;
    None where var() is not allowed (retl_project.yml, which defines them).
    ``extra_secret_env``: variables other files' secret settings read (a properties file
    under models/ has no secret setting of its own).
    """
    secret_env = secret_env_refs(loaded.data) | _other_file_secret_env(loaded) | extra_secret_env
    problems: list[Problem] = []

    def walk(item: Any, path: KeyPath) -> Any:
        if isinstance(item, dict):
            return {k: walk(v, (*path, k)) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v, (*path, i)) for i, v in enumerate(item)]
        if not isinstance(item, str) or _dbt_prose(path):
            return item
        secret = is_secret_setting(path)
        where = Location(
            loaded.path,
            loaded.line_of(path),
            format_key_path(path),
            variables=variables,
            secret=secret,
            secret_env=secret_env,
        )
        try:
            if secret:
                check_template(item, where)
                return LazySecret(item, where)
            return resolve(item, where) if has_template(item) else item
        except ConfigError as exc:
            problems.extend(exc.problems)
            return item

    out = walk(value, key_path)
    if problems:
        raise ConfigError.from_problems(problems)
    return out


# A source's keys that retl ignores and dbt renders with its own Jinja: a description's
# ``{{ doc('orders') }}``, a data test's ``where``. Kept as written, not resolved: a dbt
# project's sources pasted as they are (or read from models/*.yml) are not refused for them.
_DBT_PROSE = frozenset({"description", "tests", "data_tests"})


def _dbt_prose(path: KeyPath) -> bool:
    return path[:1] == ("sources",) and any(
        isinstance(k, str) and k in _DBT_PROSE for k in path[1:]
    )


# Each project file's secret settings may read a variable the other file reads too.
_OTHER_FILE = {"retl_project.yml": "destinations.yml", "destinations.yml": "retl_project.yml"}


def _other_file_secret_env(loaded: LoadedYaml) -> frozenset[str]:
    """The variables the secret settings of the project's other file read: a variable with
    a plain name (``ACCT_X``) that destinations.yml's access_token reads is a secret in
    retl_project.yml's vars as well, where every model could read it through var()."""
    other = _OTHER_FILE.get(loaded.path.name)
    if other is None:
        return frozenset()
    path = loaded.path.parent / other
    try:
        stat = path.stat()
    except OSError:
        return frozenset()  # missing: its own loading says so
    return _secret_env_of(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _secret_env_of(path: Path, mtime_ns: int, size: int) -> frozenset[str]:
    """Read once per version of the file: resolve_tree runs once per destination."""
    return project_secret_env([path])
