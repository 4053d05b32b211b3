"""Checks on values known statically (literals, CASE branches of literals): event names for
the event source, and parameters with a fixed list of values (currency, content_type …)."""

from __future__ import annotations

from collections.abc import Iterable

from reverse_etl.config.suggest import closest, did_you_mean
from reverse_etl.destinations.tiktok.catalog import ParamSpec
from reverse_etl.destinations.tiktok.vocab import (
    LEGACY_EVENTS,
    RESERVED_EVENTS,
    standard_events_for,
)
from reverse_etl.validation.types import TypeVerdict


def check_events(values: Iterable[str], source: str) -> list[tuple[str, TypeVerdict]]:
    """(rule, verdict) per event name that is not a standard event of ``source``.

    OFFLINE takes standard (and legacy) names only; WEB and APP send other names as custom
    events; CRM event names are the CRM's own stage names, so any name goes.
    """
    if source == "CRM":
        return []
    standard = standard_events_for(source)
    out: list[tuple[str, TypeVerdict]] = []
    for name in sorted(values):
        if name in standard:
            continue
        if not name.strip():
            out.append(("event-name", TypeVerdict("error", "event name is empty")))
        elif source == "OFFLINE" and LEGACY_EVENTS.get(name) == "PageView":
            # A Pixel event TikTok may not count from an offline event set: sent, with a
            # warning (the encoder warns per row too).
            out.append(
                (
                    "event-name",
                    TypeVerdict(
                        "warning",
                        f"event '{name}' is not an OFFLINE standard event: TikTok may not count it",
                        "use a standard event, e.g. 'ViewContent'",
                    ),
                )
            )
        elif name in LEGACY_EVENTS:
            current = LEGACY_EVENTS[name]
            now = f" (today's name: '{current}')" if current != name else ""
            out.append(
                (
                    "legacy-event",
                    TypeVerdict("note", f"event '{name}' is a legacy name TikTok accepts{now}"),
                )
            )
        elif name in RESERVED_EVENTS and source != "OFFLINE":
            out.append(
                (
                    "event-name",
                    TypeVerdict(
                        "error",
                        f"event '{name}' is a reserved name: TikTok rejects it",
                        f"use '{RESERVED_EVENTS[name]}'",
                    ),
                )
            )
        elif source == "OFFLINE":
            out.append(
                (
                    "event-name",
                    TypeVerdict(
                        "error",
                        f"event '{name}' is not a standard event: OFFLINE takes standard "
                        "events only",
                        _nearest(name, standard),
                    ),
                )
            )
        else:
            out.append(
                (
                    "custom-event",
                    TypeVerdict(
                        "warning",
                        f"event '{name}' is not a standard {source} event: it is sent as a "
                        "custom event",
                        _nearest(name, standard),
                    ),
                )
            )
    return out


def _nearest(name: str, standard: Iterable[str]) -> str:
    # cutoff 0: always name the closest standard event, however far, as the issue asks.
    best = closest(name, standard, n=1, cutoff=0.0)
    return f"the closest standard event is '{best[0]}'" if best else ""


def check_allowed(param: ParamSpec, values: Iterable[str]) -> list[TypeVerdict]:
    """Values of a parameter with a fixed vocabulary that TikTok does not accept."""
    if param.allowed is None:
        return []
    out = []
    for value in sorted(values):
        if value not in param.allowed:
            hint = did_you_mean(value, param.allowed)
            if hint is None and len(param.allowed) <= 8:
                hint = "accepted: " + ", ".join(sorted(param.allowed))
            out.append(
                TypeVerdict(
                    "error",
                    f"{param.name} '{value}' is not accepted by TikTok",
                    hint or "see docs/tiktok.md for the accepted values",
                )
            )
    return out
