"""Turn pydantic ValidationErrors into located Problems with did-you-mean hints."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from reverse_etl.config.suggest import closest, did_you_mean
from reverse_etl.config.yaml_loader import KeyPath, LoadedYaml, format_key_path
from reverse_etl.errors import Problem


def _model_at(model: type[BaseModel], loc: Iterable[str | int]) -> type[BaseModel] | None:
    """Walk a model class along a pydantic error location to find the model owning the key."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None or isinstance(part, int):
            continue
        field = current.model_fields.get(str(part))
        if field is None:
            for f in current.model_fields.values():
                if f.alias == part:
                    field = f
                    break
        if field is None:
            return current
        current = _inner_model(field.annotation)
    return current


def _inner_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def field_names(model: type[BaseModel]) -> list[str]:
    names = []
    for name, f in model.model_fields.items():
        names.append(f.alias or name)
    return names


def suggested_keys(key: str, model: type[BaseModel]) -> list[str]:
    """The keys of ``model`` a user most likely meant by unknown ``key``: a name the
    platform's own documents use for it (the settings class's ``KEY_ALIASES``, e.g. TikTok's
    ``pixel_code`` for ``event_source_id``), else the nearest spellings."""
    aliases: dict[str, str] = getattr(model, "KEY_ALIASES", {})
    if key in aliases:
        return [aliases[key]]
    if key.lower() in aliases:
        return [aliases[key.lower()]]
    return closest(key, field_names(model))


def problems_from_validation(
    exc: ValidationError,
    loaded: LoadedYaml,
    model: type[BaseModel],
    base: KeyPath = (),
) -> list[Problem]:
    problems: list[Problem] = []
    by_key: dict[str, Problem] = {}
    for err in exc.errors():
        kind = err["type"]
        loc = _input_path(err["loc"], _data_at(loaded.data, base), keep_last=kind == "missing")
        key_path: KeyPath = (*base, *loc)
        key_text = format_key_path(key_path)
        line = loaded.line_of(key_path)
        if kind == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            options = field_names(owner) if owner is not None else []
            meant = suggested_keys(str(loc[-1]), owner) if owner is not None else []
            hint = (
                "did you mean " + " or ".join(f"'{m}'" for m in meant) + "?"
                if meant
                else "valid keys: " + ", ".join(sorted(options))
                if options
                else None
            )
            problems.append(
                Problem(f"unknown key '{loc[-1]}'", loaded.path, line, key_text, hint=hint)
            )
        elif kind == "union_tag_invalid":
            ctx = err.get("ctx", {})
            field = str(ctx.get("discriminator", "'type'")).strip("'")
            tag_path: KeyPath = (*key_path, field)
            expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
            problems.append(
                Problem(
                    f"unknown {field} '{ctx.get('tag')}'",
                    loaded.path,
                    loaded.line_of(tag_path),
                    format_key_path(tag_path),
                    hint=did_you_mean(str(ctx.get("tag")), expected)
                    or "expected one of: " + ", ".join(expected),
                )
            )
        elif kind == "missing":
            problems.append(
                Problem(
                    f"missing required key '{loc[-1]}'",
                    loaded.path,
                    loaded.line_of(key_path[:-1]),
                    key_text,
                    hint=f"add '{loc[-1]}:'",
                )
            )
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            if kind == "is_instance_of":  # a class's name means nothing to users
                cls_name = str(err.get("ctx", {}).get("class", ""))
                msg = "must be a string" if cls_name == "LazySecret" else "must be a mapping"
            msg, plain_hint = _plain(kind, msg, err)
            earlier = by_key.get(key_text)
            if earlier is not None:  # one error per member of a union: say it once
                problems[problems.index(earlier)] = by_key[key_text] = Problem(
                    _either(earlier.message, msg), loaded.path, line, key_text
                )
                continue
            hint = plain_hint
            if kind == "literal_error" and isinstance(err.get("input"), str):
                choices = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
                hint = did_you_mean(err["input"], choices)
            by_key[key_text] = Problem(msg, loaded.path, line, key_text, hint=hint)
            problems.append(by_key[key_text])
    return problems


# pydantic's wording ("Input should be a valid dictionary") in retl's, with the fix.
_PLAIN: dict[str, str] = {
    "string_type": "must be a text",
    "dict_type": "must be a mapping (indented 'key: value' lines)",
    "model_type": "must be a mapping (indented 'key: value' lines)",
    "model_attributes_type": "must be a mapping (indented 'key: value' lines)",
    "list_type": "must be a list (lines starting with '- ')",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
}
_BOUNDS = {
    "less_than_equal": ("le", "at most"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "greater_than": ("gt", "more than"),
}


def _plain(kind: str, msg: str, err: Any) -> tuple[str, str | None]:
    """``msg`` in retl's words, and a hint: an empty key (YAML's null) says how to fix it."""
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        bound = err.get("ctx", {}).get(name)
        return (f"must be {words} {bound}" if bound is not None else msg), None
    plain = _PLAIN.get(kind)
    if plain is None:
        return msg, None
    given = err.get("input")
    if given is None:
        return f"is empty: it {plain}", "remove the key, or give it a value"
    if kind == "string_type":
        what = _YAML_WORDS.get(type(given), "something else")
        hint = "put the value in quotes" if isinstance(given, int | float) else None
        return f"{plain}, not {what}", hint
    return plain, None


# What a YAML value is, in the words of a YAML file (``True`` is ``yes``/``true`` there)
_YAML_WORDS: dict[type, str] = {
    list: "a list",
    dict: "a mapping",
    bool: "true/false",
    int: "a number",
    float: "a number",
}


_ABSENT = object()


def _child(data: Any, part: str | int) -> Any:
    """``data[part]`` when the input has it, else _ABSENT."""
    if isinstance(data, dict):
        return data.get(part, _ABSENT)
    if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
        return data[part]
    return _ABSENT


def _data_at(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = _child(data, part)
    return data


def _input_path(loc: tuple[str | int, ...], data: Any, *, keep_last: bool) -> KeyPath:
    """The parts of a pydantic location that exist in the input.

    pydantic adds the member type of a union to the location (``primary_key.str``,
    ``primary_key.list[str]``); those are not keys the user wrote.
    """
    out: list[str | int] = []
    for i, part in enumerate(loc):
        child = _child(data, part)
        if child is _ABSENT and not (keep_last and i == len(loc) - 1):
            continue
        data = child
        out.append(part)
    return tuple(out)


def _either(first: str, second: str) -> str:
    prefix = "Input should be "
    if first.startswith(prefix) and second.startswith(prefix):
        return f"{first} or {second[len(prefix) :]}"
    return f"{first}; or {second}"
