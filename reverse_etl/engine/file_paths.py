"""Paths of retl's own files as DuckDB's file readers must be given them.

``read_parquet`` and the other readers expand ``*``, ``?`` and ``[...]`` anywhere in a path,
so a project in a folder named ``a*b`` would also read the same file of a sibling ``aXb``
(the fold's spool, the delivery log's files, the plan's rows). Each such character is written
as a class of itself (``[*]``), which matches only it. Braces and ``]`` are not expanded.
"""

from __future__ import annotations

import re
from pathlib import Path

GLOB_CHARS = re.compile(r"[*?\[]")


def escape_glob(text: str) -> str:
    """``text`` with each glob character as a class of itself."""
    return GLOB_CHARS.sub(lambda m: f"[{m.group(0)}]", text)


def file_literal(path: Path | str) -> str:
    """A SQL string literal for ``path``, read as that one file."""
    return "'" + escape_glob(str(path)).replace("'", "''") + "'"
