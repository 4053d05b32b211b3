"""A stand-in project for the server's unit tests: fixed runs, a hostile destination name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from reverse_etl.config.destinations import DestinationConfig
from reverse_etl.history.records import (
    REJECTED,
    DeliveryRecord,
    RunDestinationRecord,
    RunDetail,
    RunRecord,
)
from reverse_etl.pipeline.plan import DestinationPlan
from reverse_etl.validation.result import DestinationValidation

HOSTILE = "<script>alert('x')</script>"
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


def run_record(i: int, *, sent: int, rejected: int = 0, dest: str = HOSTILE) -> RunRecord:
    start = T0 + dt.timedelta(hours=i)
    return RunRecord(
        f"run-{i}",
        start,
        start + dt.timedelta(seconds=5),
        "retl sync",
        (dest,),
        sent,
        rejected,
        0,
        0,
        0 if not rejected else 1,
        "0.1.0",
        i % 2 == 1,
    )


def dest_record(i: int, coverage: float | None) -> RunDestinationRecord:
    end = T0 + dt.timedelta(hours=i, seconds=5)
    return RunDestinationRecord(
        f"run-{i}", HOSTILE, "tiktok", "<b>model</b>", end, 10, 8, 2, 0, 0, 0, coverage, None
    )


class _Settings(BaseModel):
    pass


@dataclass
class FakeProject:
    state_dir: Path
    runs_: list[RunRecord] = field(default_factory=list)
    history: list[RunDestinationRecord] = field(default_factory=list)

    @property
    def dir(self) -> Path:
        return self.state_dir.parent

    @property
    def destinations(self) -> list[DestinationConfig]:
        return [
            DestinationConfig(
                HOSTILE, "tiktok_events", "<b>model</b>", _Settings(), Path("destinations.yml"), 1
            )
        ]

    def runs(self, limit: int = 50) -> list[RunRecord]:
        return self.runs_[:limit]

    def run_detail(self, run_id: str) -> RunDetail | None:
        run = next((r for r in self.runs_ if r.run_id == run_id), None)
        if run is None:
            return None
        bad = DeliveryRecord(
            run_id,
            HOSTILE,
            "jane.doe@example.com",
            "e1",
            REJECTED,
            40002,
            "<img src=x onerror=alert(1)> for 203.0.113.7 and +1 415 555 0134",
            "req-1",
            run.started_at,
        )
        return RunDetail(run, tuple(self.history[:1]), (bad,), 1)

    def destination_history(self, destination: str, limit: int = 100) -> list[RunDestinationRecord]:
        return self.history[-limit:] if destination == HOSTILE else []

    def validate(
        self, select: Sequence[str] = (), *, exclude: Sequence[str] = ()
    ) -> list[DestinationValidation]:
        return []

    def plan(
        self,
        select: Sequence[str] = (),
        *,
        exclude: Sequence[str] = (),
        sandbox: bool = False,
        full_refresh: bool = False,
    ) -> list[DestinationPlan]:
        return []
