"""A libpq connection string's password taken out of it (engine/pg_dsn.py), in both of
libpq's forms, the rest kept as libpq reads it."""

from __future__ import annotations

import pytest

from reverse_etl.engine.pg_dsn import split_password


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
        ("PASSWORD=x host=h", "host=h", "x"),
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
    assert split_password(dsn) == (rest, password)
