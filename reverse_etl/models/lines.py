"""Map a line of a model's rendered SQL back to a line of its file.

``retl validate`` infers each model from its own rendered SQL (``ref()`` as a plain name), so
a line sqlglot reports is a line of that rendering; an engine error's line is one of the
compiled SQL, which ``CompiledModel.origin`` turns into a model and a line of its rendering.
Rendered and written lines agree while Jinja neither adds nor removes lines before the column
(``{{ ref() }}``, ``{{ var() }}`` and a ``{{ config() }}`` line keep them; a ``{% for %}``
spreading over several lines, or ``{%- -%}`` trimming newlines, does not). The honest best:
the computed line when the column's name is written on it, else the one line that spells it
(``AS name`` first), else no line rather than a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from reverse_etl import project_files

if TYPE_CHECKING:  # compile.py imports this module
    from reverse_etl.models.compile import Model


class Located(Protocol):
    """Where a problem is in a model's rendered SQL (an ``InferenceIssue``)."""

    @property
    def line(self) -> int | None: ...

    @property
    def column(self) -> int | None: ...

    @property
    def subject(self) -> str | None: ...


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

    def column(self, line: int | None, issue: Located, rendered: str) -> int | None:
        """The file column of ``issue`` (a column of rendered ``issue.line``), put on file line
        ``line``: the same when Jinja left the line as written, else where the line spells
        ``issue.subject``, once (None: it cannot be told)."""
        if line is None or issue.column is None or not 1 <= line <= len(self.lines):
            return None
        written = self.lines[line - 1]
        rendered_lines = rendered.split("\n")
        at = issue.line if issue.line is not None and 1 <= issue.line <= len(rendered_lines) else 0
        if at and rendered_lines[at - 1] == written:
            return issue.column
        if issue.subject:
            hits = [m.start() + 1 for m in re.finditer(re.escape(issue.subject), written)]
            if len(hits) == 1:
                return hits[0]
        return None

    def spelled(self, name: str) -> int | None:
        """The one line of the file that spells ``name`` (None: none, or several)."""
        word = re.compile(r"(?<![\w.])" + re.escape(name) + r"(?!\w)", re.IGNORECASE)
        hits = [i + 1 for i, text in enumerate(self.lines) if word.search(text)]
        return hits[0] if len(hits) == 1 else None


def _read_lines(path: Path) -> tuple[str, ...]:
    try:
        return tuple(project_files.read_text(path, "utf-8-sig").splitlines())  # as compile
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
