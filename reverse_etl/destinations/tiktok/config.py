"""The ``tiktok_events`` destination's settings: every documented connector parameter.

Names and defaults follow TikTok's Events export connector, so an existing configuration
carries over unchanged. Field docstrings feed ``docs/tiktok.md`` and ``retl init``'s template.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from reverse_etl.config.env import LazySecret
from reverse_etl.config.phone_region import check_phone_region
from reverse_etl.destinations.shared.api_url import check_api_base_url
from reverse_etl.destinations.shared.blanks import unset_if_blank
from reverse_etl.destinations.tiktok.vocab import API_HOSTS, DEFAULT_API_BASE_URL

DataSource = Literal["WEB", "APP", "OFFLINE", "CRM"]
Target = Literal["ID", "NAME", "NEW"]


class TikTokConfig(BaseModel):
    """Settings of one ``type: tiktok_events`` destination."""

    # Field docstrings: read by config/docstrings.py for the docs and `retl init`, not by
    # pydantic at import (``use_attribute_docstrings`` parses the class's source, #18).
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    # Names TikTok's own documents and other tools use for a setting: an unknown key among
    # them gets "did you mean" the setting (config/errors_map.py).
    KEY_ALIASES: ClassVar[dict[str, str]] = {
        "pixel_code": "event_source_id",
        "pixel_id": "event_source_id",
        "event_set_id": "event_source_id",
        "tiktok_app_id": "event_source_id",
        "token": "access_token",
        "advertiser": "advertiser_id",
    }

    type: Literal["tiktok_events"]
    """Destination type. Always ``tiktok_events``."""
    model: str
    """Name of the model (file stem under ``models/``) whose rows become events."""
    auth_method: Literal["oauth", "access_token"] = "oauth"
    """``access_token``: use the token given in ``access_token``. ``oauth``: use
    ``access_token`` if set, else the token stored by ``retl auth tiktok``."""
    access_token: LazySecret | None = None
    """Events API access token. Always write ``{{ env_var('TIKTOK_ACCESS_TOKEN') }}``."""
    event_data_source: DataSource = "WEB"
    """Kind of event source: ``WEB`` (pixel), ``APP``, ``OFFLINE`` (event set) or ``CRM``."""
    target_event_source: Target = Field(
        default="ID",
        validation_alias=AliasChoices("target_event_source", "target_event_source_method"),
    )
    """How the event source is found: ``ID`` (given), ``NAME`` (looked up) or ``NEW``
    (created when no source of that name exists). Alias: ``target_event_source_method``."""
    event_source_name: str | None = None
    """Event source name, for ``NAME`` and ``NEW``."""
    advertiser_id: str | None = None
    """Advertiser (ad account) ID, for ``NAME`` and ``NEW``."""
    event_source_id: str | None = None
    """For ``ID``: pixel code (WEB), TikTok App ID (APP), offline event set ID (OFFLINE) or
    CRM event set ID (CRM)."""
    test_event_code: str | None = None
    """Test event code from Events Manager's Test Events tab; remove it for real traffic.
    Blank (``{{ env_var('TEST_CODE', '') }}`` with the variable unset) is no code."""
    partner_name: str | None = Field(default=None, min_length=1, max_length=100)
    """Partner name sent with every request, only if set. Leave it unset unless TikTok
    registered a partner name for you: an unknown one is refused (code 40063)."""
    thread_count: int = Field(default=5, ge=1, le=10)
    """Requests in flight at once, 1 to 10."""
    limited_data_use: bool = False
    """Ask TikTok to limit processing of every event (WEB and APP only)."""
    skip_invalid_record: bool = False
    """``true``: skip invalid rows and list them in the summary. ``false``: stop before
    sending anything when any row is invalid."""
    min_match_coverage: float | None = Field(default=None, ge=0, le=1)
    """Share (0 to 1) of the rows to send that must carry a strong match key (see Match
    keys); below it the run stops before anything is sent. Unset: reported, never enforced."""
    api_base_url: str = DEFAULT_API_BASE_URL
    """Business API base URL. The token goes only to TikTok's API, this machine (a sandbox) or
    a proxy whose host ``RETL_ALLOWED_HOSTS`` lists in the environment."""
    primary_key: str | list[str] | None = None
    """Columns identifying a row for incremental syncs (default: the model's
    ``config(primary_key=...)``, else its ``event_id`` column)."""
    default_phone_region: str | None = None
    """Region (ISO 3166 alpha-2, e.g. ``US``) for phone numbers written without a country
    code. Without it such numbers make the row invalid."""
    oauth_app_id: str | None = None
    """With ``auth_method: oauth``: which stored ``retl auth tiktok`` app's token to use."""
    on_change: Literal["resend", "skip", "resend_within_dedup_window"] = (
        "resend_within_dedup_window"
    )
    """What a row that changed since TikTok acknowledged it does. TikTok drops a repeat of an
    ``event_id`` for 48 hours after it first received it and counts a later one as a new
    conversion: ``resend_within_dedup_window`` sends the changed row again only while its
    first acknowledgement is under 47.5 hours old (half an hour kept for the send), and
    reports it otherwise; ``resend`` always
    sends it again (after 48 hours TikTok counts it twice); ``skip`` only reports it."""

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

    @field_validator("advertiser_id", "event_source_id", mode="before")
    @classmethod
    def _ids_are_strings(cls, v: Any) -> Any:
        # YAML reads 7000000000000000001 as an int; TikTok IDs are strings.
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        return v

    @field_validator("default_phone_region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        return v if v is None else check_phone_region(v)

    @field_validator("api_base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_api_base_url(v, API_HOSTS, "TikTok")

    def rule_violations(self) -> list[tuple[str, str, str | None]]:
        """Cross-field rules, as (key, message, fix)."""
        out: list[tuple[str, str, str | None]] = []
        target = self.target_event_source
        if target == "ID" and not self.event_source_id:
            out.append(
                (
                    "event_source_id",
                    "is required with target_event_source: ID",
                    f"set it to the {_ID_NAMES[self.event_data_source]}",
                )
            )
        if target in ("NAME", "NEW"):
            if self.auth_method != "oauth":
                out.append(
                    (
                        "auth_method",
                        f"must be 'oauth' with target_event_source: {target}",
                        "looking up or creating event sources needs an OAuth token",
                    )
                )
            if not self.advertiser_id:
                out.append(
                    (
                        "advertiser_id",
                        f"is required with target_event_source: {target}",
                        "the ad account ID owning the event source",
                    )
                )
            if not self.event_source_name:
                out.append(
                    ("event_source_name", f"is required with target_event_source: {target}", None)
                )
        if target == "NEW" and self.event_data_source in ("APP", "CRM"):
            out.append(
                (
                    "target_event_source",
                    f"NEW is possible only for WEB and OFFLINE, not {self.event_data_source}",
                    "retl creates WEB and OFFLINE sources only, as TikTok's connector does (an "
                    "app is registered with its store listing; CRM sets have no create API): "
                    "use ID or NAME",
                )
            )
        if self.limited_data_use and self.event_data_source in ("OFFLINE", "CRM"):
            out.append(
                (
                    "limited_data_use",
                    "applies only to WEB and APP sources",
                    "remove it for OFFLINE and CRM",
                )
            )
        if self.auth_method == "access_token" and self.access_token is None:
            out.append(
                (
                    "access_token",
                    "is required with auth_method: access_token",
                    "access_token: \"{{ env_var('TIKTOK_ACCESS_TOKEN') }}\"",
                )
            )
        if (
            self.event_source_name is not None
            and self.target_event_source == "NEW"
            and (len(self.event_source_name) > 40 or not self.event_source_name.strip())
        ):
            out.append(("event_source_name", "must be 1 to 40 characters for NEW", None))
        return out

    def notices(self) -> list[str]:
        """One-line notices shown before a run (not errors)."""
        out = []
        if self.test_event_code is not None:
            # TikTok says to remove the code before real traffic; whether it leaves test events
            # out of reporting and optimisation it does not say (reference §7): not claimed.
            out.append(
                "test_event_code is set: these events go to the Test Events tab of Events "
                "Manager, to check the setup; remove it before sending real traffic."
            )
        if self.event_data_source in ("APP", "CRM"):
            out.append(
                f"{self.event_data_source} event sources are less proven than WEB and OFFLINE "
                "(TikTok allow-lists APP; CRM names are free-form): check the Test Events tab."
            )
        return out


_ID_NAMES = {
    "WEB": "pixel code",
    "APP": "TikTok App ID",
    "OFFLINE": "offline event set ID",
    "CRM": "CRM event set ID",
}
