"""TikTok's :class:`~reverse_etl.destinations.base.ColumnRules`: what ``retl validate`` reads
of the TikTok catalog for one event source (WEB, APP, OFFLINE, CRM).

Validation is platform-blind; everything it says about TikTok in particular comes from here:
the mapping and key logic a sync uses (``mapping.py``, ``encode.key_columns_for``), the
parameters every row needs, which columns identify a person, and the verdicts on event names
and fixed vocabularies known statically.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from reverse_etl.config.suggest import closest, did_you_mean
from reverse_etl.destinations.catalog import (
    Catalog,
    ColumnIssue,
    ColumnMapping,
    ContentKey,
    ParamSpec,
    missing_required,
)
from reverse_etl.destinations.shared.rows import key_columns_for
from reverse_etl.destinations.tiktok.catalog import (
    CATALOG,
    CONTENT_KEYS,
    OBJECTS,
    OPEN_OBJECTS,
    match_keys_for,
)
from reverse_etl.destinations.tiktok.mapping import key_only_columns, map_columns
from reverse_etl.destinations.tiktok.vocab import (
    LEGACY_EVENTS,
    RESERVED_EVENTS,
    standard_events_for,
)


@dataclass
class TikTokRules:
    """The column rules of a ``tiktok_events`` destination sending to ``source``."""

    source: str
    platform: str = "TikTok"
    catalog: Catalog = CATALOG
    objects: tuple[str, ...] = OBJECTS
    open_objects: frozenset[str] = OPEN_OBJECTS
    content_keys: tuple[ContentKey, ...] = CONTENT_KEYS

    def map_columns(self, names: Sequence[str], *, ignore: Sequence[str] = ()) -> ColumnMapping:
        return map_columns(names, self.source, catalog=self.catalog, ignore=ignore)

    def key_columns(
        self,
        names: Sequence[str],
        configured: Sequence[str] | None,
        model_key: Sequence[str] | None,
    ) -> tuple[tuple[str, ...], bool] | None:
        return key_columns_for(names, configured, model_key)

    def key_only_columns(self, keys: Sequence[str]) -> list[str]:
        return key_only_columns(keys, catalog=self.catalog)

    def required(self) -> list[ParamSpec]:
        return self.catalog.required(self.source)

    def missing_required(self, mapped: Mapping[str, Collection[str] | None]) -> list[ColumnIssue]:
        return missing_required(self.required(), mapped, self.source)

    def identifier_issues(self, params: set[str]) -> list[ColumnIssue]:
        """A warning when no column gives one of the source's match keys (a CRM event is
        matched to its lead through lead_id; a ttclid is read on WEB only)."""
        keys = match_keys_for(self.source)
        if any(set(k.params) <= params for k in keys):
            return []
        names = [" with ".join(k.params) for k in keys]
        listed = f"{', '.join(names[:-1])} or {names[-1]}"
        return [
            ColumnIssue(
                "",
                f"no column identifies the person ({listed}): TikTok cannot match these events",
                "add at least one; e-mail, phone and external_id are hashed before sending",
                severity="warning",
                rule="no-identifier",
            )
        ]

    def value_issues(self, param: ParamSpec, values: Iterable[str]) -> list[ColumnIssue]:
        """Event names for the source, then values outside a fixed vocabulary. A blank value
        (empty, or only whitespace) is sent as a NULL one is, left out (``shared/blanks.py``):
        no vocabulary refuses it (a blank event is an error of its own)."""
        values = sorted(values)
        out = check_events(values, self.source) if param.name == "event" else []
        return out + check_allowed(param, [v for v in values if v.strip()])


def check_events(values: Iterable[str], source: str) -> list[ColumnIssue]:
    """An issue per event name that is not a standard event of ``source``.

    OFFLINE takes standard (and legacy) names only; WEB and APP send other names as custom
    events; CRM event names are the CRM's own stage names, so any name goes.
    """
    if source == "CRM":
        return []
    standard = standard_events_for(source)
    out: list[ColumnIssue] = []
    for name in sorted(values):
        if name in standard:
            continue
        if not name.strip():
            out.append(_issue("event-name", "error", "event name is empty"))
        elif source == "OFFLINE" and LEGACY_EVENTS.get(name) == "PageView":
            # A Pixel event TikTok may not count from an offline event set: sent, with a
            # warning (the encoder warns per row too).
            out.append(
                _issue(
                    "event-name",
                    "warning",
                    f"event '{name}' is not an OFFLINE standard event: TikTok may not count it",
                    "use a standard event, e.g. 'ViewContent'",
                )
            )
        elif name in LEGACY_EVENTS:
            current = LEGACY_EVENTS[name]
            now = f" (today's name: '{current}')" if current != name else ""
            out.append(
                _issue(
                    "legacy-event", "note", f"event '{name}' is a legacy name TikTok accepts{now}"
                )
            )
        elif name in RESERVED_EVENTS and source != "OFFLINE":
            # TikTok maps a reserved name to another event (H-RES); it refuses none.
            now = RESERVED_EVENTS[name]
            out.append(
                _issue(
                    "event-name",
                    "warning",
                    f"event '{name}' is a reserved name TikTok reports as '{now}'",
                    f"write '{now}'",
                )
            )
        elif source == "OFFLINE":
            out.append(
                _issue(
                    "event-name",
                    "error",
                    f"event '{name}' is not a standard event: OFFLINE takes standard events only",
                    _spaced_hint(name, standard | set(LEGACY_EVENTS)) or _nearest(name, standard),
                )
            )
        else:
            known = standard | set(LEGACY_EVENTS) | set(RESERVED_EVENTS)
            out.append(
                _issue(
                    "custom-event",
                    "warning",
                    f"event '{name}' is not a standard {source} event: it is sent as a "
                    "custom event",
                    _spaced_hint(name, known) or _nearest(name, standard),
                )
            )
    return out


def _spaced_hint(name: str, known: Collection[str]) -> str | None:
    """The hint for an event name that only spaces around it keep from a known one
    (``' Purchase '``): TikTok matches names exactly, so it would be a custom event."""
    trimmed = name.strip(" ")
    if trimmed == name or trimmed not in known:
        return None
    return (
        f"did you mean '{trimmed}'? The spaces around the name keep it out: write "
        "trim(event) in the model"
    )


def check_allowed(param: ParamSpec, values: Iterable[str]) -> list[ColumnIssue]:
    """Values of a parameter with a fixed vocabulary that TikTok does not accept."""
    if param.allowed is None:
        return []
    out = []
    for value in sorted(values):
        if value not in param.allowed:
            hint = _trimmed_hint(value, param.allowed) or did_you_mean(value, param.allowed)
            if hint is None and len(param.allowed) <= 8:
                hint = "accepted: " + ", ".join(sorted(param.allowed))
            out.append(
                _issue(
                    "allowed-value",
                    "error",
                    f"{param.name} '{value}' is not accepted by TikTok",
                    hint or "see docs/tiktok.md for the accepted values",
                )
            )
    return out


# What a model writes to take the spaces around a value off (and its case, where the
# vocabulary has one), in the order encode's reasons try them (``_value_checks``).
_TRIM_FIXES: tuple[tuple[Callable[[str], str], str], ...] = (
    (lambda v: v.strip(" "), "trim(...)"),
    (lambda v: v.strip(" ").upper(), "trim(upper(...))"),
    (lambda v: v.strip(" ").lower(), "trim(lower(...))"),
)


def _trimmed_hint(value: str, allowed: Collection[str]) -> str | None:
    """The hint for a value that only spaces around it keep out of the vocabulary
    (``' USD '``): "did you mean 'USD'?" alone read as if it named the same value. Given
    only when what it says to write is accepted (``trim()`` takes spaces only)."""
    if value.strip(" ") == value:
        return None
    for fix, how in _TRIM_FIXES:
        if (fixed := fix(value)) in allowed:
            return (
                f"did you mean '{fixed}'? The spaces around the value keep it out: write "
                f"{how} of the column in the model"
            )
    return None


def _issue(rule: str, severity: str, message: str, hint: str | None = None) -> ColumnIssue:
    # About the column's values, not the model: validation says which column.
    return ColumnIssue("", message, hint or None, severity=severity, rule=rule)


def _nearest(name: str, standard: Iterable[str]) -> str:
    # cutoff 0: always name the closest standard event, however far, as the issue asks.
    best = closest(name, standard, n=1, cutoff=0.0)
    return f"the closest standard event is '{best[0]}'" if best else ""
