"""Resolve env_var() templates in a loaded YAML tree, keeping secrets lazy."""

from __future__ import annotations

from typing import Any

from reverse_etl.config.env import SECRET_KEYS, LazySecret, Location, has_template, resolve
from reverse_etl.config.yaml_loader import KeyPath, LoadedYaml, format_key_path


def resolve_tree(loaded: LoadedYaml, value: Any, key_path: KeyPath) -> Any:
    """A copy of ``value`` with templates rendered; values under secret keys become LazySecret.

    Every string under a secret key is wrapped, templated or not, so a literal token can never
    be printed by accident either.
    """
    if isinstance(value, dict):
        return {k: resolve_tree(loaded, v, (*key_path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_tree(loaded, v, (*key_path, i)) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    where = Location(loaded.path, loaded.line_of(key_path), format_key_path(key_path))
    last = key_path[-1] if key_path else None
    if isinstance(last, str) and last in SECRET_KEYS:
        return LazySecret(value, where)
    if has_template(value):
        return resolve(value, where)
    return value
