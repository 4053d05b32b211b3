"""Spark SQL that rebuilds a value inside its lists, maps and structs: what
``spark_chars`` and ``spark_intervals`` share, each giving the SQL of the values it changes
(``None`` for a part it leaves as it is), so a container is rebuilt only when something in
it changes."""

from __future__ import annotations

from collections.abc import Sequence


def ident(name: str) -> str:
    """A Spark identifier, quoted."""
    return "`" + name.replace("`", "``") + "`"


def literal(text: str) -> str:
    """A Spark string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def in_array(sql: str, var: str, item: str | None) -> str | None:
    """``sql`` (an array) with each element ``var`` as ``item``; None when ``item`` is."""
    return None if item is None else f"transform({sql}, {var} -> {item})"


def in_map(sql: str, var: str, key: str | None, value: str | None) -> str | None:
    """``sql`` (a map) with each entry ``var``'s key and value as ``key`` and ``value``
    (``var.key`` and ``var.value`` where None); None when both are."""
    if key is None and value is None:
        return None
    entry = f"struct({key or f'{var}.key'} AS key, {value or f'{var}.value'} AS value)"
    return f"map_from_entries(transform(map_entries({sql}), {var} -> {entry}))"


def in_struct(sql: str, fields: Sequence[tuple[str, str | None]]) -> str | None:
    """``sql`` (a struct) with each field (name, its new SQL or None: as it is); None when
    no field changes. A NULL struct stays NULL."""
    if all(new is None for _, new in fields):
        return None
    parts = ", ".join(f"{literal(name)}, {new or f'{sql}.{ident(name)}'}" for name, new in fields)
    return f"CASE WHEN {sql} IS NULL THEN NULL ELSE named_struct({parts}) END"
