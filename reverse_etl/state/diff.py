"""The diff, set-based: one LEFT JOIN of the encoded rows with the acknowledged state.

A row is sent when its key is new or its payload hash differs from the acknowledged one.
Pure: this module only writes SQL.
"""

from __future__ import annotations

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"


def diff_sql(encoded_relation: str, synced_relation: str | None) -> str:
    """Every encoded row with a ``__change`` column: new, changed or unchanged.

    ``synced_relation`` is None for a full refresh (every row counts as new).
    """
    if synced_relation is None:
        return f"SELECT e.*, '{NEW}' AS __change FROM {encoded_relation} AS e"
    return (
        "SELECT e.*, CASE WHEN s.row_key IS NULL THEN 'new' "
        "WHEN s.payload_hash <> e.__hash THEN 'changed' ELSE 'unchanged' END AS __change "
        f"FROM {encoded_relation} AS e LEFT JOIN {synced_relation} AS s ON s.row_key = e.__key"
    )
