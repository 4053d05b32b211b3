"""The checks Meta applies to each server event (reference §2-§4), as :class:`EventProblem`.

Strict on purpose: the emulator is where retl's encoder meets Meta's rules before a real pixel
does. Unknown fields and JSON nulls are refused, so an encoder typo ("email" for "em") or a
missing value fails here rather than being silently ignored. Each check returns the first
problem of an event, or None.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from .errors import EventProblem
from .options import MetaOptions
from .vocab import (
    ACTION_SOURCES,
    CONTENT_TYPES,
    DATA_PROCESSING_OPTIONS,
    DELIVERY_CATEGORIES,
    HASHED_USER_KEYS,
    NEVER_HASHED_USER_KEYS,
    PLAIN_USER_KEYS,
    SUB_ACTION_SOURCE,
    SUB_APP_DATA,
    SUB_CONTENTS,
    SUB_CURRENCY,
    SUB_CUSTOM_DATA,
    SUB_DATA_PROCESSING,
    SUB_EVENT_NAME,
    SUB_EVENT_SOURCE_URL,
    SUB_EVENT_TIME_FUTURE,
    SUB_EVENT_TIME_OLD,
    SUB_EVENT_TIME_TYPE,
    SUB_HASHED_BY_MISTAKE,
    SUB_INVALID_EVENT,
    SUB_NO_USER_DATA,
    SUB_NOT_HASHED,
    SUB_PURCHASE_VALUE,
    SUB_USER_AGENT,
    SUB_USER_DATA_FIELD,
)

EVENT_FIELDS = frozenset(
    {
        "event_name", "event_time", "event_id", "action_source", "event_source_url",
        "opt_out", "user_data", "custom_data", "data_processing_options",
        "data_processing_options_country", "data_processing_options_state", "referrer_url",
        "app_data", "customer_segmentation", "original_event_data", "attribution_data",
        "messaging_channel",
    }
)  # fmt: skip
_STRING_CUSTOM = ("content_name", "content_category", "order_id", "search_string", "status")
_NUMBER_CUSTOM = ("value", "predicted_ltv")
_is_sha256 = re.compile(r"[0-9a-f]{64}").fullmatch
_looks_hashed = re.compile(r"[0-9A-Fa-f]{64}").fullmatch
_is_currency = re.compile(r"[A-Z]{3}").fullmatch


class _Invalid(Exception):
    """Internal: the first problem found, raised to leave the nested checks at once."""

    def __init__(self, subcode: int, reason: str) -> None:
        super().__init__(reason)
        self.subcode = subcode
        self.reason = reason


class MetaEventValidator:
    """Per-event checks against one request's server time; build one per request."""

    def __init__(self, options: MetaOptions, now: float) -> None:
        self.options = options
        self.now = now

    def first_problem(self, events: list[Any]) -> EventProblem | None:
        """The first invalid event's problem: it decides the answer to the whole request."""
        for i, event in enumerate(events):
            problem = self.check(event, i)
            if problem is not None:
                return problem
        return None

    def problems(self, events: list[Any]) -> dict[int, EventProblem]:
        """Every invalid event's problem, for the record of a rejected request."""
        found = {i: self.check(event, i) for i, event in enumerate(events)}
        return {i: p for i, p in found.items() if p is not None}

    def check(self, event: Any, index: int) -> EventProblem | None:
        """One event's first problem, or None when Meta would accept it."""
        try:
            self._event(event)
        except _Invalid as exc:
            return EventProblem(index, exc.subcode, exc.reason)
        return None

    # -- the rules ----------------------------------------------------------------------------

    def _event(self, ev: Any) -> None:
        if type(ev) is not dict:
            raise _Invalid(SUB_INVALID_EVENT, "the event is not a JSON object")
        _no_nulls(ev, "")
        unknown = sorted(set(ev) - EVENT_FIELDS)
        if unknown:
            raise _Invalid(SUB_INVALID_EVENT, f"unknown field {unknown[0]!r}")
        name = ev.get("event_name")
        if type(name) is not str or not name.strip():
            what = "is required" if name is None else "must be a non-empty string"
            raise _Invalid(SUB_EVENT_NAME, f"event_name {what}")
        source = ev.get("action_source")
        if source is None:
            raise _Invalid(SUB_ACTION_SOURCE, "action_source is required")
        if not _one_of(source, ACTION_SOURCES):
            raise _Invalid(
                SUB_ACTION_SOURCE,
                f"action_source {source!r} is not one of {', '.join(sorted(ACTION_SOURCES))}",
            )
        self._event_time(ev.get("event_time"), source)
        for key in ("event_id", "event_source_url", "referrer_url"):
            _optional_string(ev, key, SUB_INVALID_EVENT)
        if "opt_out" in ev and type(ev["opt_out"]) is not bool:
            raise _Invalid(SUB_INVALID_EVENT, "opt_out must be a boolean")
        if source == "website" and not ev.get("event_source_url"):
            raise _Invalid(
                SUB_EVENT_SOURCE_URL, "event_source_url is required when action_source is website"
            )
        self._user_data(ev.get("user_data"), source)
        self._custom_data(ev.get("custom_data"), name)
        _app_data(ev.get("app_data"), source)
        _data_processing(ev)

    def _event_time(self, t: Any, source: str) -> None:
        if t is None:
            raise _Invalid(SUB_EVENT_TIME_TYPE, "event_time is required")
        if type(t) is not int:
            raise _Invalid(
                SUB_EVENT_TIME_TYPE, "event_time must be an integer Unix timestamp in seconds"
            )
        options = self.options
        age = (
            options.physical_store_max_age_seconds
            if source == "physical_store"
            else options.max_event_age_seconds
        )
        if t < self.now - age:
            raise _Invalid(SUB_EVENT_TIME_OLD, f"event_time is more than {_days(age)} old")
        if t > self.now + options.max_future_seconds:
            raise _Invalid(SUB_EVENT_TIME_FUTURE, "event_time is in the future")

    def _user_data(self, user: Any, source: str) -> None:
        if user is None:
            raise _Invalid(SUB_NO_USER_DATA, "user_data is required")
        if type(user) is not dict:
            raise _Invalid(SUB_NO_USER_DATA, "user_data must be a JSON object")
        strict_external_id = self.options.require_hashed_external_id
        for key, value in user.items():
            if key in HASHED_USER_KEYS:
                _hashed(key, value, strict=key != "external_id" or strict_external_id)
            elif key in NEVER_HASHED_USER_KEYS:
                _unhashed(key, value)
            elif key in PLAIN_USER_KEYS:
                if type(value) is not str and type(value) is not int:
                    raise _Invalid(SUB_USER_DATA_FIELD, f"user_data.{key} must be a string")
            else:
                raise _Invalid(
                    SUB_USER_DATA_FIELD, f"user_data.{key} is not a customer information parameter"
                )
        if not any(_present(v) for v in user.values()):
            raise _Invalid(SUB_NO_USER_DATA, "user_data has no customer information parameter")
        if source == "website" and not user.get("client_user_agent"):
            raise _Invalid(
                SUB_USER_AGENT,
                "user_data.client_user_agent is required when action_source is website",
            )

    def _custom_data(self, custom: Any, event_name: str) -> None:
        if custom is None:
            custom = {}
        elif type(custom) is not dict:
            raise _Invalid(SUB_CUSTOM_DATA, "custom_data must be a JSON object")
        for key in _NUMBER_CUSTOM:
            if key in custom and not _is_number(custom[key]):
                raise _Invalid(SUB_CUSTOM_DATA, f"custom_data.{key} must be a number")
        for key in _STRING_CUSTOM:
            _optional_string(custom, key, SUB_CUSTOM_DATA, "custom_data.")
        currency = custom.get("currency")
        if currency is not None and (type(currency) is not str or not _is_currency(currency)):
            raise _Invalid(
                SUB_CURRENCY,
                f"custom_data.currency {currency!r} is not a 3-letter upper-case ISO 4217 code",
            )
        if "num_items" in custom and type(custom["num_items"]) is not int:
            raise _Invalid(SUB_CUSTOM_DATA, "custom_data.num_items must be an integer")
        if "content_type" in custom and not _one_of(custom["content_type"], CONTENT_TYPES):
            raise _Invalid(
                SUB_CUSTOM_DATA, "custom_data.content_type must be product or product_group"
            )
        ids = custom.get("content_ids")
        if ids is not None and (type(ids) is not list or any(type(i) is not str for i in ids)):
            raise _Invalid(SUB_CUSTOM_DATA, "custom_data.content_ids must be a list of strings")
        if "contents" in custom:
            _contents(custom["contents"])
        if event_name == "Purchase" and ("value" not in custom or "currency" not in custom):
            raise _Invalid(
                SUB_PURCHASE_VALUE,
                "Purchase events need custom_data.value and custom_data.currency",
            )


_APP_FLAGS = ("advertiser_tracking_enabled", "application_tracking_enabled")
_APP_STRINGS = (
    "campaign_ids", "install_referrer", "installer_package", "vendor_id",
    "windows_attribution_id", "app_user_id", "receipt_data",
)  # fmt: skip
APP_DATA_FIELDS = frozenset(
    {*_APP_FLAGS, *_APP_STRINGS, "extinfo", "url_schemes", "consider_views",
     "include_dwell_data", "include_video_data"}
)  # fmt: skip
EXTINFO_LENGTH = 16
EXTINFO_VERSIONS = frozenset({"a2", "i2"})


def _app_data(app: Any, source: str) -> None:
    """App events need app_data: both tracking flags (a boolean, or 0/1 as Meta's page says)
    and extinfo, 16 strings in order, its version a2 or i2 and its OS version (4) given.
    application_tracking_enabled is required too: one of Meta's pages says so, another says
    optional (the strict reading, as retl's encoder)."""
    if app is None:
        if source == "app":
            raise _Invalid(SUB_APP_DATA, "app_data is required when action_source is app")
        return
    if type(app) is not dict:
        raise _Invalid(SUB_APP_DATA, "app_data must be a JSON object")
    unknown = sorted(set(app) - APP_DATA_FIELDS)
    if unknown:
        raise _Invalid(SUB_APP_DATA, f"app_data.{unknown[0]} is not an app data parameter")
    for key in _APP_FLAGS:
        value = app.get(key)
        if value is None:
            if source == "app":
                raise _Invalid(SUB_APP_DATA, f"app_data.{key} is required for app events")
        elif not (type(value) is bool or (type(value) is int and value in (0, 1))):
            raise _Invalid(SUB_APP_DATA, f"app_data.{key} must be a boolean (or 0 or 1)")
    for key in _APP_STRINGS:
        _optional_string(app, key, SUB_APP_DATA, "app_data.")
    info = app.get("extinfo")
    if info is None:
        if source == "app":
            raise _Invalid(SUB_APP_DATA, "app_data.extinfo is required for app events")
        return
    if type(info) is not list or any(type(v) is not str for v in info):
        raise _Invalid(SUB_APP_DATA, "app_data.extinfo must be an array of strings")
    if len(info) != EXTINFO_LENGTH:
        raise _Invalid(
            SUB_APP_DATA,
            f"app_data.extinfo must have {EXTINFO_LENGTH} values in order, not {len(info)}",
        )
    if info[0] not in EXTINFO_VERSIONS:
        raise _Invalid(SUB_APP_DATA, "app_data.extinfo[0] (version) must be a2 or i2")
    if not info[4].strip():
        raise _Invalid(SUB_APP_DATA, "app_data.extinfo[4] (OS version) is required")


def _no_nulls(value: Any, path: str) -> None:
    items = value.items() if type(value) is dict else enumerate(value)
    for key, item in items:
        where = f"{path}[{key}]" if type(key) is int else f"{path}.{key}" if path else str(key)
        if item is None:
            raise _Invalid(SUB_INVALID_EVENT, f"{where} is null; leave the field out instead")
        if type(item) is dict or type(item) is list:
            _no_nulls(item, where)


def _optional_string(obj: dict[str, Any], key: str, subcode: int, prefix: str = "") -> None:
    if key in obj and type(obj[key]) is not str:
        raise _Invalid(subcode, f"{prefix}{key} must be a string")


def _hashed(key: str, value: Any, *, strict: bool) -> None:
    values = value if type(value) is list else [value]
    if not values:
        raise _Invalid(SUB_USER_DATA_FIELD, f"user_data.{key} is an empty list")
    for j, item in enumerate(values):
        where = f"user_data.{key}[{j}]" if type(value) is list else f"user_data.{key}"
        if type(item) is not str or not item:
            raise _Invalid(SUB_USER_DATA_FIELD, f"{where} must be a non-empty string")
        if strict and not (len(item) == 64 and _is_sha256(item)):
            raise _Invalid(
                SUB_NOT_HASHED,
                f"{where} must be a SHA-256 hash (64 lower-case hex characters) "
                "of the normalised value",
            )


def _unhashed(key: str, value: Any) -> None:
    if type(value) is not str or not value:
        raise _Invalid(SUB_USER_DATA_FIELD, f"user_data.{key} must be a non-empty string")
    if len(value) == 64 and _looks_hashed(value):
        raise _Invalid(
            SUB_HASHED_BY_MISTAKE,
            f"user_data.{key} looks like a SHA-256 hash; send it as it is, unhashed",
        )
    if key == "client_ip_address":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise _Invalid(
                SUB_USER_DATA_FIELD,
                "user_data.client_ip_address is not a valid IPv4 or IPv6 address",
            ) from None


def _contents(contents: Any) -> None:
    if type(contents) is not list:
        raise _Invalid(SUB_CONTENTS, "custom_data.contents must be a list of objects")
    for j, item in enumerate(contents):
        where = f"custom_data.contents[{j}]"
        if type(item) is not dict:
            raise _Invalid(SUB_CONTENTS, f"{where} must be an object")
        if type(item.get("id")) is not str or not item["id"]:
            raise _Invalid(SUB_CONTENTS, f"{where}.id must be a non-empty string")
        if "quantity" in item and type(item["quantity"]) is not int:
            raise _Invalid(SUB_CONTENTS, f"{where}.quantity must be an integer")
        if "item_price" in item and not _is_number(item["item_price"]):
            raise _Invalid(SUB_CONTENTS, f"{where}.item_price must be a number")
        category = item.get("delivery_category")
        if category is not None and not _one_of(category, DELIVERY_CATEGORIES):
            raise _Invalid(
                SUB_CONTENTS,
                f"{where}.delivery_category must be one of "
                f"{', '.join(sorted(DELIVERY_CATEGORIES))}",
            )


def _data_processing(ev: dict[str, Any]) -> None:
    options = ev.get("data_processing_options")
    if options is not None and (
        type(options) is not list or not all(_one_of(o, DATA_PROCESSING_OPTIONS) for o in options)
    ):
        raise _Invalid(
            SUB_DATA_PROCESSING, 'data_processing_options must be ["LDU"] or an empty list'
        )
    ldu = options is not None and "LDU" in options
    for key in ("data_processing_options_country", "data_processing_options_state"):
        value = ev.get(key)
        if value is None and ldu:
            raise _Invalid(
                SUB_DATA_PROCESSING, f"{key} is required with LDU (0 lets Meta geolocate)"
            )
        if value is not None and (type(value) is not int or value < 0):
            raise _Invalid(SUB_DATA_PROCESSING, f"{key} must be a non-negative integer")


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _present(value: Any) -> bool:
    return value not in ("", [])


def _one_of(value: Any, choices: frozenset[str]) -> bool:
    # A type check first: a list or object is unhashable and cannot be looked up in a set.
    return type(value) is str and value in choices


def _days(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:g} day" if days == 1 else f"{days:g} days"
