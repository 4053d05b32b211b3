"""TikTok's fixed vocabularies: event names, currencies, return codes.

Pure data with sources in ``docs/tiktok.md`` (from the shared API reference). Both the client
side (catalog, validation) and the sandbox emulator read these; nothing else spells them out.
"""

from __future__ import annotations

from typing import Final

API_VERSION: Final = "v1.3"
TRACK_PATH: Final = f"/open_api/{API_VERSION}/event/track/"
DEFAULT_API_BASE_URL: Final = "https://business-api.tiktok.com"
# The hosts a token may go to without RETL_ALLOWED_HOSTS: the Business API and its sandbox.
API_HOSTS: Final = ("business-api.tiktok.com", "sandbox-ads.tiktok.com")
MAX_EVENTS_PER_REQUEST: Final = 1000
DEDUP_WINDOW_SECONDS: Final = 48 * 3600

# event_data_source (config spelling) -> event_source (payload spelling)
EVENT_SOURCES: Final = {"WEB": "web", "APP": "app", "OFFLINE": "offline", "CRM": "crm"}

# Web / offline / CRM standard events, current names (since 1 May 2025).
STANDARD_EVENTS: Final = frozenset(
    {
        "AddPaymentInfo",
        "AddToCart",
        "AddToWishlist",
        "ApplicationApproval",
        "CompleteRegistration",
        "Contact",
        "CustomizeProduct",
        "Download",
        "FindLocation",
        "InitiateCheckout",
        "Lead",
        "Purchase",
        "Schedule",
        "Search",
        "StartTrial",
        "SubmitApplication",
        "Subscribe",
        "ViewContent",
    }
)

# Older names TikTok still accepts and converts (or supports until 2027).
LEGACY_EVENTS: Final = {
    "CompletePayment": "Purchase",
    "SubmitForm": "Lead",
    "ClickButton": "ClickButton",
    "PlaceAnOrder": "PlaceAnOrder",
    "PageView": "PageView",
    "Pageview": "PageView",
}

# Reserved names: never valid as custom events; TikTok maps them to these.
RESERVED_EVENTS: Final = {
    "AddBilling": "AddPaymentInfo",
    "Browse": "PageView",
    "Checkout": "PlaceAnOrder",
    "ClickForm": "Lead",
    "ClickInDownloadPage": "ClickButton",
    "ClickToDownload": "Download",
    "Consult": "Contact",
    "ConsultByPhone": "Contact",
    "Registration": "CompleteRegistration",
    "StartCheckout": "InitiateCheckout",
    "ViewConsultationPage": "ViewContent",
    "ViewDownloadPage": "ViewContent",
    "ViewForm": "ViewContent",
}

APP_STANDARD_EVENTS: Final = frozenset(
    {
        "AchieveLevel",
        "AddPaymentInfo",
        "AddToCart",
        "AddToWishlist",
        "Checkout",
        "CompleteTutorial",
        "CreateGroup",
        "CreateRole",
        "GenerateLead",
        "InAppADClick",
        "InAppADImpr",
        "InstallApp",
        "JoinGroup",
        "LaunchAPP",
        "LoanApplication",
        "LoanApproval",
        "LoanDisbursal",
        "Login",
        "Purchase",
        "Rate",
        "Registration",
        "Search",
        "SpendCredits",
        "StartTrial",
        "Subscribe",
        "UnlockAchievement",
        "ViewContent",
    }
)


def standard_events_for(source: str) -> frozenset[str]:
    """Standard event names for an event_data_source (WEB, APP, OFFLINE, CRM)."""
    return APP_STANDARD_EVENTS if source.upper() == "APP" else STANDARD_EVENTS


CURRENCIES: Final = frozenset(
    [
        "AED",
        "ARS",
        "AUD",
        "BDT",
        "BHD",
        "BIF",
        "BOB",
        "BRL",
        "CAD",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CZK",
        "DKK",
        "DZD",
        "EGP",
        "EUR",
        "GBP",
        "GTQ",
        "HKD",
        "HNL",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "ISK",
        "JPY",
        "KES",
        "KHR",
        "KRW",
        "KWD",
        "KZT",
        "MAD",
        "MOP",
        "MXN",
        "MYR",
        "NGN",
        "NIO",
        "NOK",
        "NZD",
        "OMR",
        "PEN",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RUB",
        "SAR",
        "SEK",
        "SGD",
        "THB",
        "TRY",
        "TWD",
        "UAH",
        "USD",
        "VES",
        "VND",
        "ZAR",
    ]
)

ATT_STATUSES: Final = frozenset(
    {"AUTHORIZED", "DENIED", "NOT_DETERMINED", "RESTRICTED", "NOT_APPLICABLE"}
)
CONTENT_TYPES: Final = frozenset({"product", "product_group"})
DELIVERY_CATEGORIES: Final = frozenset({"in_store", "curbside", "home_delivery"})

# Business API return codes (HTTP 200 with a non-zero "code").
CODE_OK: Final = 0
CODE_PARTIAL_OK: Final = 20001
CODE_NO_PERMISSION: Final = 40001
CODE_INVALID_PARAMS: Final = 40002  # the SDK's PARAM_ERROR
# The SDK's INVALID_PARAMS (tiktok_code.py; the reference's §11 says no more of it): read as
# 40002 is, since it names the same fault, the request's parameters.
CODE_SDK_INVALID_PARAMS: Final = 40000
PARAM_ERROR_CODES: Final = frozenset({CODE_INVALID_PARAMS, CODE_SDK_INVALID_PARAMS})
CODE_NOT_FOUND: Final = 40007
CODE_RATE_LIMITED: Final = 40100
CODE_BAD_APP_SECRET: Final = 40101
CODE_BAD_TOKEN: Final = 40105
CODE_TOKEN_EXPIRED: Final = 40102
CODE_EMPTY_TOKEN: Final = 40104
CODE_BAD_AUTH_CODE: Final = 40110
CODE_INVALID_PARTNER_NAME: Final = 40063
CODE_SYSTEM_ERROR: Final = 50000
CODE_TIKTOK_SIDE_ERROR: Final = 50002

# Retried with backoff, never fatal: rate limits (40100, 40132 request frequency, 61000 too
# many requests), maintenance (60001), task/conflict codes, system errors and time-outs; the
# 51xxx/52xxx internal errors are matched as a range (INTERNAL_ERROR_CODES).
TRANSIENT_CODES: Final = frozenset(
    {40100, 40132, 40200, 40201, 40202, 40700, 50000, 50002, 60001, 61000}
)
INTERNAL_ERROR_CODES: Final = range(51000, 53000)
# Of those, the ones that only ask to slow down or come back later: they do not use up a
# batch's retry attempts (its time budget still bounds them).
THROTTLE_CODES: Final = frozenset({40100, 40132, 60001, 61000})
# The access token is expired, empty or invalid: only re-authorising helps.
AUTH_CODES: Final = frozenset({CODE_TOKEN_EXPIRED, CODE_EMPTY_TOKEN, CODE_BAD_TOKEN})
SUCCESS_CODES: Final = frozenset({CODE_OK})
