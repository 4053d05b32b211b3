"""What the run path needs of a project: the facade (``Project``) satisfies it, and the
pipeline imports nothing above itself (only ``cli/`` imports the facade)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from reverse_etl.config.destinations import DestinationConfig
    from reverse_etl.config.project import ProjectConfig
    from reverse_etl.delivery.retry import RetryPolicy
    from reverse_etl.destinations.base import Destination
    from reverse_etl.engine.base import Engine
    from reverse_etl.engine.duckdb import DuckDBEngine
    from reverse_etl.models.compile import CompiledModel, ModelGraph
    from reverse_etl.pipeline.plan import ModelInput
    from reverse_etl.reporting.console import Console
    from reverse_etl.state.dedup import Clock
    from reverse_etl.validation import DestinationValidation


class RunContext(Protocol):
    """A loaded project, as the pipeline sees it."""

    @property
    def dir(self) -> Path: ...
    @property
    def config(self) -> ProjectConfig: ...
    @property
    def console(self) -> Console: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def retry_policy(self) -> RetryPolicy: ...
    @property
    def state_dir(self) -> Path: ...
    @property
    def workbench(self) -> DuckDBEngine: ...
    @property
    def engine(self) -> Engine: ...
    @property
    def graph(self) -> ModelGraph: ...

    def model_input(self, compiled: CompiledModel) -> ModelInput: ...
    def validate(self, select: Sequence[str] = ()) -> list[DestinationValidation]: ...
    def destinations_for_run(self, select: Sequence[str]) -> list[Destination]: ...
    def select_destinations(self, select: Sequence[str] = ()) -> list[DestinationConfig]: ...
