"""What static validation needs of a project: the facade (``Project``) satisfies it, and
validation imports nothing above itself (only ``cli/`` imports the facade)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from reverse_etl.config.destinations import DestinationConfig
    from reverse_etl.config.project import ProjectConfig
    from reverse_etl.engine.base import Engine
    from reverse_etl.models.sources import SourceCatalog


class ValidatedProject(Protocol):
    """A loaded project, as ``retl validate`` sees it."""

    @property
    def dir(self) -> Path: ...
    @property
    def config(self) -> ProjectConfig: ...
    @property
    def vars(self) -> Mapping[str, Any]: ...
    @property
    def sources(self) -> SourceCatalog: ...
    @property
    def engine(self) -> Engine: ...

    def resolve_path(self, value: str) -> Path: ...
    def readable_files(self) -> tuple[list[Path], list[Path]]:
        """The folders and files models may read (the RETL_ALLOWED_PATHS rule); a
        ConfigError when a link leads out of the project."""
        ...

    def allows(self, path: Path) -> bool:
        """Whether models may read the local file ``path`` (``readable_files``' rule)."""
        ...

    def model_names(self) -> list[str]: ...
    def select_destinations(self, select: Sequence[str] = ()) -> list[DestinationConfig]: ...
    def graph_args(self) -> dict[str, Any]:
        """The model graph's settings besides its folder, vars and sources (dbt refs, the
        secret variables a model may not read)."""
        ...
