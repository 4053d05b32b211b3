"""retl: declarative reverse ETL. The public API is the Project facade and the error tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reverse_etl.__about__ import __version__

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    # Loaded on first use (issue #18). The facade imports DuckDB, pydantic and sqlglot (~1 s,
    # ~130 MB), so that `retl --version` and every `import reverse_etl.<module>` (the phone
    # worker, the CLI's light commands) do not pay for it; the error tree is cheap but not free
    # (dataclasses, pathlib: ~30 ms), and `retl --version` needs nothing but the version.
    if name == "Project":
        from reverse_etl.project import Project

        return Project
    if name in __all__ and name != "__version__":
        from reverse_etl import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'reverse_etl' has no attribute {name!r}")
