"""What a dbt user writes in a model that retl does not have, and the fix to give for it.

A model carried over from a dbt project may call dbt's Jinja (``is_incremental()``,
``adapter``, ``run_query``, a package's macros), hold a snapshot block, or ``ref()`` a seed or
a snapshot of the dbt project's own folders. Each is an error naming the model's file and
line; these are its words, so that the message says what the name is in dbt and what to
write instead, rather than "check the spelling".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_DOCS = "docs/dbt.md"
_QUERY_FIX = (
    "retl renders a model without the warehouse and runs no query while rendering: write "
    "the SQL the query would have produced, or build the model in dbt and ref() it "
    f"through `dbt:` in retl_project.yml ({_DOCS})"
)
_MACRO_FIX = (
    "retl does not read dbt's macros/ folder or packages: write the SQL inline, define the "
    "macro with {% macro %} in this model file, or build the model in dbt and ref() it "
    f"through `dbt:` in retl_project.yml ({_DOCS})"
)

# dbt's Jinja context names retl has no equivalent for: name -> (what it is, the fix).
_RUNTIME: dict[str, tuple[str, str]] = {
    "is_incremental": (
        "is_incremental() is dbt's (incremental models)",
        "remove the {% if is_incremental() %} block: retl runs each model in full and sends "
        "only the rows that are new or changed since the last sync (its state, docs/state.md)",
    ),
    "adapter": ("adapter is dbt's (the warehouse connection)", _QUERY_FIX),
    "run_query": ("run_query() is dbt's (a query run while rendering)", _QUERY_FIX),
    "statement": ("statement is dbt's (a query run while rendering)", _QUERY_FIX),
    "load_result": ("load_result() is dbt's (a query run while rendering)", _QUERY_FIX),
    "execute": ("execute is dbt's (true when dbt runs queries)", _QUERY_FIX),
    "dbt": ("dbt is dbt's own macro namespace", _MACRO_FIX),
    "builtins": ("builtins is dbt's own macro namespace", _MACRO_FIX),
    "model": ("model is dbt's (the node being rendered)", "use {{ this }}, the model's name"),
    "exceptions": (
        "exceptions is dbt's",
        "retl has no exceptions.raise_compiler_error(): remove the call",
    ),
    "log": ("log() is dbt's", "remove the call: retl does not log from a model"),
    "graph": ("graph is dbt's (the project's nodes)", _QUERY_FIX),
    "invocation_id": ("invocation_id is dbt's", "remove it, or pass a value with var()"),
    "run_started_at": (
        "run_started_at is dbt's",
        "use the SQL's current_timestamp, or pass a value with var()",
    ),
}
# Packages dbt projects commonly install (packages.yml): a name spelt like one is its macros.
_PACKAGES = frozenset(
    {
        "dbt_utils",
        "dbt_date",
        "dbt_expectations",
        "codegen",
        "audit_helper",
        "fivetran_utils",
        "dbt_external_tables",
        "dbt_artifacts",
        "elementary",
        "spark_utils",
    }
)
_UNDEFINED = re.compile(r"^'([A-Za-z_][A-Za-z0-9_]*)' is undefined$")


def undefined_name(message: str) -> tuple[str, str] | None:
    """For Jinja's "'x' is undefined": the message and fix when ``x`` is a dbt name."""
    match = _UNDEFINED.match(message)
    if match is None:
        return None
    name = match.group(1)
    if name in _RUNTIME:
        what, fix = _RUNTIME[name]
        return f"{what}; retl does not have it", fix
    if name in _PACKAGES:
        return f"'{name}' is a dbt package (its macros); retl does not have it", _MACRO_FIX
    return None


class This(str):
    """``{{ this }}``: the model's name. dbt's ``this`` is a relation, whose parts
    (``this.schema``, ``this.identifier``) a dbt model may read: each is an error saying so."""

    __slots__ = ()

    def __getattr__(self, attr: str) -> Any:
        raise ThisAttributeError(
            f"{{{{ this }}}} is the model's name in retl ('{self}'), not dbt's relation: "
            f"it has no '{attr}'",
            "write {{ this }} alone; retl builds no table for a model, so an incremental "
            "filter on {{ this }} is not needed (retl sends only new or changed rows)",
        )


class ThisAttributeError(Exception):
    """``this.<part>`` in a model; carries the message and the fix."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def undefined_fix() -> str:
    """The fix for an undefined name that is none of dbt's known ones."""
    return (
        "use ref(), source(), var(), env_var() or config(); check the spelling. A dbt macro "
        "(macros/ or a package) is not read by retl: write its SQL inline or define it with "
        "{% macro %} in this model file"
    )


def unknown_tag(message: str) -> str | None:
    """The fix for Jinja's "Encountered unknown tag 'x'." when ``x`` is a dbt block."""
    if "unknown tag 'snapshot'" in message:
        return (
            "a {% snapshot %} block is dbt's: retl does not build snapshots. Keep it in the "
            "dbt project's snapshots/ folder, run `dbt snapshot`, and ref() it from retl "
            f"through `dbt:` in retl_project.yml ({_DOCS})"
        )
    for tag in ("materialization", "test", "docs"):
        if f"unknown tag '{tag}'" in message:
            return (
                f"a {{% {tag} %}} block is dbt's and belongs outside models/ in retl "
                "(a model file is one SELECT): move it to the dbt project"
            )
    return None


def dbt_nodes(project_dir: Path) -> dict[str, str]:
    """Seeds and snapshots in dbt's default folders: name -> what ``ref()`` of it should say.

    Only file names are read (a seed's name is its file's stem; a snapshot is taken to be
    named after its file, as dbt projects usually do), never a file's text.
    """
    found: dict[str, str] = {}
    for folder, pattern, kind in (("seeds", "*.csv", "seed"), ("snapshots", "*.sql", "snapshot")):
        base = project_dir / folder
        if not base.is_dir() or base.is_symlink():
            continue
        for path in sorted(base.rglob(pattern)):
            rel = path.relative_to(project_dir)
            if any(part.startswith(".") for part in rel.parts):
                continue
            found.setdefault(path.stem, f"a dbt {kind} ({rel.as_posix()})")
    return found


def ref_fix(target: str, what: str) -> str:
    """The fix for ``ref(target)`` when ``target`` is a dbt seed or snapshot (``what``)."""
    if what.startswith("a dbt seed"):
        path = what[what.index("(") + 1 : -1]
        return (
            f"'{target}' is {what}: retl does not load seeds. Declare it as a source "
            f"(`config: {{external_location: {path}}}`) and use source(), or run `dbt seed` "
            f"and ref() it through `dbt:` in retl_project.yml ({_DOCS})"
        )
    return (
        f"'{target}' is {what}: retl does not build snapshots. Run `dbt snapshot` and ref() "
        f"it through `dbt:` in retl_project.yml ({_DOCS})"
    )
