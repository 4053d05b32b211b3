"""Destination types by their ``type:`` name in destinations.yml."""

from __future__ import annotations

from pydantic import BaseModel

from reverse_etl.destinations.tiktok.config import TikTokConfig

_TYPES: dict[str, type[BaseModel]] = {"tiktok_events": TikTokConfig}


def known_types() -> list[str]:
    return sorted(_TYPES)


def config_model_for(type_name: str) -> type[BaseModel] | None:
    return _TYPES.get(type_name)
