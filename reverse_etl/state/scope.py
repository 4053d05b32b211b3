"""Which slice of the state a destination uses: its event source, as configured.

Known without the network, so ``retl plan`` can diff before anything is resolved: an ``ID``
destination is keyed by the ID, ``NAME``/``NEW`` by advertiser and name. Pointing a
destination at another event source therefore starts from an empty state, as it must.
"""

from __future__ import annotations

from reverse_etl.destinations.tiktok.config import TikTokConfig


def state_scope(settings: TikTokConfig) -> str:
    source = settings.event_data_source
    if settings.target_event_source == "ID":
        return f"{source}:id:{settings.event_source_id}"
    return f"{source}:name:{settings.advertiser_id}:{settings.event_source_name}"
