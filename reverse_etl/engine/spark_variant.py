"""Spark 4's VARIANT read as the JSON it holds.

Arrow has no variant: pyspark gives a VARIANT column as a struct of two binary fields (the
value and its metadata, Spark's encoding), and a model column of VARIANT (``parse_json(s)``,
a Databricks table's semi-structured column) was sent as such:
``{"value": "\\x02\\x03...", "metadata": "\\x01..."}`` where DuckDB sends the object its JSON
holds. A model column that is, or holds, a VARIANT is read as its JSON text (``to_json``) and
marked as JSON (``SparkEngine._json_marked``): the workbench reads it as the values it holds,
as it reads a JSON column of PostgreSQL or DuckDB, whatever dialect the model is written in.
"""

from __future__ import annotations

from typing import Any

from reverse_etl.engine.spark_nested import ident

# Spark field metadata on a column read as JSON text here.
VARIANT_JSON_KEY = "__retl_variant_json"


def variants_as_json(df: Any, F: Any) -> Any:
    """``df`` with each column that holds a VARIANT as its JSON text; ``df`` if none does.
    ``F``: pyspark's functions (imported by engine/spark.py, where pyspark's imports stay)."""
    fields = df.schema.fields
    if not any(_holds_variant(f.dataType) for f in fields):
        return df
    keep_nulls = {"ignoreNullFields": "false"}  # as DuckDB's JSON of a struct keeps them
    cols = [
        F.to_json(F.col(ident(f.name)), keep_nulls).alias(f.name, metadata={VARIANT_JSON_KEY: 1})
        if _holds_variant(f.dataType)
        else F.col(ident(f.name))
        for f in fields
    ]
    return df.select(*cols)


def variant_json_columns(df: Any) -> set[str]:
    """The (lower-case) names of ``df``'s columns ``variants_as_json`` made JSON text."""
    return {f.name.lower() for f in df.schema.fields if (f.metadata or {}).get(VARIANT_JSON_KEY)}


def _holds_variant(dtype: Any) -> bool:
    if type(dtype).__name__ == "VariantType":
        return True
    for child in ("elementType", "keyType", "valueType"):
        if (inner := getattr(dtype, child, None)) is not None and _holds_variant(inner):
            return True
    return any(_holds_variant(f.dataType) for f in getattr(dtype, "fields", None) or ())
