"""Static validation of models against their destinations (``retl validate``).

``validate_project`` (``run``) is the entry point; ``analysis`` infers each model once in DAG
order; ``checks`` holds the rules, ``types`` and ``values`` the per-parameter verdicts;
``locate`` maps a model's rendered lines to its file; ``result`` holds the values returned
and their JSON shape (docs/validate.md).
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
