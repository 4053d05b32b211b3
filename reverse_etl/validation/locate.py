"""Map a line of a model's rendered SQL back to a line of its file.

Each model is inferred from its own rendered SQL (``ref()`` as a plain name), so a line
sqlglot reports is a line of that rendering. Rendered and written lines agree while Jinja
neither adds nor removes lines before the column (``{{ ref() }}``, ``{{ var() }}`` and a
``{{ config() }}`` line keep them; a ``{% for %}`` spreading over several lines, or ``{%- -%}``
trimming newlines, does not). The honest best: the computed line when the column's name is
written on it, else the one line that spells it (``AS name`` first), else no line rather
than a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from reverse_etl.models.compile import Model

_JINJA_ONLY = re.compile(r"(\{[{%#].*?[}%#]\}\s*)+")


class ModelLines:
    """Rendered-SQL lines of one model -> lines of its file."""

    def __init__(self, model: Model) -> None:
        self.path: Path = model.path
        self.lines = _read_lines(model.path)
        self.offset = _offset(model.sql, self.lines)

    def locate(self, line: int | None, name: str | None = None) -> int | None:
        """The file line for rendered ``line``; ``name`` is what should be written there."""
        if line is None:
            return None
        guess = line + self.offset
        if not name or not self.lines:
            return guess if 1 <= guess <= len(self.lines) else None
        word = re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)", re.IGNORECASE)
        if 1 <= guess <= len(self.lines) and word.search(self.lines[guess - 1]):
            return guess
        alias = re.compile(r"\bas\s+\"?" + re.escape(name) + r"\"?(?!\w)", re.IGNORECASE)
        for pattern in (alias, word):
            hits = [i + 1 for i, text in enumerate(self.lines) if pattern.search(text)]
            if len(hits) == 1:
                return hits[0]
        return None


def _read_lines(path: Path) -> tuple[str, ...]:
    try:
        return tuple(path.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def _offset(rendered: str, lines: Sequence[str]) -> int:
    """Lines the rendering dropped before the SQL starts (a leading ``{{ config() }}`` line
    renders empty and is stripped with the whitespace around it)."""
    head = rendered.split("\n", 1)[0].strip()
    for i, text in enumerate(lines):
        if text.strip() == head:
            return i
    skipped = 0
    for text in lines:  # the first line itself holds Jinja: skip blank and Jinja-only lines
        stripped = text.strip()
        if stripped and not _JINJA_ONLY.fullmatch(stripped):
            break
        skipped += 1
    return skipped
