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


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u:tr0ub4dor@horse-battery@db.example.com/db",
        "postgresql://u:a@b@h1,h2/db",
        "host=h,pw-tail@db.example.com user=u",
    ],
)
def test_an_unencoded_at_in_a_url_password_is_refused_not_made_a_host(dsn: str) -> None:
    # libpq ends the password at its first '@': the rest became the host, which the
    # RETL_ALLOWED_HOSTS error and the CI warning name.
    with pytest.raises(EngineError) as refused:
        split_password(dsn)
    said = refused.value.message + (refused.value.hint or "")
    assert "horse" not in said and "tail" not in said and "%40" in said


@pytest.mark.parametrize("host", ["@abstract-socket", "/run/post@gres", "db.example.com"])
def test_socket_names_and_plain_hosts_are_not_refused_for_an_at(host: str) -> None:
    assert split_password(f"host={host} user=u password=pw")[1] == "pw"
