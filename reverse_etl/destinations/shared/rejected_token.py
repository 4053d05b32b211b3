"""A token the platform rejected during a sync, said as ``retl check`` says it: at the
destinations.yml key to fix (``destinations.<name>.access_token``), with the platform's
message and its way to a new token. Pure: builds a Problem."""

from __future__ import annotations

from pathlib import Path

from reverse_etl.errors import AuthError, Problem


def rejected_token(
    platform: str, error: AuthError, *, destination: str, file: Path | str | None, line: int | None
) -> Problem:
    """The problem of ``platform`` rejecting the access token of ``destination``."""
    return Problem(
        f"{platform} rejected the access token: {error.message}",
        file=file,
        line=line,
        key=f"destinations.{destination}.access_token",
        hint=error.hint,
    )
