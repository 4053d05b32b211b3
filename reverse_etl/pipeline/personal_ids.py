"""Keys and event ids built from personal data, found by the model's static lineage.

The plan's value test finds an event id holding an e-mail address or a ``+`` phone number
(``pii_text.pii_value_sql``); ``replace(trim(email), '@', '#') || '-' || order_id`` or
``customer_id || '-' || order_id``, with ``customer_id`` sent as a hashed ``external_id``,
pass it. Static inference records the source columns each output column reads
(``OutputColumn.sources``, through CTEs, subqueries and upstream models); a key or event id
that reads a source column which a column mapped to a parameter the destination hashes also
reads (the user data it normalises and hashes: e-mail, phone, external id, names,
addresses, advertising IDs), or a source column named after personal data
(``customer_email``: ``pii_text.pii_name``), is shown hashed as a PII key is. What is sent in
clear (a lead ID, a click ID) is not enough: ``lead_id || '-' || stage`` is the event id
TikTok's CRM events are built from, and stays readable. Where the lineage is unknown (no
inference, a subquery in the expression), the value test alone decides, as before.
Platform-neutral: the destination's own mapping and catalog say which columns are personal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reverse_etl.destinations.base import Destination
from reverse_etl.destinations.catalog import Hashing
from reverse_etl.destinations.shared.pii_text import pii_name

# Each output column's source columns by name (``columns.records.column_sources``).
Sources = Sequence[tuple[str, frozenset[str] | None]]


@dataclass(frozen=True)
class PersonalReads:
    """Whether a key column, and the event id column, read personal data (by lineage)."""

    keys: bool = False
    event_ids: bool = False


def personal_reads(
    dest: Destination, key_columns: Sequence[str], sources: Sources
) -> PersonalReads:
    """What of the keys and the event id reads personal data, by ``sources`` (each output
    column's source columns, ``columns.records.column_sources``; empty: unknown)."""
    if not sources:
        return PersonalReads()
    exact = dict(sources)
    lowered = {name.lower(): read for name, read in sources}

    def read_by(name: str) -> frozenset[str]:
        found = exact[name] if name in exact else lowered.get(name.lower())
        return found or frozenset()

    mapping = dest.rules().map_columns(list(exact))
    personal: set[str] = set()
    for m in mapping.columns:
        if m.param is not None and m.param.hashing is not Hashing.NONE:
            personal |= read_by(m.column)
    # a source column named after personal data, whatever the model calls it
    personal |= {s for _, read in sources for s in read or () if pii_name(s.rsplit(".", 1)[-1])}
    field = dest.capabilities.event_id_field
    ids = [m.column for m in mapping.columns if field is not None and m.path == (field,)]

    def reads(columns: Iterable[str]) -> bool:
        return any(read_by(c) & personal for c in columns)

    return PersonalReads(keys=reads(key_columns), event_ids=reads(ids))
