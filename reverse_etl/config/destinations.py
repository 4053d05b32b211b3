"""destinations.yml: a mapping of destination name -> settings, checked by the type's model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import AliasChoices, BaseModel, ValidationError

from reverse_etl.config.errors_map import problems_from_validation, suggested_keys
from reverse_etl.config.resolve import resolve_tree
from reverse_etl.config.suggest import did_you_mean
from reverse_etl.config.yaml_loader import KeyPath, LoadedYaml, format_key_path, load_yaml
from reverse_etl.destinations.registry import config_model_for, known_types
from reverse_etl.errors import ConfigError, Problem

DESTINATIONS_FILE = "destinations.yml"


@dataclass(frozen=True)
class DestinationConfig:
    """One destination as the user wrote it, validated by its type's settings model."""

    name: str
    type: str
    model: str
    settings: BaseModel
    file: Path
    line: int | None
    model_line: int | None = None
    # the line of each settings key as written (under its name or an alias)
    key_lines: Mapping[str, int] = field(default_factory=dict)
    # notes about the settings as written (a value read case-insensitively)
    notes: tuple[Problem, ...] = ()

    def line_of(self, key: str) -> int | None:
        """The line of settings key ``key``, else of the destination."""
        return self.key_lines.get(key, self.line)


@dataclass(frozen=True)
class LoadedDestinations:
    """destinations.yml read as far as it goes: every destination whose settings could be
    read (invalid keys left at their defaults), and every problem of the file."""

    configs: list[DestinationConfig]
    problems: list[Problem]


def load_destinations(
    project_dir: Path, variables: Mapping[str, Any] | None = None
) -> list[DestinationConfig]:
    """Load and validate destinations.yml; every problem in the file is reported at once.

    ``variables`` are the project vars that ``{{ var('name') }}`` in a value reads."""
    loaded = load_yaml(project_dir / DESTINATIONS_FILE, required=True)
    assert loaded is not None
    return parse_destinations(loaded, variables or {})


def load_destinations_partially(
    project_dir: Path, variables: Mapping[str, Any] | None = None
) -> LoadedDestinations:
    """destinations.yml with its problems, and the destinations that can still be checked
    against their models (``retl validate`` shows every problem at once)."""
    loaded = load_yaml(project_dir / DESTINATIONS_FILE, required=True)
    assert loaded is not None
    return read_destinations(loaded, variables or {})


def parse_destinations(
    loaded: LoadedYaml, variables: Mapping[str, Any] | None = None
) -> list[DestinationConfig]:
    """Every destination of ``loaded``; a ConfigError with every problem of the file."""
    result = read_destinations(loaded, variables)
    if result.problems:
        raise ConfigError.from_problems(result.problems)
    return result.configs


def read_destinations(
    loaded: LoadedYaml, variables: Mapping[str, Any] | None = None
) -> LoadedDestinations:
    """Every destination of ``loaded`` that can be read, and every problem of the file."""
    data = loaded.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            "must be a mapping with a top-level 'destinations:' key",
            file=loaded.path,
            line=1,
        )
    problems: list[Problem] = []
    for key in data:
        if key != "destinations":
            problems.append(
                Problem(
                    f"unknown top-level key '{key}'",
                    loaded.path,
                    loaded.line_of((key,)),
                    key,
                    hint=did_you_mean(key, ["destinations"]) or "only 'destinations:' is allowed",
                )
            )
    entries = data.get("destinations") or {}
    if not isinstance(entries, dict):
        problems.append(
            Problem(
                "must be a mapping of destination name -> settings",
                loaded.path,
                loaded.line_of(("destinations",)),
                "destinations",
            )
        )
        entries = {}
    out: list[DestinationConfig] = []
    for name, raw in entries.items():
        try:
            config, found = _parse_one(loaded, name, raw, variables or {})
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(found)
        if config is not None:
            out.append(config)
    return LoadedDestinations(out, problems)


def _parse_one(
    loaded: LoadedYaml, name: str, raw: Any, variables: Mapping[str, Any]
) -> tuple[DestinationConfig | None, list[Problem]]:
    """The destination (None: its settings cannot be read at all) and its problems. Keys
    with invalid values are left at their defaults, so that the rules between keys, and
    validate's checks of the model, still see the rest."""
    base = ("destinations", name)
    line = loaded.line_of(base)
    if not isinstance(raw, dict):
        raise ConfigError(
            "must be a mapping of settings",
            file=loaded.path,
            line=line,
            key=f"destinations.{name}",
        )
    dtype = raw.get("type")
    if dtype is None:
        raise ConfigError(
            "missing required key 'type'",
            file=loaded.path,
            line=line,
            key=f"destinations.{name}.type",
            hint="known types: " + ", ".join(known_types()),
        )
    model_cls = config_model_for(str(dtype))
    if model_cls is None:
        hint = did_you_mean(str(dtype), known_types())
        # YAML reads yes/no/on/off as booleans: say so, not Python's True
        raise ConfigError(
            "type is a boolean to YAML (yes, no, on, off, true, false), not a destination type"
            if isinstance(dtype, bool)
            else f"unknown destination type '{dtype}'",
            file=loaded.path,
            line=loaded.line_of((*base, "type")),
            key=f"destinations.{name}.type",
            hint=(hint + " " if hint else "") + "known types: " + ", ".join(known_types()),
        )
    resolved = resolve_tree(loaded, raw, base, variables=variables)
    resolved, notes = fold_case(model_cls, resolved, loaded, base)
    problems: list[Problem] = []
    settings: BaseModel | None
    # Keys the user got wrong, and the keys they probably meant: the rules between keys say
    # nothing about either (a misspelt event_source_id is not also "missing").
    wrong: set[str] = set()
    try:
        settings = model_cls.model_validate(resolved)
    except ValidationError as exc:
        problems += problems_from_validation(exc, loaded, model_cls, base)
        wrong = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        wrong |= {m for k in wrong for m in suggested_keys(k, model_cls)}
        settings = _without(model_cls, resolved, wrong)
    if settings is None:
        return None, problems
    violations = getattr(settings, "rule_violations", None)
    if callable(violations):
        problems += [
            Problem(
                msg,
                loaded.path,
                _key_line(loaded, base, model_cls, key) or line,
                format_key_path((*base, key)),
                hint,
            )
            for key, msg, hint in violations()
            if not any(w == key or w in msg for w in wrong)
        ]
    model = getattr(settings, "model", None)
    if not isinstance(model, str):
        return None, problems
    key_lines = {
        key: found
        for key in model_cls.model_fields
        if (found := _key_line(loaded, base, model_cls, key)) is not None
    }
    config = DestinationConfig(
        name,
        str(dtype),
        model,
        settings,
        loaded.path,
        line,
        loaded.line_of((*base, "model")),
        key_lines,
        tuple(notes),
    )
    return config, problems


def _without(model_cls: type[BaseModel], data: Any, keys: set[str]) -> BaseModel | None:
    """The settings with ``keys`` left at their defaults, if that makes them valid."""
    if not isinstance(data, dict):
        return None
    try:
        return model_cls.model_validate({k: v for k, v in data.items() if k not in keys})
    except ValidationError:
        return None


def fold_case(
    model_cls: type[BaseModel], data: Any, loaded: LoadedYaml, base: KeyPath
) -> tuple[Any, list[Problem]]:
    """Values of fixed vocabularies written in another case (``event_data_source: web``)
    read as the one they spell, each with a note."""
    if not isinstance(data, dict):
        return data, []
    out = dict(data)
    notes: list[Problem] = []
    for key, value in data.items():
        field_info = model_cls.model_fields.get(str(key))
        if field_info is None or not isinstance(value, str):
            continue
        choices = _literal_strings(field_info.annotation)
        same = [c for c in choices if c.lower() == value.lower()]
        if value in choices or len(same) != 1:
            continue
        out[key] = same[0]
        notes.append(
            Problem(
                f"'{value}' read as '{same[0]}'",
                loaded.path,
                loaded.line_of((*base, key)),
                format_key_path((*base, key)),
                hint=f"write {key}: {same[0]}",
                severity="note",
            )
        )
    return out, notes


def _literal_strings(annotation: Any) -> list[str]:
    """The string values of a ``Literal[...]`` annotation (also inside ``X | None``)."""
    if get_origin(annotation) is Literal:
        return [a for a in get_args(annotation) if isinstance(a, str)]
    return [v for arg in get_args(annotation) for v in _literal_strings(arg)]


def _key_line(
    loaded: LoadedYaml, base: KeyPath, model_cls: type[BaseModel], key: str
) -> int | None:
    """The line of a settings key as written, under its name or any of its aliases."""
    names = [key]
    info = model_cls.model_fields.get(key)
    if info is not None and isinstance(info.validation_alias, AliasChoices):
        names += [c for c in info.validation_alias.choices if isinstance(c, str)]
    for candidate in names:
        path = (*base, candidate)
        if path in loaded.lines:
            return loaded.lines[path]
    return None
