"""The hints of an engine error about a source (a missing table, a file in another encoding,
a value the declared type cannot hold) say where sources are declared: retl_project.yml or
a models/*.yml (a dbt properties file), not retl_project.yml alone."""

from __future__ import annotations

import pytest

from reverse_etl.models.compile import _hint


@pytest.mark.parametrize(
    "message",
    [
        'relation "shop.orders" does not exist',
        "Invalid Input Error: of file data/x.csv Invalid unicode (byte sequence mismatch) "
        "detected: not utf-8 encoded",
        "data/x.csv:3 holds a value that is not a BIGINT",
    ],
)
def test_a_source_hint_names_both_places_it_may_be_declared(message: str) -> None:
    hint = _hint(message, "events") or ""
    assert "models/*.yml" in hint, hint
