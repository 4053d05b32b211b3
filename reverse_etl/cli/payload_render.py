"""``retl show MODEL --payload KEY``: each destination's request body, as JSON."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from reverse_etl.cli.output import Output
from reverse_etl.pipeline.payload import PayloadBody
from reverse_etl.secrets import scrub


def render_payloads(out: Output, model: str, bodies: Sequence[PayloadBody]) -> int:
    """Print the bodies (pretty JSON in text; one document with ``--format json``); the exit
    code: 1 when the row is invalid for a destination (a sync would not send it)."""
    ok = all(b.body is not None for b in bodies)
    if out.format == "json":
        out.json({"ok": ok, "model": model, "payloads": [b.to_dict() for b in bodies]})
        return 0 if ok else 1
    for b in bodies:
        if b.body is None:
            out.console.warning(
                f"{b.destination} ({b.platform}): the row with key {_quoted(b)} is invalid, so a "
                f"sync would not send it: {b.errors}"
            )
            continue
        out.console.info(
            f"{b.destination} ({b.platform}): the request body a sync would send for the row "
            f"with key {_quoted(b)} (the access token goes in a header, not here)"
        )
        for note in b.pending:
            out.console.info(f"note: {note}")
        if b.warnings:
            out.console.info(f"note: the row has warnings (it is sent): {b.warnings}")
        text = orjson.dumps(b.body, option=orjson.OPT_INDENT_2).decode()
        out.console.info(scrub(text))
    return 0 if ok else 1


def _quoted(b: PayloadBody) -> str:
    return b.key if b.key.startswith("sha256:") else f"'{b.key}'"
