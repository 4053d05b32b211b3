"""Turn pydantic ValidationErrors into located Problems with did-you-mean hints."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ValidationError

from reverse_etl.config.suggest import did_you_mean
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


def problems_from_validation(
    exc: ValidationError,
    loaded: LoadedYaml,
    model: type[BaseModel],
    base: KeyPath = (),
) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        key_path: KeyPath = (*base, *loc)
        kind = err["type"]
        key_text = format_key_path(key_path)
        line = loaded.line_of(key_path)
        if kind == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            options = field_names(owner) if owner is not None else []
            hint = did_you_mean(str(loc[-1]), options) or (
                "valid keys: " + ", ".join(sorted(options)) if options else None
            )
            problems.append(
                Problem(f"unknown key '{loc[-1]}'", loaded.path, line, key_text, hint=hint)
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
            problems.append(Problem(msg, loaded.path, line, key_text))
    return problems
