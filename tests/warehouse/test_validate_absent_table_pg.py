"""``retl validate`` against a PostgreSQL warehouse it can reach: a declared source table the
server does not have (a typo in the name, the wrong schema, no SELECT for retl's user) is a
warning located at its declaration, not a silent fall-back to the declared columns that lets
validation pass where every sync then fails ("relation does not exist")."""

from __future__ import annotations

from pathlib import Path

from reverse_etl.engine.postgres import PostgresConnection
from reverse_etl.project import Project
from tests.warehouse.test_warehouse_sync import project, seed


def _warnings(root: Path) -> list[tuple[str, str, int | None, str | None]]:
    with Project.load(root) as p:
        (result,) = p.validate()
    return [
        (d.rule, d.problem.message, d.problem.line, d.problem.key)
        for d in result.diagnostics
        if d.severity == "warning" and d.rule == "source-table"
    ]


def test_a_declared_table_the_warehouse_does_not_have_is_a_located_warning(
    pg_db: PostgresConnection, tmp_path: Path
) -> None:
    seed(pg_db, 3)
    root = project(tmp_path, pg_db, "http://127.0.0.1:9")  # nothing is sent
    assert _warnings(root) == []  # the table is there
    yml = (root / "retl_project.yml").read_text(encoding="utf-8")
    (root / "retl_project.yml").write_text(
        yml.replace("- name: orders", "- name: orderz"), encoding="utf-8"
    )
    for model in (root / "models").glob("*.sql"):
        sql = model.read_text(encoding="utf-8")
        model.write_text(sql.replace("'orders')", "'orderz')"), encoding="utf-8")
    ((_rule, message, line, key),) = _warnings(root)
    assert "source('shop', 'orderz'): the postgres warehouse has no table shop.orderz" in message
    assert key == "sources[0].tables[0].name"
    lines = (root / "retl_project.yml").read_text(encoding="utf-8").splitlines()
    assert line is not None and "- name: orderz" in lines[line - 1]
