"""Databases attached to the embedded DuckDB: a SQLite file and a PostgreSQL server, joined
with a local file in one model, with the extensions installed from the package index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.project import Project

from .conftest import PgServer


def test_models_join_sqlite_postgres_and_a_csv(pg_db: PostgresConnection, tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "crm.sqlite")
    con.execute("CREATE TABLE leads (lead_id TEXT, stage TEXT)")
    con.executemany("INSERT INTO leads VALUES (?, ?)", [("L1", "Qualified"), ("L2", "Won")])
    con.commit()
    con.close()
    with psycopg.connect(
        host=pg_db.host, port=pg_db.port, dbname=pg_db.dbname, user=pg_db.user, autocommit=True
    ) as pg:
        pg.execute("CREATE TABLE emails (lead_id text, email text)")
        pg.execute("INSERT INTO emails VALUES ('L1', 'a@example.com'), ('L2', 'b@example.com')")
    (tmp_path / "times.csv").write_text("lead_id,at\nL1,1795000000\nL2,1795000100\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "retl_project.yml").write_text(
        f"""
warehouse:
  type: duckdb
  attach:
    - {{name: crm, type: sqlite, path: crm.sqlite}}
    - name: pg
      type: postgres
      dsn: "host={pg_db.host} port={pg_db.port} dbname={pg_db.dbname} user={pg_db.user}"
""",
        encoding="utf-8",
    )
    (tmp_path / "models" / "leads.sql").write_text(
        "select l.stage as event, l.lead_id || '-' || l.stage as event_id, t.at as event_time, "
        "e.email, l.lead_id from crm.leads l join pg.public.emails e using (lead_id) "
        # relative to the project directory, not to where retl runs
        "join read_csv('times.csv') t using (lead_id) order by lead_id",
        encoding="utf-8",
    )
    with Project.load(tmp_path) as project:
        preview = project.preview("leads")
    assert preview.rows == [
        ["Qualified", "L1-Qualified", 1795000000, "a@example.com", "L1"],
        ["Won", "L2-Won", 1795000100, "b@example.com", "L2"],
    ]


def test_a_bad_postgres_dsn_never_echoes_the_password(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.sql").write_text("select 1 as a")
    (tmp_path / "retl_project.yml").write_text(
        "warehouse:\n  attach:\n    - name: pg\n      type: postgres\n"
        "      dsn: host=127.0.0.1 port=1 dbname=x user=u password=hunter2-secret\n"
    )
    with Project.load(tmp_path) as project:
        try:
            project.preview("m")
        except Exception as exc:
            text = str(exc)
        else:
            raise AssertionError("attaching an unreachable server must fail")
    assert "cannot attach postgres database 'pg'" in text
    assert "hunter2-secret" not in text


def test_an_attachment_s_password_is_not_in_what_models_can_read(
    pg_server: PgServer, pg_db: PostgresConnection, tmp_path: Path, monkeypatch
) -> None:
    """DuckDB shows an attachment's text to any SQL (``duckdb_databases()``): the password
    goes into a DuckDB secret of the attachment (redacted there), not into that text. The
    documented form, the password from the environment inside the DSN, is a secret setting."""
    password = "Pg-Sup3rSecretPw!"
    pg_server.create_password_role("attacher", password)
    with psycopg.connect(
        host=pg_db.host, port=pg_db.port, dbname=pg_db.dbname, user=pg_db.user, autocommit=True
    ) as pg:
        pg.execute("CREATE TABLE emails (lead_id text, email text)")
        pg.execute("INSERT INTO emails VALUES ('L1', 'a@example.com')")
        pg.execute("GRANT SELECT ON emails TO attacher")
    monkeypatch.setenv("PGPASSWORD_ATTACH", password)
    (tmp_path / "models").mkdir()
    (tmp_path / "retl_project.yml").write_text(
        f"""
warehouse:
  type: duckdb
  attach:
    - name: pg
      type: postgres
      dsn: "host=127.0.0.1 port={pg_db.port} dbname={pg_db.dbname} user=attacher
        password={{{{ env_var('PGPASSWORD_ATTACH') }}}}"
""",
        encoding="utf-8",
    )
    (tmp_path / "models" / "leads.sql").write_text(
        "select e.email, d.path, s.secret_string from pg.public.emails e, duckdb_databases() d,"
        " duckdb_secrets() s where d.database_name = 'pg'",
        encoding="utf-8",
    )
    with Project.load(tmp_path) as project:
        preview = project.preview("leads")
    (row,) = preview.rows
    assert row[0] == "a@example.com"  # the password worked: the role needs it over TCP
    assert "user=attacher" in row[1]
    assert password not in repr(preview.rows)
    assert "password=redacted" in row[2]
