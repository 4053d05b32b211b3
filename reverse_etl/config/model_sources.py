"""Sources declared in dbt's properties files: ``sources:`` in any ``models/**/*.yml`` (or
``.yaml``), where a dbt project keeps them (``models/staging/_sources.yml``), read beside
those of retl_project.yml.

Only ``sources:`` is read. A file's other keys (``version``, ``models``, ``seeds``,
``exposures`` ...) are dbt's and left alone, and a file without ``sources:`` is not retl's
concern. A source named twice (in two files, or in one and retl_project.yml) is an error
naming both places: which declaration ``source()`` reads would be a guess.

A properties file is a project file (a pull request's too): it is read only when it is inside
the project, not through a hidden folder or a link to a file elsewhere, and its templates
resolve as destinations.yml's do (``env_var()`` of a variable that holds no secret, and the
project's ``var()``, as dbt's ``{{ var('raw_schema') }}``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from reverse_etl.config.errors_map import problems_from_validation
from reverse_etl.config.project import PROJECT_FILE, ProjectConfig, SourceDecl, _Strict
from reverse_etl.config.resolve import resolve_tree
from reverse_etl.config.yaml_loader import LoadedYaml, format_key_path, load_yaml
from reverse_etl.engine.file_rule import unhidden_under
from reverse_etl.errors import ConfigError, Problem

SUFFIXES = (".yml", ".yaml")


class _SourcesOnly(_Strict):
    """The ``sources:`` of a properties file (its other keys are dropped before this)."""

    sources: list[SourceDecl] = Field(default_factory=list)


@dataclass(frozen=True)
class SourceOrigin:
    """Where a source is declared: the file, and its position under that file's ``sources:``."""

    file: Path
    index: int


@dataclass(frozen=True)
class ProjectSources:
    """Every declared source, those of retl_project.yml first, and where each is written."""

    sources: tuple[SourceDecl, ...]
    origins: dict[str, SourceOrigin]


def properties_files(models_dir: Path) -> list[Path]:
    """The YAML files under ``models_dir``, in a stable order; hidden ones left out (as
    hidden models are)."""
    if not models_dir.is_dir():
        return []
    found = (p for suffix in SUFFIXES for p in models_dir.rglob("*" + suffix))
    # A link is listed whether its target exists or not (_read refuses one leading out of
    # the project either way): said only of an existing one, a pull request's link to
    # ~/.ssh/id_rsa would learn whether that file is there.
    return sorted(
        p
        for p in found
        if (p.is_symlink() or p.is_file())
        and not any(part.startswith(".") for part in p.relative_to(models_dir).parts)
    )


def project_sources(
    project_dir: Path,
    config: ProjectConfig,
    models_dir: Path,
    *,
    secret_env: frozenset[str] = frozenset(),
    variables: Mapping[str, Any] | None = None,
) -> ProjectSources:
    """retl_project.yml's sources and those of the properties files under ``models_dir``;
    every problem of every file at once (a ConfigError)."""
    project_file = project_dir / PROJECT_FILE
    sources = list(config.sources)
    origins = {s.name: SourceOrigin(project_file, i) for i, s in enumerate(config.sources)}
    problems: list[Problem] = []
    for path in properties_files(models_dir):
        try:
            declared = _read(path, project_dir, secret_env, variables or {})
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        if declared is None:
            continue
        loaded, decls = declared
        for index, decl in enumerate(decls):
            first = origins.get(decl.name)
            if first is not None:
                problems.append(_twice(decl.name, loaded, index, first, project_dir))
                continue
            origins[decl.name] = SourceOrigin(path, index)
            sources.append(decl)
    if problems:
        raise ConfigError.from_problems(problems)
    return ProjectSources(tuple(sources), origins)


def _read(
    path: Path, project_dir: Path, secret_env: frozenset[str], variables: Mapping[str, Any]
) -> tuple[LoadedYaml, Sequence[SourceDecl]] | None:
    """The file's sources (None: it declares none)."""
    try:
        target = path.resolve()
    except (RuntimeError, OSError):  # a loop of links: nothing to read
        return None
    if not unhidden_under(target, project_dir.resolve()):
        raise ConfigError(
            "is a link to a file outside the project (or under a hidden folder): not read",
            file=path,
            hint="keep the project's properties files inside the project",
        )
    if not path.is_file():  # a link to nothing (or to a folder) in the project
        return None
    if not _may_declare_sources(path):
        return None
    loaded = load_yaml(path)
    assert loaded is not None  # required
    data = loaded.data
    if not isinstance(data, dict) or "sources" not in data:
        return None
    raw = data["sources"]
    if raw is None:
        return None
    resolved = resolve_tree(
        loaded, raw, ("sources",), variables=variables, extra_secret_env=secret_env
    )
    try:
        parsed = _SourcesOnly.model_validate({"sources": resolved})
    except ValidationError as exc:
        raise ConfigError.from_problems(
            problems_from_validation(exc, loaded, _SourcesOnly)
        ) from None
    return loaded, _unique(parsed.sources, loaded)


def _may_declare_sources(path: Path) -> bool:
    """Whether the file's text names ``sources`` at all: a dbt project's models/schema.yml
    of thousands of models and no sources is not parsed (seconds, at every command)."""
    try:
        with path.open("rb") as handle:
            return b"sources" in handle.read()
    except OSError:
        return True  # load_yaml says why it cannot be read


def _unique(decls: Iterable[SourceDecl], loaded: LoadedYaml) -> list[SourceDecl]:
    """The file's sources; one named twice in the file is an error at the second."""
    seen: set[str] = set()
    out: list[SourceDecl] = []
    for index, decl in enumerate(decls):
        if decl.name in seen:
            key = ("sources", index, "name")
            raise ConfigError(
                f"source '{decl.name}' is declared twice",
                file=loaded.path,
                line=loaded.line_of(key),
                key=format_key_path(key),
                hint="declare each source once (a source's tables all go under it)",
            )
        seen.add(decl.name)
        out.append(decl)
    return out


def _twice(
    name: str, loaded: LoadedYaml, index: int, first: SourceOrigin, project_dir: Path
) -> Problem:
    key = ("sources", index, "name")
    earlier = load_yaml(first.file, required=False)
    line = earlier.line_of(("sources", first.index, "name")) if earlier is not None else None
    where = shown_path(first.file, project_dir) + (f":{line}" if line is not None else "")
    return Problem(
        f"source '{name}' is declared twice (also in {where})",
        file=loaded.path,
        line=loaded.line_of(key),
        key=format_key_path(key),
        hint="declare each source once: which declaration source() reads would be a guess",
    )


def shown_path(path: Path, project_dir: Path) -> str:
    """``path`` as the project spells it (``models/staging/_sources.yml``), else whole."""
    try:
        return path.relative_to(project_dir).as_posix()
    except ValueError:
        return str(path)


def origin_line(origin: SourceOrigin, key_path: tuple[Any, ...]) -> int | None:
    """The line of ``key_path`` (below the source's entry) in the file that declares it."""
    loaded = load_yaml(origin.file, required=False)
    if loaded is None:
        return None
    return loaded.line_of(("sources", origin.index, *key_path))
