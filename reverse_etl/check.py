"""``retl check``'s results: per destination, one line per thing verified before a first sync.

Platform-blind values: a platform's checks (``destinations/<platform>/check.py``) build them,
``Project.check`` returns them, and the CLI renders them as lines or one JSON document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from reverse_etl.errors import Problem

CheckStatus = Literal["ok", "failed", "skipped"]


@dataclass(frozen=True)
class CheckItem:
    """One verified thing: what was checked and, when it failed, what to fix where."""

    check: str  # "token", "advertiser", "event_source"
    status: CheckStatus
    message: str
    key: str | None = None  # the destinations.yml key to fix, e.g. destinations.x.advertiser_id
    hint: str | None = None
    code: int | None = None  # the platform's own error code, when it answered with one

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "key": self.key,
            "hint": self.hint,
            "code": self.code,
        }


@dataclass(frozen=True)
class DestinationCheck:
    """Every check of one destination, in the order they ran."""

    destination: str
    event_source: str
    items: tuple[CheckItem, ...]
    sandbox: bool = False
    # What text output says of the destination's settings that is neither a warning nor a
    # failure (``event_data_source: web`` read as ``WEB``): ``Project.check`` adds them.
    notes: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """All checks passed (a skipped one follows a failure, so it is not a pass)."""
        return all(i.status == "ok" for i in self.items)

    def to_dict(self, root: Path | None = None) -> dict[str, Any]:
        """``root``: the project's folder, files inside it named relative to it."""
        return {
            "destination": self.destination,
            "event_source": self.event_source,
            "ok": self.ok,
            "checks": [i.to_dict() for i in self.items],
            "notes": [n.shown_from(root).render() for n in self.notes],
        }


def check_document(results: Sequence[DestinationCheck], root: Path | None = None) -> dict[str, Any]:
    """The ``--format json`` document of ``retl check``: per destination its checks and the
    notes text output gives it, as ``retl plan``'s entries carry them."""
    return {
        "ok": all(r.ok for r in results),
        "sandbox": any(r.sandbox for r in results),
        "destinations": [r.to_dict(root) for r in results],
    }
