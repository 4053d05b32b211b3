"""What the web page reads of a project: the facade's read-only methods, as a protocol
(``reverse_etl.project.Project`` satisfies it; unit tests pass a small fake)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from reverse_etl.config.destinations import DestinationConfig
from reverse_etl.history.records import RunDestinationRecord, RunDetail, RunRecord
from reverse_etl.pipeline.plan import DestinationPlan
from reverse_etl.validation.result import DestinationValidation


class UiProject(Protocol):
    """The project behind ``retl ui``. Nothing here writes: runs, history, validation and
    plans are reads of the project and its state."""

    @property
    def dir(self) -> Path:
        """The project's folder: errors name its files relative to it, as the CLI does."""
        ...

    @property
    def state_dir(self) -> Path: ...

    @property
    def destinations(self) -> list[DestinationConfig]: ...

    def runs(self, limit: int = 50) -> list[RunRecord]: ...

    def run_detail(self, run_id: str) -> RunDetail | None: ...

    def destination_history(
        self, destination: str, limit: int = 100
    ) -> list[RunDestinationRecord]: ...

    def validate(
        self, select: Sequence[str] = (), *, exclude: Sequence[str] = ()
    ) -> list[DestinationValidation]: ...

    def plan(
        self,
        select: Sequence[str] = (),
        *,
        exclude: Sequence[str] = (),
        sandbox: bool = False,
        full_refresh: bool = False,
    ) -> list[DestinationPlan]: ...
