"""Model discovery and the ref() DAG: unique names, no cycles, dependency order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from reverse_etl.errors import ModelError, Problem


@dataclass(frozen=True)
class ModelFile:
    name: str
    path: Path


def discover_models(models_dir: Path) -> dict[str, ModelFile]:
    """Every ``*.sql`` under ``models_dir``; a name used twice is an error naming both files."""
    if not models_dir.is_dir():
        return {}
    found: dict[str, ModelFile] = {}
    problems: list[Problem] = []
    for path in sorted(models_dir.rglob("*.sql")):
        if any(part.startswith(".") for part in path.relative_to(models_dir).parts):
            continue
        name = path.stem
        if name in found:
            problems.append(
                Problem(
                    f"model name '{name}' is used twice (also {found[name].path})",
                    file=path,
                    hint="model names are file stems and must be unique: rename one file",
                )
            )
            continue
        found[name] = ModelFile(name, path)
    if problems:
        raise ModelError.from_problems(problems)
    return found


def topo_order(deps: Mapping[str, Iterable[str]], paths: Mapping[str, Path]) -> list[str]:
    """Models in dependency order (dependencies first); a cycle is an error naming its files."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        mark = state.get(node)
        if mark == 2:
            return
        if mark == 1:
            cycle = [*stack[stack.index(node) :], node]
            raise ModelError(
                "ref() cycle: " + " -> ".join(cycle),
                file=paths.get(node),
                hint="files: " + ", ".join(str(paths[n]) for n in cycle[:-1] if n in paths),
            )
        state[node] = 1
        stack.append(node)
        for dep in sorted(set(deps.get(node, ()))):
            visit(dep)
        stack.pop()
        state[node] = 2
        order.append(node)

    for node in sorted(deps):
        visit(node)
    return order


def upstream(name: str, deps: Mapping[str, Iterable[str]]) -> set[str]:
    """All models ``name`` depends on, transitively."""
    seen: set[str] = set()
    todo = list(deps.get(name, ()))
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.add(dep)
            todo.extend(deps.get(dep, ()))
    return seen
