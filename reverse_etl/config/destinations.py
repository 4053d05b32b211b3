"""destinations.yml: a mapping of destination name -> settings, checked by the type's model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ValidationError

from reverse_etl.config.errors_map import problems_from_validation
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


def load_destinations(
    project_dir: Path, variables: Mapping[str, Any] | None = None
) -> list[DestinationConfig]:
    """Load and validate destinations.yml; every problem in the file is reported at once.

    ``variables`` are the project vars that ``{{ var('name') }}`` in a value reads."""
    loaded = load_yaml(project_dir / DESTINATIONS_FILE, required=True)
    assert loaded is not None
    return parse_destinations(loaded, variables or {})


def parse_destinations(
    loaded: LoadedYaml, variables: Mapping[str, Any] | None = None
) -> list[DestinationConfig]:
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
            out.append(_parse_one(loaded, name, raw, variables or {}))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError.from_problems(problems)
    return out


def _parse_one(
    loaded: LoadedYaml, name: str, raw: Any, variables: Mapping[str, Any]
) -> DestinationConfig:
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
        raise ConfigError(
            f"unknown destination type '{dtype}'",
            file=loaded.path,
            line=loaded.line_of((*base, "type")),
            key=f"destinations.{name}.type",
            hint=(hint + " " if hint else "") + "known types: " + ", ".join(known_types()),
        )
    resolved = resolve_tree(loaded, raw, base, variables=variables)
    try:
        settings = model_cls.model_validate(resolved)
    except ValidationError as exc:
        raise ConfigError.from_problems(
            problems_from_validation(exc, loaded, model_cls, base)
        ) from None
    violations = getattr(settings, "rule_violations", None)
    if callable(violations):
        found = [
            Problem(
                msg,
                loaded.path,
                _key_line(loaded, base, model_cls, key) or line,
                format_key_path((*base, key)),
                hint,
            )
            for key, msg, hint in violations()
        ]
        if found:
            raise ConfigError.from_problems(found)
    model = getattr(settings, "model", None)
    if not isinstance(model, str):
        raise ConfigError(
            "missing required key 'model'",
            file=loaded.path,
            line=line,
            key=format_key_path((*base, "model")),
        )
    return DestinationConfig(
        name, str(dtype), model, settings, loaded.path, line, loaded.line_of((*base, "model"))
    )


def _key_line(
    loaded: LoadedYaml, base: KeyPath, model_cls: type[BaseModel], key: str
) -> int | None:
    """The line of a settings key as written, under its name or any of its aliases."""
    names = [key]
    field = model_cls.model_fields.get(key)
    if field is not None and isinstance(field.validation_alias, AliasChoices):
        names += [c for c in field.validation_alias.choices if isinstance(c, str)]
    for candidate in names:
        path = (*base, candidate)
        if path in loaded.lines:
            return loaded.lines[path]
    return None
