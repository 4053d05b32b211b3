"""PostgreSQL's functions a model may not call: they read the server's files, run SQL given
as text, connect elsewhere, or change the session or the database. Checked by
``PostgresEngine`` on the text it sends, and by ``retl validate`` offline
(``engine/refused_calls.py``): sqlglot only, no connection.
"""

from __future__ import annotations

from sqlglot import exp

import reverse_etl.sqlglot_fixes  # noqa: F401  (sqlglot reads DuckDB SQL as DuckDB does)
from reverse_etl.engine.refused_calls import RefusedCall, called_name, line_of, refuser

# PostgreSQL's functions a model may not call, and why (one list; ``refused_call``). A
# model runs with the role's privileges, on the connection the state is then written by:
# these read the server's files, run SQL given as text (which no check of the model sees),
# connect elsewhere, change the session or the database, or stall the session.
_REFUSED_CALLS = {
    **dict.fromkeys(
        (
            "pg_read_file",
            "pg_read_binary_file",
            "pg_ls_dir",
            "pg_stat_file",
            "pg_ls_logdir",
            "pg_ls_waldir",
            "pg_ls_tmpdir",
            "pg_ls_archive_statusdir",
            "pg_ls_logicalsnapdir",
            "pg_ls_logicalmapdir",
            "pg_ls_replslotdir",
            "pg_current_logfile",
            "lo_import",
            "lo_export",
            "pg_file_write",
            "pg_file_rename",
            "pg_file_unlink",
            "pg_file_sync",
            # xml2's: a stylesheet's document('file:///...') reads the server's files
            "xslt_process",
        ),
        "it reads or writes the database server's files",
    ),
    **dict.fromkeys(
        (
            "query_to_xml",
            "query_to_xmlschema",
            "query_to_xml_and_xmlschema",
            "cursor_to_xml",
            "cursor_to_xmlschema",
            # text search's: ts_stat('select ...') and ts_rewrite(q, 'select ...') run it
            "ts_stat",
            "ts_rewrite",
            # the tablefunc extension's: crosstab('select ..., pg_read_file(...)') runs it;
            # connectby() and xml2's xpath_table() build a query from their text arguments
            "crosstab",
            "crosstab2",
            "crosstab3",
            "crosstab4",
            "connectby",
            "xpath_table",
            # the pg_background extension's: its text runs in a worker of its own, outside
            # the read-only transaction the model runs in
            "pg_background_launch",
        ),
        "it runs SQL given as text, which no check of the model sees",
    ),
    **dict.fromkeys(
        ("set_config", "pg_reload_conf", "pg_terminate_backend", "pg_cancel_backend"),
        "it changes the settings of the session retl writes the state with, or of the server",
    ),
    **dict.fromkeys(
        ("pg_sleep", "pg_sleep_for", "pg_sleep_until"),
        "it stalls the warehouse's session, which holds the run",
    ),
    **dict.fromkeys(
        ("setval", "nextval", "pg_notify", "lo_create", "lo_unlink", "lo_from_bytea", "lo_put"),
        "it changes the database",
    ),
}

# pg_advisory_lock, pg_advisory_xact_lock(_shared), pg_try_advisory_*, pg_advisory_unlock(_all):
# a model holding retl's own advisory lock key would block the state's lock of later syncs.
_ADVISORY_LOCKS = ("pg_advisory_", "pg_try_advisory_")


def refused_call(tree: exp.Expr) -> RefusedCall | None:
    """The first call in ``tree`` of one of ``_REFUSED_CALLS``, or of a function of the
    dblink extension (``dblink*``: a connection to any server, not read-only), or of an
    advisory lock's (``pg_advisory_*``, ``pg_try_advisory_*``); or a name
    spelt with Unicode escapes (``_escaped_name``)."""
    escaped = _escaped_name(tree)
    if escaped is not None:
        return escaped
    for node in tree.find_all(exp.Func):
        called = called_name(node)
        why = _REFUSED_CALLS.get(called)
        if why is None and called.startswith("dblink"):
            why = "it connects to another server, outside the read-only transaction"
        if why is None and called.startswith(_ADVISORY_LOCKS):
            why = (
                "it takes or releases an advisory lock, which could block the lock retl's "
                "state takes for later syncs"
            )
        if why is not None:
            # the fix in the message: a model's error keeps the message, not the hint
            return RefusedCall(
                f"a model may not call {called}(): {why} (remove the call)", called, line_of(node)
            )
    return None


def _escaped_name(tree: exp.Expr) -> RefusedCall | None:
    """PostgreSQL reads ``U&"pg_read_fil\\0065"`` as the name pg_read_file, which no check
    of the names a model calls sees: sqlglot reads it as ``U & "pg_read_fil\\0065"``, a
    column u and'ed with a quoted name, and a model in PostgreSQL's dialect is sent as written.
    Refused wherever it is written so (a bitwise and of a column ``u`` with a quoted name is
    refused too: write it with spaces and the column quoted)."""
    for node in tree.find_all(exp.BitwiseAnd):
        left, right = node.this, node.expression
        if (
            isinstance(left, exp.Column)
            and left.name.lower() == "u"
            and not left.this.quoted
            and right.sql(dialect="postgres").startswith('"')
        ):
            return RefusedCall(
                'a model may not spell a name with Unicode escapes (U&"..."): no check of '
                "the functions a model calls reads it (write the name itself)",
                "u&",
                line_of(left.this),
            )
    return None


refuse_calls = refuser(refused_call)  # raises the refusal of the text the engine sends
