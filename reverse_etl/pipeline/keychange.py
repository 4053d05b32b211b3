"""A destination whose state cannot be compared with its rows: its key changed since its
last sync, or it is new beside the state of a destination that is gone (a rename).

The state holds each acknowledged row under its key's value (``CAST(col AS VARCHAR)``, with
no record of the column it came from). Once the key is another column, a new key's value
can equal an old one's: that row was classified as changed (held back with ``on_change:
skip``, or outside the dedup window) though never sent, and rows sent before came out as
new. The last sync's mapping records its key columns; a run whose key differs stops before
anything is read or sent, and says how to go on.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import orjson

from reverse_etl.errors import ConfigError
from reverse_etl.models.select import destination_argument
from reverse_etl.pipeline.stores import reset_command

if TYPE_CHECKING:
    from reverse_etl.destinations.base import Destination
    from reverse_etl.history.read import HistoryReader
    from reverse_etl.models.compile import CompiledModel
    from reverse_etl.state.base import StateStore
    from reverse_etl.state.store import ScopeInfo


def key_change(
    dest: Destination,
    compiled: CompiledModel,
    previous: ScopeInfo | None,
    store: StateStore,
    *,
    sandbox: bool,
) -> ConfigError | None:
    """The error to stop on when ``dest``'s key columns are not those of its last sync, and
    something was acknowledged under them (a first sync with nothing to send, an empty
    model, recorded its run and its key: a key corrected after it has nothing to mismatch;
    a run the platform refused entirely records none, ``send.synced``)."""
    if previous is None or not previous.mapping:
        return None
    moved = _key_change(dest, compiled, previous.mapping, sandbox=sandbox)
    if moved is not None and store.hash_form(dest.name, previous.scope) is None:
        return None
    return moved


def _key_change(
    dest: Destination, compiled: CompiledModel, mapping: str, *, sandbox: bool
) -> ConfigError | None:
    try:
        recorded = orjson.loads(mapping).get("key")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    if not isinstance(recorded, list) or not recorded:
        return None  # a state from before the key was recorded: nothing to compare
    # The key without the model's columns: the destination's primary_key, else the model's
    # config(primary_key=...), else event_id (a model without it fails later, as before).
    now = dest.key_columns(["event_id"], compiled.model.primary_key)
    if now is None or [str(c) for c in recorded] == list(now):
        return None
    old, new = ", ".join(map(str, recorded)), ", ".join(now)
    configured = "primary_key" in dest.config.key_lines
    hours = dest.capabilities.dedup_window_seconds // 3600
    reset = f"{reset_command(sandbox)} --select {destination_argument(dest.name)}"
    return ConfigError(
        f"{dest.name}: the row key changed since the last sync ({old} -> {new}): what was "
        f"sent under {old} cannot be matched to rows keyed by {new} (a row never sent could "
        "pass for one sent before); nothing was sent",
        file=dest.config.file if configured else compiled.model.path,
        line=dest.config.line_of("primary_key") if configured else None,
        key=f"destinations.{dest.name}.primary_key" if configured else None,
        hint=f"put the key back to {old}, or run '{reset}' to "
        f"forget what was sent under it (the next sync then sends every row again, keyed by "
        f"{new}; {dest.capabilities.platform} deduplicates repeats by event_id only within "
        f"{hours} hours)",
    )


def renamed_from(
    dest: Destination,
    scope: str,
    scopes: Sequence[ScopeInfo],
    configured: Collection[str],
    *,
    sandbox: bool,
) -> ConfigError | None:
    """The error to stop on when ``dest`` has sent nothing yet but the state holds events
    sent to the same event source by a destination destinations.yml no longer has: most
    likely ``dest`` under its old name, whose every row would go out again unasked (a full
    refresh asks first)."""
    gone = [s for s in scopes if s.scope == scope and s.destination not in configured]
    if not gone:
        return None
    old = gone[0]
    selected = destination_argument(dest.name)
    sent = f"{old.rows} event(s)" if old.rows is not None else "the events"
    reset = f"{reset_command(sandbox)} --select {destination_argument(old.destination)}"
    return ConfigError(
        f"{dest.name}: nothing was sent from this destination yet, but the state holds {sent} "
        f"sent to the same event source by destination '{old.destination}', which "
        "destinations.yml no longer has; if it was renamed, every row would go out again "
        "(nothing was sent)",
        file=dest.config.file,
        line=dest.config.line,
        key=f"destinations.{dest.name}",
        hint=f"give it its old name '{old.destination}' back to keep what was sent, or run "
        f"'{reset}' to forget it (the next sync of {dest.name} then sends every row; "
        f"{dest.capabilities.platform} deduplicates repeats by event_id only within "
        f"{dest.capabilities.dedup_window_seconds // 3600} hours); if {dest.name} is new, not "
        f"a rename, run its first sync with '--full-refresh --select {selected}'; the other "
        f"destinations sync meanwhile with '--exclude {selected}'",
    )


def model_renamed(dest: Destination, model: str, history: HistoryReader) -> str | None:
    """A warning when ``dest``'s event ids are derived from its model's name (it has no
    ``event_id`` column) and the model of its last sync had another name: a row sent again
    gets another event id, which the platform cannot deduplicate against the first."""
    last = history.destination_history(dest.name, 1)
    if not last or last[-1].model == model:
        return None
    old = last[-1].model
    return (
        f"{dest.name}: its event_ids are derived from the model's name and the row key, and "
        f"its model is now '{model}' (it was '{old}'): a row sent again gets another event_id "
        f"than before, which {dest.capabilities.platform} cannot deduplicate against the first; "
        f"keep the old ones with an event_id column: 'retl-' and the first 32 hex characters of "
        f"sha256('{old}:' || the row key) (docs/state.md, Keys)"
    )
