"""The Meta Conversions API parameter catalog: the single table that drives mapping, row
checks, static validation and the docs' column table.

Shared concepts keep the column names the TikTok catalog uses (``event``, ``email``,
``phone``, ``ip``, ``user_agent``, ``page_url``, ``value`` …), so one model can feed both
platforms; only the payload paths differ. A parameter's ``sources`` are Meta's action
sources: every parameter applies to all of them, and ``required_for`` says which need it
(``event_source_url`` and ``client_user_agent`` for ``website``; app_data's
``advertiser_tracking_enabled``, ``application_tracking_enabled`` and ``extinfo`` for ``app``).
"""

from __future__ import annotations

from reverse_etl.destinations.catalog import (
    Catalog,
    ContentKey,
    Hashing,
    Kind,
    ParamSpec,
)
from reverse_etl.destinations.meta.vocab import (
    ACTION_SOURCES,
    CONTENT_TYPES,
    DELIVERY_CATEGORIES,
)

ALL = frozenset(ACTION_SOURCES)
WEBSITE = frozenset({"website"})
APP = frozenset({"app"})
# extinfo: Meta's array of 16 device values, by position; the version (0) and the OS
# version (4) are required, the version is a2 (Android) or i2 (iOS).
EXTINFO_LENGTH = 16
EXTINFO_VERSIONS = ("a2", "i2")
EXTINFO_POSITIONS = (
    "version (a2 or i2)",
    "app package name",
    "short version",
    "long version",
    "OS version",
    "device model name",
    "locale",
    "timezone abbreviation",
    "carrier",
    "screen width",
    "screen height",
    "screen density",
    "CPU cores",
    "external storage size (GB)",
    "free space (GB)",
    "device timezone",
)


# Sent unhashed, "as is" (the reference), but trimmed: whitespace around an address or a cookie
# value is never part of it (a browser strips it from a cookie's value, RFC 6265 §5.2, and a
# cookie-octet is no whitespace, §4.1.1): it comes from the carrier (a CSV's padding, a CHAR(n)
# column), and ' fb.1.1700000000.AbC ' matches no click. user_agent is sent as it is.
TRIMMED = frozenset({"ip", "fbc", "fbp"})


def _p(name: str, path: str, kind: Kind, doc: str, **kw: object) -> ParamSpec:
    return ParamSpec(name, tuple(path.split(".")), kind, ALL, doc, **kw)  # type: ignore[arg-type]


PARAMS: tuple[ParamSpec, ...] = (
    # server event
    _p(
        "event",
        "event_name",
        Kind.STRING,
        "Event name: a standard event or a custom name.",
        required_for=ALL,
    ),
    _p(
        "event_time",
        "event_time",
        Kind.TIME,
        "When it happened. TIMESTAMP (read as UTC), TIMESTAMPTZ, DATE or Unix seconds; at most "
        "7 days old (62 for physical_store).",
        required_for=ALL,
    ),
    _p(
        "event_id",
        "event_id",
        Kind.ID,
        "Deduplication ID (48 h, with event_name). Derived from the primary key when absent.",
    ),
    _p(
        "action_source",
        "action_source",
        Kind.STRING,
        "Where it happened, for this row (overrides the destination's action_source).",
        allowed=ALL,
    ),
    _p(
        "page_url",
        "event_source_url",
        Kind.STRING,
        "URL of the page where it happened.",
        required_for=WEBSITE,
        aliases=("event_source_url",),
    ),
    _p("referrer_url", "referrer_url", Kind.STRING, "Referrer URL.", aliases=("referrer",)),
    _p("opt_out", "opt_out", Kind.BOOLEAN, "true: do not use this event for ads delivery."),
    # user_data: customer information
    _p(
        "email",
        "user_data.em",
        Kind.STRING,
        "E-mail address(es).",
        hashing=Hashing.EMAIL,
        masked=True,
        multi=True,
    ),
    _p(
        "phone",
        "user_data.ph",
        Kind.STRING,
        "Phone number(s), with or without +country code.",
        hashing=Hashing.PHONE_DIGITS,
        masked=True,
        multi=True,
    ),
    _p("first_name", "user_data.fn", Kind.STRING, "First name.", hashing=Hashing.NAME, masked=True),
    _p("last_name", "user_data.ln", Kind.STRING, "Last name.", hashing=Hashing.NAME, masked=True),
    _p(
        "gender",
        "user_data.ge",
        Kind.STRING,
        "f, m, female or male (any case).",
        hashing=Hashing.GENDER,
        masked=True,
    ),
    _p(
        "date_of_birth",
        "user_data.db",
        Kind.DATE,
        "Date of birth: a DATE or TIMESTAMP, or text YYYY-MM-DD (a time after it is ignored) "
        "or YYYYMMDD.",
        hashing=Hashing.DATE_OF_BIRTH,
        masked=True,
    ),
    _p("city", "user_data.ct", Kind.STRING, "City.", hashing=Hashing.CITY, masked=True),
    _p(
        "state",
        "user_data.st",
        Kind.STRING,
        "State or region: a US state's two-letter code or name (a name is read as a US "
        "state's unless the row's country is another), else the region's name.",
        hashing=Hashing.STATE,
        masked=True,
    ),
    _p("zip_code", "user_data.zp", Kind.STRING, "Postal code.", hashing=Hashing.ZIP, masked=True),
    _p(
        "country",
        "user_data.country",
        Kind.STRING,
        "ISO 3166-1 alpha-2 country code.",
        hashing=Hashing.COUNTRY,
        masked=True,
    ),
    _p(
        "external_id",
        "user_data.external_id",
        Kind.STRING,
        "Your own user ID(s), hashed as the TikTok destination hashes them.",
        hashing=Hashing.SHA256,
        masked=True,
        multi=True,
    ),
    _p(
        "ip",
        "user_data.client_ip_address",
        Kind.STRING,
        "IPv4 or IPv6 address. Never hashed; whitespace around it is removed.",
        masked=True,
    ),
    _p(
        "user_agent",
        "user_data.client_user_agent",
        Kind.STRING,
        "Browser user agent. Never hashed.",
        required_for=WEBSITE,
        masked=True,
    ),
    _p(
        "fbc",
        "user_data.fbc",
        Kind.STRING,
        "Click ID: the _fbc cookie, fb.1.<time>.<fbclid>. Never hashed; whitespace around it "
        "is removed (a cookie's value has none).",
        masked=True,
    ),
    _p(
        "fbp",
        "user_data.fbp",
        Kind.STRING,
        "Browser ID: the _fbp cookie. Never hashed; whitespace around it is removed (a "
        "cookie's value has none).",
        masked=True,
    ),
    _p(
        "lead_id",
        "user_data.lead_id",
        Kind.ID,
        "Meta lead ID (Lead Ads). Never hashed.",
        masked=True,
    ),
    _p(
        "subscription_id",
        "user_data.subscription_id",
        Kind.ID,
        "Subscription ID of the transaction. Never hashed.",
        masked=True,
    ),
    _p(
        "fb_login_id",
        "user_data.fb_login_id",
        Kind.ID,
        "App-scoped ID from Facebook Login. Never hashed.",
        masked=True,
    ),
    _p(
        "anon_id",
        "user_data.anon_id",
        Kind.ID,
        "App events: the install ID of an app user without a login. Never hashed.",
        masked=True,
    ),
    _p(
        "madid",
        "user_data.madid",
        Kind.ID,
        "App events: the mobile advertiser ID (Android advertising ID or Apple IDFA). "
        "Never hashed.",
        masked=True,
    ),
    # app_data: app events (action_source app); never hashed
    _p(
        "advertiser_tracking_enabled",
        "app_data.advertiser_tracking_enabled",
        Kind.BOOLEAN,
        "App events: the iOS 14.5+ ATT permission (false: disabled, true: enabled).",
        required_for=APP,
    ),
    _p(
        "application_tracking_enabled",
        "app_data.application_tracking_enabled",
        Kind.BOOLEAN,
        "App events: the person's app-level ad tracking choice (false: opted out).",
        required_for=APP,
    ),
    _p(
        "extinfo",
        "app_data.extinfo",
        Kind.ID_LIST,
        "App events: a list of exactly 16 device values, sent as text in this order: "
        + ", ".join(f"{i} {what}" for i, what in enumerate(EXTINFO_POSITIONS))
        + ". 0 and 4 are required; a NULL item is sent as an empty string. A list column, or "
        "a JSON one (a json or jsonb array) whose items are text or numbers.",
        required_for=APP,
        positional=True,
    ),
    _p(
        "campaign_ids",
        "app_data.campaign_ids",
        Kind.STRING,
        "App events: the encrypted campaign_ids of the deep link the person clicked.",
    ),
    _p("install_referrer", "app_data.install_referrer", Kind.STRING, "App events (Android)."),
    _p("installer_package", "app_data.installer_package", Kind.STRING, "App events (Android)."),
    _p("vendor_id", "app_data.vendor_id", Kind.STRING, "App events: vendor ID.", masked=True),
    _p(
        "windows_attribution_id",
        "app_data.windows_attribution_id",
        Kind.STRING,
        "App events: Windows 10 attribution token.",
        masked=True,
    ),
    # custom_data
    _p(
        "value",
        "custom_data.value",
        Kind.NUMBER,
        "Total value of the order or item. Required for Purchase.",
    ),
    _p(
        "currency",
        "custom_data.currency",
        Kind.STRING,
        "ISO 4217 code, three letters (sent upper-case; three letters that are no ISO 4217 "
        "code, as RMB, are sent with a warning). Required for Purchase.",
    ),
    _p(
        "content_ids",
        "custom_data.content_ids",
        Kind.ID_LIST,
        "Product IDs: a list, or one ID (column content_id).",
        aliases=("content_id",),
    ),
    _p(
        "content_type",
        "custom_data.content_type",
        Kind.STRING,
        "product or product_group.",
        allowed=CONTENT_TYPES,
    ),
    _p("content_name", "custom_data.content_name", Kind.STRING, "Product or page name."),
    _p("content_category", "custom_data.content_category", Kind.STRING, "Category."),
    _p(
        "contents",
        "custom_data.contents",
        Kind.CONTENTS,
        "List of structs: content_id, price, quantity (see the contents table).",
    ),
    _p("order_id", "custom_data.order_id", Kind.ID, "Order ID."),
    _p("num_items", "custom_data.num_items", Kind.INTEGER, "Number of items."),
    _p(
        "search_string",
        "custom_data.search_string",
        Kind.STRING,
        "Search text.",
        aliases=("query",),
    ),
    _p("status", "custom_data.status", Kind.STRING, "Status of a registration or order."),
    _p("predicted_ltv", "custom_data.predicted_ltv", Kind.NUMBER, "Predicted lifetime value."),
    _p(
        "delivery_category",
        "custom_data.delivery_category",
        Kind.STRING,
        "in_store, curbside or home_delivery.",
        allowed=DELIVERY_CATEGORIES,
    ),
)

# Keys of the structs in a contents column, in the model's spelling: TikTok's names, and
# Meta's own. CONTENT_FIELDS says what each is sent as; None: TikTok-only, left out.
CONTENT_KEYS: tuple[ContentKey, ...] = (
    ContentKey("content_id", Kind.ID, "Product ID, sent as id."),
    ContentKey("id", Kind.ID, "Product ID (Meta's spelling of content_id)."),
    ContentKey("price", Kind.NUMBER, "Unit price, sent as item_price."),
    ContentKey("item_price", Kind.NUMBER, "Unit price (Meta's spelling of price)."),
    ContentKey("quantity", Kind.INTEGER, "Quantity."),
    ContentKey("content_name", Kind.STRING, "Product name, sent as title."),
    ContentKey("title", Kind.STRING, "Product name (Meta's spelling of content_name)."),
    ContentKey("content_category", Kind.STRING, "Category, sent as category."),
    ContentKey("category", Kind.STRING, "Category (Meta's spelling of content_category)."),
    ContentKey("brand", Kind.STRING, "Brand."),
    ContentKey("description", Kind.STRING, "Description."),
    ContentKey("delivery_category", Kind.STRING, "in_store, curbside or home_delivery."),
    ContentKey("content_type", Kind.STRING, "TikTok only: not sent to Meta."),
    ContentKey("status", Kind.STRING, "TikTok only: not sent to Meta."),
)
CONTENT_FIELDS: dict[str, str | None] = {
    "content_id": "id",
    "id": "id",
    "price": "item_price",
    "item_price": "item_price",
    "quantity": "quantity",
    "content_name": "title",
    "title": "title",
    "content_category": "category",
    "category": "category",
    "brand": "brand",
    "description": "description",
    "delivery_category": "delivery_category",
    "content_type": None,
    "status": None,
}

# Top-level objects whose unknown keys are sent as given ("custom_data.my_field").
OPEN_OBJECTS = frozenset({"custom_data"})
OBJECTS = ("user_data", "custom_data", "app_data")
APP_DATA = "app_data"
USER_DATA = "user_data"

CATALOG = Catalog(PARAMS)

__all__ = [
    "APP",
    "APP_DATA",
    "CATALOG",
    "CONTENT_FIELDS",
    "CONTENT_KEYS",
    "EXTINFO_LENGTH",
    "EXTINFO_POSITIONS",
    "EXTINFO_VERSIONS",
    "OBJECTS",
    "OPEN_OBJECTS",
    "PARAMS",
    "TRIMMED",
    "USER_DATA",
]
