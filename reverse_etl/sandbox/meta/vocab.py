"""Meta's Conversions API vocabulary, as the emulator enforces it.

Kept apart from ``reverse_etl.destinations.meta`` on purpose: the emulator stands for Meta, so
a wrong client constant cannot make both sides agree. Sources: the shared Meta reference
(``meta-conversions-api.md`` §1-§5) and Meta's ``facebook-python-business-sdk``.
"""

from __future__ import annotations

import re
from typing import Final

MAX_EVENTS_PER_REQUEST: Final = 1000
DEDUP_WINDOW_SECONDS: Final = 48 * 3600
MAX_EVENT_AGE_SECONDS: Final = 7 * 86400
PHYSICAL_STORE_MAX_AGE_SECONDS: Final = 62 * 86400
# Clients' clocks drift; Meta does not document its tolerance (UNCONFIRMED), so a few minutes.
MAX_FUTURE_SECONDS: Final = 300

API_VERSION_PATTERN: Final = re.compile(r"v\d+\.\d+")
# Graph paths the emulator answers: an object (``GET /{version}/{pixel_id}``, as ``retl check``
# reads a pixel) and its ``/events`` edge.
GRAPH_PATH: Final = re.compile(r"/(?P<version>v\d+\.\d+)/(?P<object_id>[^/]+)(?P<edge>/events)?")
EVENTS_PATH: Final = re.compile(r"/v\d+\.\d+/[^/]+/events")
PIXEL_FIELDS: Final = ("id", "name")

ACTION_SOURCES: Final = frozenset(
    {
        "email",
        "website",
        "app",
        "phone_call",
        "chat",
        "physical_store",
        "system_generated",
        "business_messaging",
        "other",
    }
)
STANDARD_EVENTS: Final = frozenset(
    {
        "AddPaymentInfo",
        "AddToCart",
        "AddToWishlist",
        "CompleteRegistration",
        "Contact",
        "CustomizeProduct",
        "Donate",
        "FindLocation",
        "InitiateCheckout",
        "Lead",
        "PageView",
        "Purchase",
        "Schedule",
        "Search",
        "StartTrial",
        "SubmitApplication",
        "Subscribe",
        "ViewContent",
    }
)

# user_data keys Meta wants SHA-256 hashed (64 lower-case hex), string or list of strings.
HASHED_USER_KEYS: Final = frozenset(
    {"em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id"}
)
# Sent as they are: a value that looks like a SHA-256 here is a client bug (hashed by mistake).
NEVER_HASHED_USER_KEYS: Final = frozenset({"client_ip_address", "client_user_agent", "fbc", "fbp"})
PLAIN_USER_KEYS: Final = frozenset(
    {"lead_id", "subscription_id", "fb_login_id", "anon_id", "madid", "ctwa_clid", "page_id"}
)
CUSTOMER_INFO_KEYS: Final = HASHED_USER_KEYS | NEVER_HASHED_USER_KEYS | PLAIN_USER_KEYS

CONTENT_TYPES: Final = frozenset({"product", "product_group"})
DELIVERY_CATEGORIES: Final = frozenset({"in_store", "curbside", "home_delivery"})
DATA_PROCESSING_OPTIONS: Final = frozenset({"LDU"})

# Graph API error codes.
CODE_UNKNOWN: Final = 1
CODE_SERVICE_UNAVAILABLE: Final = 2
CODE_APP_RATE_LIMIT: Final = 4
CODE_USER_RATE_LIMIT: Final = 17
CODE_PAGE_RATE_LIMIT: Final = 32
CODE_INVALID_PARAMETER: Final = 100
CODE_INVALID_TOKEN: Final = 190
CODE_API_RATE_LIMIT: Final = 613
# A business use case rate limit (80000-80014; 80004: ads management, per ad account).
CODE_ADS_MANAGEMENT_RATE_LIMIT: Final = 80004
SUBCODE_UNKNOWN_OBJECT: Final = 33

# Throttling codes: (HTTP status, is_transient, message) as Graph answers them by default.
THROTTLE_CODES: Final = {
    CODE_APP_RATE_LIMIT: (400, True, "(#4) Application request limit reached"),
    CODE_USER_RATE_LIMIT: (400, True, "(#17) User request limit reached"),
    CODE_PAGE_RATE_LIMIT: (403, True, "(#32) Page request limit reached"),
    CODE_API_RATE_LIMIT: (400, False, "(#613) Calls to this api have exceeded the rate limit."),
    CODE_ADS_MANAGEMENT_RATE_LIMIT: (
        400,
        False,
        "(#80004) There have been too many calls to this ad-account. Wait a bit and try again.",
    ),
}

# error_subcode of a rejected event, by rule (documented-looking numbers; Meta publishes no
# complete list, so clients must read error_user_msg, not rely on these).
SUB_INVALID_EVENT: Final = 2804001
SUB_EVENT_NAME: Final = 2804002
SUB_EVENT_TIME_OLD: Final = 2804003
SUB_EVENT_TIME_FUTURE: Final = 2804004
SUB_EVENT_TIME_TYPE: Final = 2804005
SUB_ACTION_SOURCE: Final = 2804007
SUB_EVENT_SOURCE_URL: Final = 2804008
SUB_USER_AGENT: Final = 2804009
SUB_NOT_HASHED: Final = 2804010
SUB_HASHED_BY_MISTAKE: Final = 2804011
SUB_USER_DATA_FIELD: Final = 2804012
SUB_CUSTOM_DATA: Final = 2804016
SUB_CURRENCY: Final = 2804019
SUB_PURCHASE_VALUE: Final = 2804020
SUB_CONTENTS: Final = 2804021
SUB_DATA_PROCESSING: Final = 2804022
SUB_NO_USER_DATA: Final = 2804050
SUB_SCRIPTED: Final = 2804099
# app_data problems: Meta documents no subcode of their own; "Invalid Server Event".
SUB_APP_DATA: Final = SUB_INVALID_EVENT

# error_user_title of each subcode, as Events Manager would head it.
TITLES: Final = {
    SUB_INVALID_EVENT: "Invalid Server Event",
    SUB_EVENT_NAME: "Missing Event Name",
    SUB_EVENT_TIME_OLD: "Event Timestamp Too Old",
    SUB_EVENT_TIME_FUTURE: "Event Timestamp In The Future",
    SUB_EVENT_TIME_TYPE: "Invalid Event Timestamp",
    SUB_ACTION_SOURCE: "Invalid Action Source",
    SUB_EVENT_SOURCE_URL: "Missing Event Source URL",
    SUB_USER_AGENT: "Missing Client User Agent",
    SUB_NOT_HASHED: "Customer Information Not Hashed",
    SUB_HASHED_BY_MISTAKE: "Parameter Must Not Be Hashed",
    SUB_USER_DATA_FIELD: "Invalid Customer Information",
    SUB_CUSTOM_DATA: "Invalid Custom Data",
    SUB_CURRENCY: "Invalid Currency Code",
    SUB_PURCHASE_VALUE: "Missing Value Or Currency For Purchase",
    SUB_CONTENTS: "Invalid Contents",
    SUB_DATA_PROCESSING: "Invalid Data Processing Options",
    SUB_NO_USER_DATA: "Missing Customer Information",
    SUB_SCRIPTED: "Invalid Server Event",
}
