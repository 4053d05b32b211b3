"""The ``meta_conversions`` destination's settings.

Names shared with ``tiktok_events`` (``model``, ``primary_key``, ``test_event_code``,
``limited_data_use``, ``thread_count``, ``skip_invalid_record``, ``default_phone_region``,
``on_change``) mean the same thing, so one project can send a model to both. Field docstrings
feed ``docs/meta.md``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reverse_etl.config.env import LazySecret
from reverse_etl.config.phone_region import check_phone_region
from reverse_etl.destinations.meta.vocab import API_HOSTS, DEFAULT_API_BASE_URL, DEFAULT_API_VERSION
from reverse_etl.destinations.shared.api_url import check_api_base_url
from reverse_etl.destinations.shared.blanks import unset_if_blank

ActionSource = Literal[
    "website",
    "app",
    "email",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
]

_API_VERSION = re.compile(r"v\d+\.\d+")


class MetaConfig(BaseModel):
    """Settings of one ``type: meta_conversions`` destination."""

    # Field docstrings: read by config/docstrings.py for the docs and `retl init`, not by
    # pydantic at import (``use_attribute_docstrings`` parses the class's source, #18).
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    type: Literal["meta_conversions"]
    """Destination type. Always ``meta_conversions``."""
    model: str
    """Name of the model (file stem under ``models/``) whose rows become events."""
    pixel_id: str
    """The dataset (pixel) ID from Events Manager: digits only."""
    access_token: LazySecret | None = None
    """Required. Conversions API access token (a system-user token). Always write
    ``{{ env_var('META_ACCESS_TOKEN') }}``. Sent in the ``Authorization`` header, never in a
    URL."""
    action_source: ActionSource = "website"
    """Where the conversions happened: ``website``, ``app``, ``email``, ``phone_call``,
    ``chat``, ``physical_store``, ``system_generated``, ``business_messaging`` or ``other``. A
    model column ``action_source`` overrides it per row."""
    test_event_code: str | None = Field(default=None, min_length=1)
    """Test event code from Events Manager's Test Events tab; remove it for real traffic
    (test events are not used for ads). Blank (``{{ env_var('TEST_CODE', '') }}`` with the
    variable unset) is no code."""
    limited_data_use: bool = False
    """Send every event with Limited Data Use (``data_processing_options: ["LDU"]``, country
    and state 0: Meta geolocates the person)."""
    thread_count: int = Field(default=5, ge=1, le=10)
    """Requests in flight at once, 1 to 10."""
    skip_invalid_record: bool = False
    """``true``: skip invalid rows and list them in the summary. ``false``: stop before
    sending anything when any row is invalid."""
    api_version: str = DEFAULT_API_VERSION
    """Graph API version, ``vNN.N``."""
    api_base_url: str = DEFAULT_API_BASE_URL
    """Graph API base URL. The token goes only to Meta's API, this machine (a sandbox) or a
    proxy whose host ``RETL_ALLOWED_HOSTS`` lists in the environment."""
    primary_key: str | list[str] | None = None
    """Columns identifying a row for incremental syncs (default: the model's
    ``config(primary_key=...)``, else its ``event_id`` column)."""
    default_phone_region: str | None = None
    """Region (ISO 3166 alpha-2, e.g. ``US``) for phone numbers written without a country
    code. Digits alone that are no number of that region (or when it is not set) are read as
    Meta documents a phone: country code first (``12133734253``), but not a number that opens
    with parentheses (``(646) 555-0119`` is national); a number that is neither makes the row
    invalid."""
    on_change: Literal["resend", "skip", "resend_within_dedup_window"] = (
        "resend_within_dedup_window"
    )
    """What a row that changed since Meta acknowledged it does. Meta drops a repeat of an
    ``event_name`` and ``event_id`` for 48 hours after it first received it and counts a later
    one as a new conversion: ``resend_within_dedup_window`` sends the changed row again only
    while its first acknowledgement is under 47.5 hours old (half an hour kept for the
    send), and reports it otherwise;
    ``resend`` always sends it again (after 48 hours Meta counts it twice); ``skip`` only
    reports it."""

    @field_validator("thread_count", mode="before")
    @classmethod
    def _threads_not_bool(cls, v: Any) -> Any:
        # pydantic reads true as 1: a count written as a yes/no is a mistake, not 1 thread.
        if isinstance(v, bool):
            raise ValueError(f"must be a number from 1 to 10, not {str(v).lower()}")
        return v

    @field_validator("test_event_code", mode="before")
    @classmethod
    def _blank_test_code(cls, v: Any) -> Any:
        # {{ env_var('TEST_CODE', '') }} where the variable is unset: no test code (TikTok's
        # "" was sent, and the run was reported as a test run; Meta's was a config error)
        return unset_if_blank(v)

    @field_validator("pixel_id", mode="before")
    @classmethod
    def _pixel_digits(cls, v: Any) -> Any:
        # YAML reads 1234567890 as an int; a pixel ID is a string of digits.
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        if isinstance(v, str) and not re.fullmatch(r"[0-9]+", v.strip()):
            raise ValueError(
                "must be the dataset (pixel) ID from Events Manager: digits only, "
                "e.g. '1234567890123456'"
            )
        return v.strip() if isinstance(v, str) else v

    @field_validator("api_version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        # YAML reads 21.0 as a number, and 21.10 as 21.1: only quoted text is unambiguous.
        if not isinstance(v, str) or not _API_VERSION.fullmatch(v):
            raise ValueError(f"must look like '{DEFAULT_API_VERSION}' (v, major, dot, minor)")
        return v

    @field_validator("default_phone_region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        return v if v is None else check_phone_region(v)

    @field_validator("api_base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_api_base_url(v, API_HOSTS, "Meta")

    def rule_violations(self) -> list[tuple[str, str, str | None]]:
        """Cross-field rules, as (key, message, fix)."""
        if self.access_token is None:
            return [
                (
                    "access_token",
                    "is required",
                    "access_token: \"{{ env_var('META_ACCESS_TOKEN') }}\" (a system-user "
                    "token from Events Manager → Settings → Conversions API)",
                )
            ]
        return []

    def notices(self) -> list[str]:
        """One-line notices shown before a run (not errors)."""
        if self.test_event_code is not None:
            return [
                "test_event_code is set: Meta shows these events in Test Events and does not "
                "use them for ads; remove it for real traffic."
            ]
        return []
