"""What every platform's parameter catalog is made of: the shared vocabulary of the
Destination contract (see ``base.py``).

A platform declares one :class:`Catalog` of :class:`ParamSpec` rows (model column -> payload
path, kind, event sources, normalisation and hashing). That one table drives the mapping of
model columns, static validation, row checks and the generated docs. Pure data: no platform
is named here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class Kind(enum.Enum):
    """Value kinds, as sent in JSON."""

    STRING = "string"
    ID = "id"  # sent as a JSON string, whatever the column type
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIME = "unix seconds"  # TIMESTAMP, TIMESTAMPTZ, DATE or integer seconds
    DATE = "date"  # DATE (or text YYYY-MM-DD), sent as the platform formats it
    ID_LIST = "list of ids"
    CONTENTS = "list of content structs"


class Hashing(enum.Enum):
    """How a value is normalised before it leaves: SHA-256 hex unless already 64 hex chars."""

    NONE = "sent as is"
    EMAIL = "trim, lower-case, SHA-256"
    PHONE = "E.164, SHA-256"
    SHA256 = "trim, SHA-256"
    # Advertising IDs are sent raw or hashed, never hashed by retl (TikTok takes both).
    IDFA = "trim; raw upper-case, SHA-256 lower-case"
    GAID = "trim, lower-case"
    # Meta's customer information parameters (see destinations/meta/encode.py)
    PHONE_DIGITS = "E.164 digits without '+', SHA-256"
    NAME = "trim, lower-case, punctuation removed, SHA-256"
    CITY = "lower-case, spaces and punctuation removed, SHA-256"
    STATE = "two-letter code (US states by name too), lower-case, SHA-256"
    ZIP = "lower-case, spaces and dashes removed (US: first 5 digits), SHA-256"
    COUNTRY = "ISO 3166-1 alpha-2, lower-case, SHA-256"
    GENDER = "f or m, SHA-256"
    DATE_OF_BIRTH = "YYYYMMDD, SHA-256"


@dataclass(frozen=True)
class ParamSpec:
    """One platform parameter and the model column that feeds it."""

    name: str
    path: tuple[str, ...]
    kind: Kind
    sources: frozenset[str]
    doc: str
    hashing: Hashing = Hashing.NONE
    required_for: frozenset[str] = frozenset()
    aliases: tuple[str, ...] = ()
    allowed: frozenset[str] | None = None
    multi: bool = False  # accepts one value or a list (PII)
    # A person's identifier: wherever retl prints a payload (plan samples, ``show --payload``,
    # the sandbox's feed) a value that is not a SHA-256 is masked (``2***``). Every hashed
    # parameter (a value that failed to hash is raw PII), and what is sent in clear but
    # identifies a person, a browser, a device or a click (an IP, a user agent, a click ID).
    masked: bool = False
    # A list sent item by item in its places, each as text (a NULL item as ''), not a set of
    # IDs (Meta's extinfo): a JSON one is the array it holds, and a scalar no list.
    positional: bool = False

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    @property
    def folded(self) -> bool:
        """Sent inside the single item of a ``<object>.contents`` list."""
        return len(self.path) == 3 and self.path[1] == "contents"


@dataclass(frozen=True)
class ContentKey:
    """A key of the structs in a ``contents`` column (the model's spelling)."""

    name: str
    kind: Kind
    doc: str


@dataclass(frozen=True)
class Catalog:
    """Every parameter of one platform, indexed by the column names that feed it."""

    params: tuple[ParamSpec, ...]
    by_column: dict[str, ParamSpec] = field(default_factory=dict)
    # The keys a printed payload masks (``ParamSpec.masked``): each masked parameter's field
    # name in the payload, and its column name (a custom property called ``first_name``).
    masked_keys: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        index: dict[str, ParamSpec] = {}
        for p in self.params:
            for name in (p.name, *p.aliases, p.dotted):
                index[name] = p
        object.__setattr__(self, "by_column", index)
        masked = frozenset(k for p in self.params if p.masked for k in (p.name, p.path[-1]))
        object.__setattr__(self, "masked_keys", masked)

    def lookup(self, column: str) -> ParamSpec | None:
        return self.by_column.get(column)

    def column_names(self) -> list[str]:
        """Every accepted column name (flat names, aliases and dotted paths)."""
        return sorted(self.by_column)

    def required(self, source: str) -> list[ParamSpec]:
        return [p for p in self.params if source in p.required_for]

    def for_source(self, source: str) -> Iterable[ParamSpec]:
        return (p for p in self.params if source in p.sources)


def missing_required(
    required: Iterable[ParamSpec], mapped: Mapping[str, object], source: str
) -> list[ColumnIssue]:
    """An error per parameter of ``required`` that no column of ``mapped`` (parameter name
    -> anything) gives: every row needs it, for ``source``'s events."""
    return [
        ColumnIssue(
            "",
            f"no '{p.name}' column: {source} events need one",
            f"add `... AS {p.name}` to the model's SELECT",
            rule="missing-required",
        )
        for p in required
        if p.name not in mapped
    ]


@dataclass(frozen=True)
class MappedColumn:
    """A column and where it goes. ``param`` is None for custom columns (an open object)."""

    column: str
    path: tuple[str, ...]
    param: ParamSpec | None


@dataclass(frozen=True)
class ColumnIssue:
    """A problem with the model's columns; ``column`` is empty when it is about the model as a
    whole (a column it lacks). ``rule`` names the validate rule when it is not implied."""

    column: str
    message: str
    hint: str | None = None
    severity: str = "error"
    rule: str | None = None

    @property
    def text(self) -> str:
        return f"column {self.column}: {self.message}" if self.column else self.message


@dataclass(frozen=True)
class ColumnMapping:
    """Model columns mapped to payload paths, and what was wrong on the way."""

    columns: tuple[MappedColumn, ...]
    issues: tuple[ColumnIssue, ...]

    def by_param(self) -> dict[str, MappedColumn]:
        return {m.param.name: m for m in self.columns if m.param is not None}

    def has(self, param: str) -> bool:
        return param in self.by_param()
