"""Static validation of models against their destinations (``retl validate``).

``validate_project`` (``run``) is the entry point; ``analysis`` infers each model once in DAG
order; ``checks`` holds the rules, ``types`` the per-parameter type verdicts, ``foreign``
the columns meant for another platform; ``locate`` maps a model's rendered lines to its file;
``result`` holds the values returned and their JSON shape (docs/validate.md). A platform is
known only through the Destination contract (``destinations/base.py``: its ``ColumnRules``),
found through ``destinations/registry.py``.
"""

from reverse_etl.validation.result import (
    JSON_VERSION,
    ColumnRow,
    DestinationValidation,
    Diagnostic,
    TableSource,
    document,
)
from reverse_etl.validation.run import validate_project

__all__ = [
    "JSON_VERSION",
    "ColumnRow",
    "DestinationValidation",
    "Diagnostic",
    "TableSource",
    "document",
    "validate_project",
]
