"""retl: declarative reverse ETL. The public API is the Project facade and the error tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reverse_etl.__about__ import __version__
from reverse_etl.errors import (
    AuthError,
    ConfigError,
    DestinationError,
    EngineError,
    InvalidRowsError,
    LockError,
    ModelError,
    Problem,
    RetlError,
    StateError,
    TerminalDestinationError,
    TransientDestinationError,
    UsageError,
    ValidationFailed,
)

if TYPE_CHECKING:
    from reverse_etl.project import Project

__all__ = [
    "AuthError",
    "ConfigError",
    "DestinationError",
    "EngineError",
    "InvalidRowsError",
    "LockError",
    "ModelError",
    "Problem",
    "Project",
    "RetlError",
    "StateError",
    "TerminalDestinationError",
    "TransientDestinationError",
    "UsageError",
    "ValidationFailed",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # The facade imports DuckDB, Arrow, pydantic and sqlglot (~1 s, ~130 MB): it is loaded on
    # first use, so that `retl --version` and every `import reverse_etl.<module>` (the phone
    # worker, the CLI's light commands) do not pay for it (issue #18).
    if name == "Project":
        from reverse_etl.project import Project

        return Project
    raise AttributeError(f"module 'reverse_etl' has no attribute {name!r}")
