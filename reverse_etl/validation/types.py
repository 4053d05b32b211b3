"""Type compatibility: does an inferred column type fit its parameter's ``Kind``?

The verdicts follow what a platform's encoder (``destinations/<platform>/encode.py``) does
with each type: what it cannot encode is an error; what it encodes with a loss or a
conversion a person should know about is a warning. The platform is known only through its
:class:`ColumnRules` (catalog, content keys, name).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reverse_etl.columns import SqlType, TypeClass
from reverse_etl.config.suggest import did_you_mean
from reverse_etl.destinations.base import ColumnRules
from reverse_etl.destinations.catalog import Catalog, ContentKey, Hashing, Kind, ParamSpec

C = TypeClass

ACCEPTED: dict[Kind, frozenset[TypeClass]] = {
    Kind.STRING: frozenset({C.STRING}),
    Kind.ID: frozenset({C.STRING, C.INTEGER, C.NUMBER}),
    Kind.INTEGER: frozenset({C.INTEGER}),
    Kind.NUMBER: frozenset({C.INTEGER, C.NUMBER}),
    Kind.BOOLEAN: frozenset({C.BOOLEAN}),
    Kind.TIME: frozenset({C.TIMESTAMP, C.DATE, C.INTEGER}),
    Kind.DATE: frozenset({C.DATE, C.TIMESTAMP, C.STRING}),
}

# Accepted with a warning: (kind, class) -> what happens to the value.
TOLERATED: dict[tuple[Kind, TypeClass], str] = {
    (Kind.INTEGER, C.NUMBER): "a value with a fraction makes its row invalid",
    (Kind.TIME, C.NUMBER): "fractions of a second are dropped",
    # Read by the encoder (shared/sql.unix_seconds), which works around DuckDB 1.5.5's cast
    # of a text naming a zone (a model's own CAST(... AS TIMESTAMPTZ) moves the rows after
    # such a text): better left as text than cast in the model.
    (Kind.TIME, C.STRING): (
        "read as a time: ISO 8601 text, in the zone it names (an offset, Z or a zone's name "
        "such as Europe/London; an abbreviation as ICU reads it: BST is Bangladesh's, IST "
        "India's), else UTC; a text that is not a time makes its row invalid"
    ),
    **{
        (Kind.STRING, cls): "it is sent as text"
        for cls in (C.INTEGER, C.NUMBER, C.BOOLEAN, C.DATE, C.TIMESTAMP, C.TIME)
    },
}

_NOT_CHECKED = frozenset({C.NULL, C.UNKNOWN})
_CASTS = {
    Kind.STRING: "CAST(... AS VARCHAR)",
    Kind.ID: "CAST(... AS VARCHAR)",
    Kind.INTEGER: "CAST(... AS BIGINT)",
    Kind.NUMBER: "CAST(... AS DECIMAL(18, 2))",
    Kind.BOOLEAN: "CAST(... AS BOOLEAN) or a comparison",
    Kind.TIME: "CAST(... AS TIMESTAMP)",
    Kind.DATE: "CAST(... AS DATE)",
}
_EXPECTED = {
    Kind.STRING: "text",
    Kind.ID: "text or a number",
    Kind.INTEGER: "an integer",
    Kind.NUMBER: "a number",
    Kind.BOOLEAN: "a boolean",
    Kind.TIME: "a TIMESTAMP, a DATE or integer Unix seconds",
    Kind.DATE: "a DATE (or text YYYY-MM-DD)",
}


@dataclass(frozen=True)
class TypeVerdict:
    """A failed check: severity, message and fix."""

    severity: str
    message: str
    hint: str | None = None


def check_type(param: ParamSpec, typ: SqlType, rules: ColumnRules) -> list[TypeVerdict]:
    """What is wrong with sending a column of type ``typ`` as ``param`` (empty: nothing)."""
    if typ.cls in _NOT_CHECKED:
        return []
    if param.kind is Kind.CONTENTS:
        return _contents(typ, rules.content_keys, rules.platform)
    if param.kind is Kind.ID_LIST:
        if typ.cls is C.JSON:
            return _json_list(param.name, typ) if param.positional else _json_ids(param.name, typ)
        element = typ.element if typ.cls is C.LIST and typ.element is not None else typ
        return _scalar(f"{param.name} items", Kind.ID, element, identifier=False)
    if param.multi and typ.cls is C.LIST and typ.element is not None:
        return _scalar(f"{param.name} items", param.kind, typ.element, identifier=True)
    # Everything in the object that holds the person's hashed keys (TikTok's "user") identifies
    # a person: the encoder hashes or sends it as text, and hashing needs text (DuckDB's sha256
    # and trim take no numbers).
    identifier = param.path[0] in identity_objects(rules.catalog)
    verdicts = _scalar(param.name, param.kind, typ, identifier=identifier)
    if param.hashing is Hashing.ZIP and typ.cls in (C.INTEGER, C.NUMBER):
        # A ZIP kept as a number has lost its leading zeros (02134 is 2134): a plain CAST
        # sends 2134, which matches nobody. A DOUBLE's or a DECIMAL's text has a fraction
        # ('2134.0'): padded from its whole digits, not cut to '2134.'.
        whole = "CAST(... AS BIGINT)" if typ.cls is C.NUMBER else "..."
        hint = _ZIP_TEXT.format(whole=whole)
        return [TypeVerdict(v.severity, v.message, hint) for v in verdicts]
    return verdicts


def identity_objects(catalog: Catalog) -> frozenset[str]:
    """The payload objects holding a hashed parameter: the ones that describe the person."""
    return frozenset(
        p.path[0] for p in catalog.params if p.hashing is not Hashing.NONE and len(p.path) > 1
    )


def _scalar(what: str, kind: Kind, typ: SqlType, *, identifier: bool) -> list[TypeVerdict]:
    if typ.cls in _NOT_CHECKED or typ.cls in ACCEPTED.get(kind, frozenset()):
        return []
    note = TOLERATED.get((kind, typ.cls))
    if note is not None and not identifier:
        return [TypeVerdict("warning", f"{what} is {typ.text}, not {_EXPECTED[kind]}: {note}")]
    expected = "text" if identifier else _EXPECTED.get(kind, kind.value)
    hint = f"convert it in the model: {_CASTS.get(Kind.STRING if identifier else kind, '')}"
    if typ.cls is C.JSON and (identifier or kind in (Kind.STRING, Kind.ID)):
        hint = _JSON_TEXT  # a CAST to VARCHAR keeps a JSON string's quotes: '"q"'
    return [TypeVerdict("error", f"{what} must be {expected}, not {typ.text}", hint)]


_ZIP_TEXT = (
    "a postal code kept as a number has lost its leading zeros (02134 is 2134): keep it as "
    "text in the warehouse, or pad it in the model, e.g. lpad(CAST({whole} AS VARCHAR), 5, '0') "
    "for US ZIPs"
)

_JSON_TEXT = (
    "read the text it holds in the model: json_extract_string(..., '$') in DuckDB, ->> in "
    "PostgreSQL; CAST(... AS VARCHAR) would keep a JSON string's quotes"
)


def _json_ids(what: str, typ: SqlType) -> list[TypeVerdict]:
    """A list of IDs of JSON (a json or jsonb array): sent as the IDs it holds, which are
    checked only when the rows are read (``destinations/shared/json_ids.py``)."""
    return [
        TypeVerdict(
            "warning",
            f"{what} is {typ.text}: sent as the IDs it holds (an array's items, or one value); "
            f"a row whose value holds an object or an array is invalid ('{what} is not a list "
            "of IDs'), and the items are not checked before the rows are read",
            f"build it as a list to have it checked, e.g. list(sku ORDER BY sku) AS {what}",
        )
    ]


def _json_list(what: str, typ: SqlType) -> list[TypeVerdict]:
    """A positional list of JSON (``ParamSpec.positional``: Meta's extinfo): sent as the
    array it holds, every item in its place; checked only when the rows are read."""
    return [
        TypeVerdict(
            "warning",
            f"{what} is {typ.text}: sent as the array it holds, every item in its place as text "
            "(a null one as ''); a row whose value is no array, or holds an object or an array, "
            "is invalid, and the items are not checked before the rows are read",
            "build it as a list in the model to have it checked before the rows are read",
        )
    ]


_CONTENTS_HINT = (
    "build it as a list of structs, e.g. list({'content_id': sku, 'price': price, 'quantity': qty}"
    " ORDER BY sku)"
)


def _contents(typ: SqlType, keys: Sequence[ContentKey], platform: str) -> list[TypeVerdict]:
    """``contents``: a list of structs whose keys are the platform's content keys. JSON (a
    warehouse's json or jsonb column) is sent as the list it holds: its keys cannot be
    checked before the rows are read."""
    if typ.cls is C.JSON:
        return [
            TypeVerdict(
                "warning",
                f"contents is {typ.text}: sent as the list it holds, whose keys and values "
                "are not checked before the rows are read",
                _CONTENTS_HINT + " to have them checked",
            )
        ]
    if typ.cls is not C.LIST or typ.element is None:
        return [
            TypeVerdict(
                "error", f"contents must be a list of structs, not {typ.text}", _CONTENTS_HINT
            )
        ]
    element = typ.element
    if element.cls in _NOT_CHECKED:
        return []
    if element.cls is not C.STRUCT:
        return [
            TypeVerdict(
                "error", f"contents must be a list of structs, not {typ.text}", _CONTENTS_HINT
            )
        ]
    kinds = {k.name: k.kind for k in keys}
    out: list[TypeVerdict] = []
    for key, key_type in element.fields:
        kind = kinds.get(key)
        if kind is None:
            hint = did_you_mean(key, kinds) or "keys: " + ", ".join(kinds)
            out.append(TypeVerdict("error", f"contents key '{key}' is not a {platform} key", hint))
        elif key_type.cls is C.JSON:
            # A struct's field of JSON: what a PostgreSQL jsonb list of objects gives for a key
            # whose values are of several JSON types (2 and 10.25). Sent as the value it holds,
            # as a JSON contents' keys are; before, an error that stopped the sync.
            out.append(
                TypeVerdict(
                    "warning",
                    f"contents key '{key}' is {key_type.text}: sent as the value it holds, "
                    "checked as the rows are read (a value not of the key's kind is left out)",
                    # a CAST to VARCHAR keeps a JSON string's quotes ('"Shoe"')
                    _JSON_TEXT
                    if kind in (Kind.STRING, Kind.ID)
                    else f"convert it in the model: {_CASTS.get(kind, '')}",
                )
            )
        else:
            out += _scalar(f"contents key '{key}'", kind, key_type, identifier=False)
    return out
