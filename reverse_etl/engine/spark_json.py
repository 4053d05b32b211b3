"""JSON on Spark as DuckDB means it. Spark has no JSON type: what DuckDB computes as JSON
(``x::json``, ``json(s)``, ``to_json(...)``, ``x -> 'k'``, ``json_extract``) is text there.

- **``x -> path``** (and ``json_extract(x, path)``) is JSON in DuckDB: a string ``"x"``
  with its quotes, a number as its JSON. sqlglot wrote Spark's ``get_json_object``, which
  gives a string without its quotes and a number as text: ``TO_JSON(VARIANT_GET(PARSE_JSON(x),
  path))`` (Spark 4's variant) gives the JSON text of the value, as DuckDB does. A path
  ``VARIANT_GET`` cannot read (a wildcard, an index from the end, a path in a column) is
  refused by name.
- **The output columns DuckDB would type JSON** (``json_output_columns``) come back from
  Spark as text: ``SparkEngine`` marks them ``JSON_TEXT``, and the workbench reads them as
  the lists, structs and values they hold (``json_columns.py``), as it does PostgreSQL's
  json. Sent as text, an object would reach the platform as one JSON *string*.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from reverse_etl.engine.typed import TableTypes, typed_copy
from reverse_etl.errors import EngineError

# DuckDB's (and PostgreSQL's) functions whose value is JSON, which sqlglot parses as
# Anonymous: its typing rules know only a cast to JSON and json().
_JSON_FUNCTIONS = frozenset(
    {
        "to_json",
        "to_jsonb",
        "json_quote",
        "array_to_json",
        "row_to_json",
        "json_merge_patch",
        "json_group_array",
        "json_group_object",
        "json_build_object",
        "json_build_array",
        "jsonb_build_object",
        "jsonb_build_array",
        "json_agg",
        "jsonb_agg",
    }
)
_JSON = exp.DataType.build("json")
_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_as_duckdb(node: exp.Expr) -> exp.Expr:
    """JSON built as DuckDB builds it; a transform (see the module docstring)."""
    if isinstance(node, exp.JSONExtract):
        return json_extract_as_variant(node)
    if isinstance(node, exp.JSONObject):
        return _object_as_struct(node)
    if isinstance(node, exp.JSONArray):
        raise EngineError(
            f"{node.sql('duckdb')}: Spark's lists hold one type, so json_array cannot be "
            "written for Spark as DuckDB means it",
            hint="build a list of one type and write it with to_json([...])",
        )
    literal = exp.Struct | exp.Array | exp.Map | exp.VarMap
    if isinstance(node, exp.Cast) and node.to.is_type("json") and isinstance(node.this, literal):
        return _to_json(_with_variants(node.this))
    if (
        isinstance(node, exp.Anonymous)
        and str(node.this).lower() == "to_json"
        and len(node.expressions) == 1
    ):
        (value,) = node.expressions
        if isinstance(value, exp.JSONExtract):  # to_json of JSON is that JSON
            return json_extract_as_variant(value)
        return _to_json(_with_variants(value))
    return node


def _inner(operand: exp.Expr) -> exp.Expr:
    """A copy of ``operand`` with its own JSON rewritten: a transform does not visit what a
    rewrite returns (``j->'a'->'b'``, ``to_json({'x': j->'a'})``)."""
    return operand.copy().transform(json_as_duckdb)


def _with_variants(value: exp.Expr) -> exp.Expr:
    """A copy of ``value`` (what ``to_json`` writes) whose JSON (``->``) in its struct and
    list literals is a VARIANT, which Spark's ``to_json`` writes as the JSON it holds, as
    DuckDB does (as text it would be a JSON string: ``{"x":"{\\"b\\":3}"}``)."""
    copy = value.copy()
    for node in list(copy.find_all(exp.JSONExtract)):
        ancestors, parent = [], node.parent
        while parent is not None and parent is not copy.parent:
            ancestors.append(parent)
            parent = parent.parent
        literal = exp.Struct | exp.Array | exp.PropertyEQ | exp.Alias | exp.Slice
        if all(isinstance(a, literal) for a in ancestors):
            if node is copy:
                return _variant(node)
            node.replace(_variant(node))
    return copy.transform(json_as_duckdb)


def _to_json(value: exp.Expr) -> exp.Expr:
    """Spark's ``to_json`` keeping a struct's NULL fields, as DuckDB's does (Spark leaves
    them out by default: ``{'a': NULL, 'b': 1}`` gave ``{"b":1}``)."""
    keep_nulls = exp.Anonymous(
        this="MAP",
        expressions=[exp.Literal.string("ignoreNullFields"), exp.Literal.string("false")],
    )
    return exp.Anonymous(this="TO_JSON", expressions=[value, keep_nulls])


def _object_as_struct(node: exp.JSONObject) -> exp.Expr:
    """``json_object('k', v, ...)`` as the JSON of a struct of those fields (Spark has no
    json_object); its keys must be quoted literals (a struct's field names)."""
    fields: list[exp.Expr] = []
    for pair in node.expressions:
        key = pair.this if isinstance(pair, exp.JSONKeyValue) else None
        if not (isinstance(key, exp.Literal) and key.is_string) or pair.expression is None:
            raise EngineError(
                f"{node.sql('duckdb')}: Spark can write json_object only with quoted keys",
                hint="give each key as a quoted literal, e.g. json_object('sku', sku)",
            )
        value = pair.expression
        fields += [
            key.copy(),
            _variant(value) if isinstance(value, exp.JSONExtract) else _inner(value),
        ]
    return _to_json(exp.Anonymous(this="NAMED_STRUCT", expressions=fields))


def json_extract_as_variant(node: exp.Expr) -> exp.Expr:
    """``x -> path`` as the JSON text of the value (see the module docstring); a transform."""
    if not isinstance(node, exp.JSONExtract) or node.this is None:
        return node
    return exp.Anonymous(this="TO_JSON", expressions=[_variant(node)])


def _variant(node: exp.JSONExtract) -> exp.Expr:
    """The VARIANT of ``x -> path``: ``VARIANT_GET`` of ``x``'s (a chain of ``->`` read as
    one variant, JSON text parsed)."""
    if node.args.get("expressions"):
        raise _refused(node, "more than one path")
    path = node.expression
    if isinstance(path, exp.Literal) and path.is_string:  # a path sqlglot cannot read
        raise _refused(node, f"the path {path.sql()}")
    if not isinstance(path, exp.JSONPath):
        raise _refused(node, "a path that is not a quoted literal")
    x = node.this
    if isinstance(x, exp.JSONExtract):
        source = _variant(x)
    else:
        source = exp.Anonymous(this="PARSE_JSON", expressions=[_inner(x)])
    return exp.Anonymous(
        this="VARIANT_GET", expressions=[source, exp.Literal.string(variant_path(path, node))]
    )


def variant_path(path: exp.JSONPath, node: exp.Expr) -> str:
    """A JSON path of keys and indexes from the start, in ``VARIANT_GET``'s syntax."""
    text = ""
    for part in path.expressions:
        if isinstance(part, exp.JSONPathRoot):
            text += "$"
        elif isinstance(part, exp.JSONPathKey) and isinstance(part.this, str):
            key = part.this
            if _SIMPLE_KEY.fullmatch(key):
                text += f".{key}"
            elif '"' in key or "\\" in key:
                raise _refused(node, "a key with a double quote or a backslash")
            else:
                text += f'["{key}"]'
        elif isinstance(part, exp.JSONPathSubscript) and isinstance(part.this, int):
            if part.this < 0:
                raise _refused(node, "an index counted from the end")
            text += f"[{part.this}]"
        else:
            raise _refused(node, f"the path part {part.sql()!r}")
    return text if text.startswith("$") else "$" + text


def _refused(node: exp.Expr, what: str) -> EngineError:
    return EngineError(
        f"{node.sql('duckdb')}: Spark cannot extract JSON by {what} as DuckDB does",
        hint="extract by keys and indexes counted from the start, e.g. x -> '$.items[0].sku'",
    )


def json_output_columns(tree: exp.Expr, dialect: str, table_types: TableTypes) -> frozenset[str]:
    """The output columns of ``tree`` (a query in ``dialect``, DuckDB's or PostgreSQL's)
    whose value is JSON there, lower-cased; none where the query cannot be typed."""
    typed = typed_copy(tree, dialect, table_types, metadata=_json_typing(dialect))
    if not isinstance(typed, exp.Query):
        return frozenset()
    return frozenset(
        s.alias_or_name.lower()
        for s in typed.selects
        if s.type is not None and s.type.is_type(exp.DataType.Type.JSON, exp.DataType.Type.JSONB)
    )


@functools.cache
def _json_typing(dialect: str) -> Mapping[type[exp.Expr], dict[str, Any]]:
    """The dialect's typing rules, with the JSON functions typed JSON."""
    rules: dict[type[exp.Expr], dict[str, Any]] = dict(
        Dialect.get_or_raise(dialect).EXPRESSION_METADATA
    )
    anonymous = rules.get(exp.Anonymous, {}).get("annotator")

    def anonymous_type(annotator: Any, node: exp.Anonymous) -> None:
        if str(node.this).lower() in _JSON_FUNCTIONS:
            annotator._set_type(node, _JSON)
        elif anonymous is not None:
            anonymous(annotator, node)
        else:
            annotator._set_type(node, exp.DataType.Type.UNKNOWN)

    for kind in (exp.JSONExtract, exp.JSONObject, exp.JSONArray, exp.JSONBExtract):
        rules[kind] = {"returns": exp.DataType.Type.JSON}
    rules[exp.Anonymous] = {"annotator": anonymous_type}
    return rules
