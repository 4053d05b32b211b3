"""Destination types by their ``type:`` name in destinations.yml: one line per platform.

Each entry names the settings model that checks a destination's keys and the class that
implements the Destination contract (``base.py``) for it. Platforms are imported on first
use, so a project that sends only to one platform never imports the others' clients.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from reverse_etl.config.destinations import DestinationConfig
    from reverse_etl.destinations.base import Destination
    from reverse_etl.destinations.catalog import Catalog

# type name -> (settings model, destination class, catalog), as "module:attribute"
_TYPES: dict[str, tuple[str, str, str]] = {
    "tiktok_events": (
        "reverse_etl.destinations.tiktok.config:TikTokConfig",
        "reverse_etl.destinations.tiktok.destination:TikTokDestination",
        "reverse_etl.destinations.tiktok.catalog:CATALOG",
    ),
    "meta_conversions": (
        "reverse_etl.destinations.meta.config:MetaConfig",
        "reverse_etl.destinations.meta.destination:MetaDestination",
        "reverse_etl.destinations.meta.catalog:CATALOG",
    ),
}


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def known_types() -> list[str]:
    return sorted(_TYPES)


def config_model_for(type_name: str) -> type[BaseModel] | None:
    entry = _TYPES.get(type_name)
    return None if entry is None else _load(entry[0])


def destination_for(config: DestinationConfig) -> Destination:
    """The Destination for one configured entry of destinations.yml."""
    factory = _load(_TYPES[config.type][1])
    return factory(config)  # type: ignore[no-any-return]


def destination_class(type_name: str) -> Any:
    """The class of a type (its ``capabilities`` and ``type_name``)."""
    return _load(_TYPES[type_name][1])


def catalog_for(type_name: str) -> Catalog:
    return _load(_TYPES[type_name][2])  # type: ignore[no-any-return]


def other_catalogs(type_name: str) -> list[tuple[str, Catalog]]:
    """(platform, catalog) of every registered type but ``type_name``: a column another
    platform knows is a note in ``retl validate``, not an unknown name."""
    return [
        (destination_class(other).capabilities.platform, catalog_for(other))
        for other in known_types()
        if other != type_name
    ]


@cache
def masked_keys() -> frozenset[str]:
    """The payload keys every registered catalog masks where a payload is printed
    (``Catalog.masked_keys``): what masks them (``sandbox.feed.mask_pii``) names no
    platform's field."""
    return frozenset(k for name in known_types() for k in catalog_for(name).masked_keys)
