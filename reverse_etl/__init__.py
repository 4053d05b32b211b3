"""retl: declarative reverse ETL. The public API is the Project facade and the error tree."""

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
