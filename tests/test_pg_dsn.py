"""A libpq connection string's password taken out of it (engine/pg_dsn.py), in both of
libpq's forms, the rest kept as libpq reads it."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from reverse_etl.engine.pg_dsn import split_password
from reverse_etl.errors import EngineError


@pytest.mark.parametrize(
    ("dsn", "rest", "password"),
    [
        (
            "host=h port=5 dbname=x user=u password=hunter2",
            "host=h port=5 dbname=x user=u",
            "hunter2",
        ),
        ("host=h password = 'a b\\'c\\\\' user=u", "host=h user=u", "a b'c\\"),
        ("host=h user=u", "host=h user=u", None),
        (
            "postgresql://u:p%40ss@h:5/db?sslmode=require",
            "postgresql://u@h:5/db?sslmode=require",
            "p@ss",
        ),
        (
            "postgresql://u@h/db?password=zz&sslmode=require",
            "postgresql://u@h/db?sslmode=require",
            "zz",
        ),
        ("postgres://h/db", "postgres://h/db", None),
    ],
)
def test_the_password_is_taken_out(dsn: str, rest: str, password: str | None) -> None:
    left, taken = split_password(dsn)
    assert taken == password
    assert conninfo_to_dict(left) == conninfo_to_dict(rest)  # the same settings, as libpq reads


def test_a_string_libpq_cannot_read_is_refused_without_quoting_it() -> None:
    with pytest.raises(EngineError) as refused:
        split_password("host=h password='hunter2-secret")
    assert "hunter2" not in refused.value.message + (refused.value.hint or "")
