"""The TikTok Events API 2.0 parameter catalog: the single table that drives mapping,
row checks, static validation and the docs' column table.

Each :class:`ParamSpec` says which model column feeds which payload path, its type, the event
sources it applies to, and how it is normalised and hashed. Nothing else in retl lists TikTok
parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from reverse_etl.destinations.catalog import (
    Catalog,
    ContentKey,
    Hashing,
    Kind,
    ParamSpec,
)
from reverse_etl.destinations.tiktok.vocab import (
    ATT_STATUSES,
    CONTENT_TYPES,
    CURRENCIES,
    DELIVERY_CATEGORIES,
)

ALL = frozenset({"WEB", "APP", "OFFLINE", "CRM"})
WEB = frozenset({"WEB"})
APP = frozenset({"APP"})
CRM = frozenset({"CRM"})
WEB_APP = frozenset({"WEB", "APP"})
WEB_CRM = frozenset({"WEB", "CRM"})

# Sent unhashed, as the model has them, but trimmed: whitespace around an address or a cookie
# value is never part of it (a browser strips it from a cookie's value, RFC 6265 §5.2): it comes
# from the carrier (a CSV's padding, a CHAR(n) column), and ' 192.0.2.1 ' or a padded _ttp
# matches no one. user_agent is sent as it is.
TRIMMED = frozenset({"ip", "ttclid", "ttp"})


def _p(
    name: str,
    path: str,
    kind: Kind,
    sources: frozenset[str],
    doc: str,
    **kw: object,
) -> ParamSpec:
    return ParamSpec(name, tuple(path.split(".")), kind, sources, doc, **kw)  # type: ignore[arg-type]


PARAMS: tuple[ParamSpec, ...] = (
    # top level
    _p(
        "event",
        "event",
        Kind.STRING,
        ALL,
        "Event name: a standard event or a custom name.",
        required_for=ALL,
    ),
    _p(
        "event_time",
        "event_time",
        Kind.TIME,
        ALL,
        "When it happened. TIMESTAMP (read as UTC), TIMESTAMPTZ, DATE or Unix seconds.",
        required_for=ALL,
    ),
    _p(
        "event_id",
        "event_id",
        Kind.ID,
        ALL,
        "Deduplication ID (48 h). Derived from the primary key when absent.",
    ),
    _p(
        "limited_data_use",
        "limited_data_use",
        Kind.BOOLEAN,
        WEB_APP,
        "Limited Data Use for this event (overrides the destination setting; NULL takes it).",
    ),
    # user
    _p(
        "email",
        "user.email",
        Kind.STRING,
        ALL,
        "E-mail address(es).",
        hashing=Hashing.EMAIL,
        multi=True,
        masked=True,
    ),
    _p(
        "phone",
        "user.phone",
        Kind.STRING,
        ALL,
        "Phone number(s); normalised to E.164.",
        hashing=Hashing.PHONE,
        multi=True,
        masked=True,
    ),
    _p(
        "external_id",
        "user.external_id",
        Kind.STRING,
        WEB_CRM,
        "Your own user ID(s), hashed exactly as the Pixel hashes them.",
        hashing=Hashing.SHA256,
        multi=True,
        masked=True,
    ),
    _p(
        "ip",
        "user.ip",
        Kind.STRING,
        WEB_APP,
        "IPv4 or IPv6 address. Never hashed; whitespace around it is removed.",
        masked=True,
    ),
    _p(
        "user_agent",
        "user.user_agent",
        Kind.STRING,
        WEB_APP,
        "Browser user agent. Never hashed.",
        masked=True,
    ),
    _p(
        "ttclid",
        "user.ttclid",
        Kind.STRING,
        WEB,
        "TikTok click ID. Never hashed; whitespace around it is removed.",
        masked=True,
    ),
    _p(
        "ttp",
        "user.ttp",
        Kind.STRING,
        WEB,
        "_ttp cookie value. Never hashed; whitespace around it is removed (a cookie's value "
        "has none).",
        masked=True,
    ),
    _p("locale", "user.locale", Kind.STRING, WEB_APP, "BCP 47 locale, e.g. en-US."),
    _p(
        "idfa",
        "user.idfa",
        Kind.STRING,
        APP,
        "iOS advertising ID, raw (sent upper-case) or SHA-256 (sent lower-case). Send "
        "att_status with it.",
        hashing=Hashing.IDFA,
        masked=True,
    ),
    _p("idfv", "user.idfv", Kind.STRING, APP, "iOS vendor ID.", masked=True),
    _p(
        "gaid",
        "user.gaid",
        Kind.STRING,
        APP,
        "Google advertising ID, raw or SHA-256 (sent lower-case).",
        hashing=Hashing.GAID,
        masked=True,
    ),
    _p(
        "att_status",
        "user.att_status",
        Kind.STRING,
        APP,
        "iOS App Tracking Transparency status.",
        allowed=ATT_STATUSES,
    ),
    # properties
    _p("value", "properties.value", Kind.NUMBER, ALL, "Total value of the order or item."),
    _p(
        "currency",
        "properties.currency",
        Kind.STRING,
        ALL,
        "ISO 4217 code from TikTok's list of 62 currencies.",
        allowed=CURRENCIES,
    ),
    # TikTok reads content_id, content_name and content_category only inside contents: as
    # columns of their own they become the single item of properties.contents.
    _p(
        "content_id",
        "properties.contents.content_id",
        Kind.ID,
        ALL,
        "Product (SKU) ID. Sent as the single item of contents.",
        aliases=("properties.content_id",),
    ),
    _p("content_ids", "properties.content_ids", Kind.ID_LIST, ALL, "List of product IDs."),
    _p(
        "content_type",
        "properties.content_type",
        Kind.STRING,
        ALL,
        "product or product_group.",
        allowed=CONTENT_TYPES,
    ),
    _p(
        "content_name",
        "properties.contents.content_name",
        Kind.STRING,
        ALL,
        "Product name. Sent as the single item of contents.",
        aliases=("properties.content_name",),
    ),
    _p(
        "content_category",
        "properties.contents.content_category",
        Kind.STRING,
        ALL,
        "Product category. Sent as the single item of contents.",
        aliases=("properties.content_category",),
    ),
    _p(
        "contents",
        "properties.contents",
        Kind.CONTENTS,
        ALL,
        "List of structs: content_id, content_name, content_category, content_type, brand, "
        "price, quantity, status.",
    ),
    _p("num_items", "properties.num_items", Kind.INTEGER, ALL, "Number of items."),
    _p("search_string", "properties.search_string", Kind.STRING, ALL, "Search text."),
    _p("query", "properties.query", Kind.STRING, ALL, "Search text (Events 1.0 name)."),
    _p("description", "properties.description", Kind.STRING, ALL, "Description."),
    _p("order_id", "properties.order_id", Kind.ID, ALL, "Order ID."),
    _p("shop_id", "properties.shop_id", Kind.ID, ALL, "Shop ID."),
    _p(
        "delivery_category",
        "properties.delivery_category",
        Kind.STRING,
        ALL,
        "in_store, curbside or home_delivery.",
        allowed=DELIVERY_CATEGORIES,
    ),
    _p("status", "properties.status", Kind.STRING, ALL, "Status of the order, item or service."),
    _p("predicted_ltv", "properties.predicted_ltv", Kind.NUMBER, ALL, "Predicted lifetime value."),
    # page
    _p(
        "page_url",
        "page.url",
        Kind.STRING,
        WEB,
        "URL of the page. TikTok expects it on WEB events.",
        aliases=("url",),
    ),
    _p("referrer", "page.referrer", Kind.STRING, WEB, "Referrer URL."),
    # app
    _p(
        "app_id",
        "app.app_id",
        Kind.ID,
        APP,
        "Store app ID (iOS numeric ID or Android package name).",
        required_for=APP,
    ),
    _p("app_name", "app.app_name", Kind.STRING, APP, "App name."),
    _p("app_version", "app.app_version", Kind.STRING, APP, "App version."),
    # ad (app attribution)
    _p("callback", "ad.callback", Kind.STRING, APP, "Attribution callback.", masked=True),
    _p("campaign_id", "ad.campaign_id", Kind.ID, APP, "Campaign ID."),
    _p("ad_id", "ad.ad_id", Kind.ID, APP, "Ad group ID."),
    _p("creative_id", "ad.creative_id", Kind.ID, APP, "Ad (creative) ID."),
    _p("is_retargeting", "ad.is_retargeting", Kind.BOOLEAN, APP, "Retargeting event."),
    _p("attributed", "ad.attributed", Kind.BOOLEAN, APP, "Attributed to TikTok."),
    _p("attribution_type", "ad.attribution_type", Kind.STRING, APP, "Attribution type."),
    _p(
        "attribution_provider",
        "ad.attribution_provider",
        Kind.STRING,
        APP,
        "Attribution provider (MMP).",
    ),
    # lead (CRM)
    _p(
        "lead_id",
        "lead.lead_id",
        Kind.ID,
        CRM,
        "TikTok lead ID.",
        required_for=CRM,
        masked=True,
    ),
    _p(
        "lead_event_source",
        "lead.lead_event_source",
        Kind.STRING,
        CRM,
        "Name of the CRM, e.g. HubSpot.",
    ),
)

CONTENT_KEYS: tuple[ContentKey, ...] = (
    ContentKey("content_id", Kind.ID, "Product (SKU) ID."),
    ContentKey("content_name", Kind.STRING, "Product name."),
    ContentKey("content_category", Kind.STRING, "Product category."),
    ContentKey("content_type", Kind.STRING, "product or product_group."),
    ContentKey("brand", Kind.STRING, "Brand."),
    ContentKey("price", Kind.NUMBER, "Unit price."),
    ContentKey("quantity", Kind.INTEGER, "Quantity."),
    ContentKey("status", Kind.STRING, "Status of the item."),
)


@dataclass(frozen=True)
class MatchKey:
    """A value TikTok matches an event to a person with (its Event Match Quality inputs).

    ``sources``: the sources TikTok reads every one of its parameters on (``PARAMS``), the
    only ones it is reported for: a parameter is not sent to a source that does not read it
    (``mapping.py``), so an OFFLINE row's ttclid identifies no one. ``strong_for``: the
    sources where the key on its own identifies a person or a click, so that it counts
    towards match coverage (docs/tiktok.md, "Match keys", says why)."""

    name: str
    params: tuple[str, ...]  # a row carries the key when it has all of them
    strong_for: frozenset[str] = frozenset()

    @property
    def sources(self) -> frozenset[str]:
        return _read_on(self.params)

    @property
    def bit(self) -> int:
        return 1 << MATCH_KEYS.index(self)


def _read_on(params: tuple[str, ...]) -> frozenset[str]:
    """The sources every one of ``params`` applies to (the catalog's ``sources``)."""
    by_name = {p.name: p.sources for p in PARAMS}
    return frozenset.intersection(*(by_name[p] for p in params))


MATCH_KEYS: tuple[MatchKey, ...] = (
    MatchKey("email", ("email",), ALL),
    MatchKey("phone", ("phone",), ALL),
    MatchKey("external_id", ("external_id",), WEB_CRM),
    MatchKey("ttclid", ("ttclid",), WEB),
    MatchKey("ttp", ("ttp",)),
    MatchKey("ip_user_agent", ("ip", "user_agent")),
    MatchKey("idfa", ("idfa",), APP),
    MatchKey("gaid", ("gaid",), APP),
    MatchKey("lead_id", ("lead_id",), CRM),
)
# Values that failed normalisation (malformed e-mail, unparseable phone): bits after the keys.
NORMALISATION_FAILURES: tuple[str, ...] = ("email", "phone")


def failure_bit(param: str) -> int:
    return 1 << (len(MATCH_KEYS) + NORMALISATION_FAILURES.index(param))


def match_keys_for(source: str) -> tuple[MatchKey, ...]:
    """The match keys reported for an event source, in report order."""
    return tuple(k for k in MATCH_KEYS if source in k.sources)


# Top-level objects whose unknown keys are sent as given ("properties.my_field").
OPEN_OBJECTS = frozenset({"properties"})
OBJECTS = ("user", "properties", "page", "app", "ad", "lead")
# Parameters that go inside properties.contents (as its single item) when they are columns.
CONTENTS_PATH = ("properties", "contents")


CATALOG = Catalog(PARAMS)

__all__ = [
    "CATALOG",
    "CONTENTS_PATH",
    "CONTENT_KEYS",
    "MATCH_KEYS",
    "OBJECTS",
    "OPEN_OBJECTS",
    "PARAMS",
    "TRIMMED",
    "Catalog",
    "ContentKey",
    "Hashing",
    "Kind",
    "MatchKey",
    "ParamSpec",
    "failure_bit",
    "match_keys_for",
]
