"""``--select`` and ``--exclude``: dbt's selector forms over retl's models and destinations.

One meaning for every command. A selector picks models:

- ``NAME``: the model NAME, or the model of the destination NAME;
- ``tag:T``: the models whose ``config(tags=...)`` holds T;
- ``destination:NAME``: the destination NAME (its model, for commands about models);
- ``+X``: X and the models it reads through ``ref()``, transitively (``2+X``: two levels);
- ``X+``: X and the models that read it, transitively (``X+1``: one level);
- ``A,B``: what both A and B pick (an intersection, as in dbt).

Selectors separated by spaces, or given by repeated options, add up; ``--exclude`` takes the
same forms and removes what they pick. Commands about models (``compile``) get the picked
models; commands about destinations (``validate``, ``check``, ``plan``, ``sync``,
``state reset``) get the destinations whose model is picked, except that a destination named
on its own (``NAME`` or ``destination:NAME``, without ``+``) picks that destination alone, not
the others that read the same model. A selector that is exactly ``destination:NAME`` for a
destination's NAME picks it whole, even when NAME holds a space, a comma or a ``+`` (names are
any key of destinations.yml); the run path re-selects destinations that way.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from reverse_etl.config.suggest import did_you_mean
from reverse_etl.errors import UsageError

Universe = Literal["models", "destinations"]

FORMS = "NAME, tag:TAG, destination:NAME, +NAME, NAME+, A,B (both)"
_METHODS = ("tag", "destination")
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")  # a name no shell or selector reads apart
_SHELL_READS = re.compile(r'[$`"\\!\n]')  # what a shell still reads inside double quotes
_GRAPH = re.compile(
    r"^(?:(?P<up>\d*)(?P<plus_up>\+))?(?P<body>.*?)(?:(?P<plus_down>\+)(?P<down>\d*))?$"
)


def model_tags(config: Mapping[str, Any]) -> frozenset[str]:
    """The tags of a model's ``config(tags=...)``: one string or a list, as in dbt."""
    tags = config.get("tags")
    if tags is None:
        return frozenset()
    if isinstance(tags, str):
        return frozenset({tags})
    return frozenset(str(t) for t in tags)


@dataclass(frozen=True)
class SelectGraph:
    """What selectors are resolved against."""

    refs: Mapping[str, Sequence[str]]
    """Each model's ``ref()``s."""
    order: Sequence[str]
    """Models in DAG order."""
    tags: Mapping[str, frozenset[str]]
    """Each model's tags."""
    load_destinations: Callable[[], Mapping[str, str]]
    """Destination name -> its model, in destinations.yml's order; read only when a selector
    needs it (``retl compile`` works without a destinations.yml)."""

    @cached_property
    def dests(self) -> Mapping[str, str]:
        return self.load_destinations()

    def downstream(self) -> dict[str, list[str]]:
        down: dict[str, list[str]] = {n: [] for n in self.order}
        for name, refs in self.refs.items():
            for ref in refs:
                down.setdefault(ref, []).append(name)
        return down


@dataclass(frozen=True)
class _Pick:
    """What one selector picks: models, and destinations named on their own."""

    models: frozenset[str] = frozenset()
    destinations: frozenset[str] = frozenset()

    def project(self, universe: Universe, graph: SelectGraph) -> set[str]:
        if universe == "models":
            dests = graph.dests if self.destinations else {}
            return set(self.models) | {dests[d] for d in self.destinations}
        if not self.models and not self.destinations:
            return set()
        return {d for d, m in graph.dests.items() if m in self.models} | set(self.destinations)


def tokens(selectors: Iterable[str], names: Iterable[str] = ()) -> list[str]:
    """Selectors as given (repeated options, or several in one separated by spaces). An item
    that is exactly ``destination:NAME`` for one of ``names`` (the destinations) is that
    destination whole, even when NAME holds a space, a comma or a ``+``."""
    exact = {f"destination:{n}" for n in names}
    return [t for item in selectors for t in ([item] if item in exact else item.split())]


def _exact_names(items: Sequence[str], graph: SelectGraph) -> Iterable[str]:
    """The destinations' names when an item may name one whole (destinations.yml is read
    only then: ``retl compile`` works without it)."""
    special = re.compile(r"[\s,+]")
    if any(i.startswith("destination:") and special.search(i) for i in items):
        return graph.dests
    return ()


def resolve(
    select: Sequence[str],
    exclude: Sequence[str],
    graph: SelectGraph,
    universe: Universe,
) -> list[str] | None:
    """The names ``select`` minus ``exclude`` pick, in DAG order (models) or destinations.yml's
    order (destinations). None when neither is given: everything."""
    names = _exact_names([*select, *exclude], graph)
    chosen, removed = tokens(select, names), tokens(exclude, names)
    if not chosen and not removed:
        return None
    if chosen:
        picked: set[str] = set()
        for token in chosen:
            picked |= _resolve_token(token, graph, universe, "--select")
    else:
        picked = set(graph.order) if universe == "models" else set(graph.dests)
    for token in removed:
        picked -= _resolve_token(token, graph, universe, "--exclude")
    everything = list(graph.order) if universe == "models" else list(graph.dests)
    out = [n for n in everything if n in picked]
    if not out:
        raise UsageError(
            f"{_given(chosen, removed)} picks no {universe[:-1]}",
            hint=_why_empty(chosen, removed, graph, universe),
        )
    return out


def _resolve_token(token: str, graph: SelectGraph, universe: Universe, key: str) -> set[str]:
    if token.startswith("destination:") and token.removeprefix("destination:") in graph.dests:
        return _Pick(destinations=frozenset({token.removeprefix("destination:")})).project(
            universe, graph
        )
    parts = token.split(",")
    if any(not p for p in parts):
        raise UsageError(f"'{token}' has an empty selector", key=key, hint=f"forms: {FORMS}")
    result: set[str] | None = None
    for part in parts:
        names = _pick(part, graph, key, universe).project(universe, graph)
        result = names if result is None else result & names
    return result or set()


def _pick(selector: str, graph: SelectGraph, key: str, universe: Universe) -> _Pick:
    match = _GRAPH.match(selector)
    assert match is not None  # the pattern matches any text
    body = match["body"]
    up = _depth(match["up"]) if match["plus_up"] else 0
    down = _depth(match["down"]) if match["plus_down"] else 0
    if not body or body[0] in "@*" or "+" in body:
        raise UsageError(
            f"'{selector}' is not a selector retl understands", key=key, hint=f"forms: {FORMS}"
        )
    method, sep, value = body.partition(":")
    if sep and method not in _METHODS:
        raise UsageError(
            f"unknown selector method '{method}:' in '{selector}'",
            key=key,
            hint=did_you_mean(method, _METHODS) or f"forms: {FORMS}",
        )
    pick = _base(method if sep else None, value if sep else body, graph, key, universe)
    if not up and not down:
        return pick
    # Graph operators work on models: a destination stands for its model.
    models = set(pick.models) | {graph.dests[d] for d in pick.destinations}
    grown = set(models)
    if up:
        grown |= _walk(models, graph.refs, up)
    if down:
        grown |= _walk(models, graph.downstream(), down)
    return _Pick(models=frozenset(grown))


def _depth(digits: str) -> float:
    return int(digits) if digits else float("inf")


def _walk(start: Iterable[str], edges: Mapping[str, Sequence[str]], depth: float) -> set[str]:
    seen: set[str] = set()
    frontier = set(start)
    level = 0
    while frontier and level < depth:
        level += 1
        frontier = {n for f in frontier for n in edges.get(f, ())} - seen
        seen |= frontier
    return seen


def _base(
    method: str | None, value: str, graph: SelectGraph, key: str, universe: Universe
) -> _Pick:
    if method == "tag":
        tagged = frozenset(n for n in graph.order if value in graph.tags.get(n, frozenset()))
        if not tagged:
            known = sorted({t for tags in graph.tags.values() for t in tags})
            raise UsageError(
                f"no model has tag '{value}'",
                key=key,
                hint=did_you_mean(value, known)
                or (
                    "tags: " + ", ".join(known)
                    if known
                    else "set tags with {{ config(tags=[...]) }}"
                ),
            )
        return _Pick(models=tagged)
    if method == "destination":
        dests = graph.dests
        if value not in dests:
            raise UsageError(
                f"no destination named '{value}'",
                key=key,
                hint=_whole(value, dests)
                or did_you_mean(value, dests)
                or "destinations: " + ", ".join(dests),
            )
        return _Pick(destinations=frozenset({value}))
    is_model = value in graph.refs
    if is_model and universe == "models":
        return _Pick(models=frozenset({value}))  # destinations.yml need not even exist
    dests = graph.dests
    if not is_model and value not in dests:
        raise UsageError(
            f"no model or destination named '{value}'",
            key=key,
            hint=_whole(value, dests)
            or did_you_mean(value, [*graph.order, *dests])
            or "models: " + ", ".join(graph.order),
        )
    return _Pick(
        models=frozenset({value} if is_model else ()),
        destinations=frozenset({value} if value in dests else ()),
    )


def destination_argument(name: str) -> str:
    """``--select``'s argument for the destination ``name`` in a command a message suggests,
    ready for a shell: the name itself when it is one plain word, else ``destination:NAME``
    quoted, one argument that picks it whole (a space, a comma or a ``+`` would otherwise
    split it or read as graph operators). Double quotes where a shell reads nothing inside
    them (messages put commands in single quotes), else shlex's quoting."""
    if _PLAIN.fullmatch(name):
        return name
    whole = f"destination:{name}"
    if not _SHELL_READS.search(whole):
        return f'"{whole}"'
    return shlex.quote(whole)


def _whole(value: str, dests: Iterable[str]) -> str | None:
    """The fix when ``value`` is a word of a destination's name that holds a space (the space
    separated selectors): name it whole, as one argument."""
    for name in dests:
        if name != value and value in name.split():
            return f'select it whole, as one argument: --select "destination:{name}"'
    return None


def _given(chosen: Sequence[str], removed: Sequence[str]) -> str:
    parts = (["--select " + " ".join(chosen)] if chosen else []) + (
        ["--exclude " + " ".join(removed)] if removed else []
    )
    return " ".join(parts)


def _why_empty(
    chosen: Sequence[str], removed: Sequence[str], graph: SelectGraph, universe: Universe
) -> str:
    if any("," in t for t in chosen):
        return "a comma means both, as in dbt: separate selectors with a space to take either"
    if removed:
        return "--exclude leaves nothing of what --select picks"
    read = sorted(set(graph.dests.values()))
    return "no destination reads the models it picks; destinations read " + ", ".join(read)
