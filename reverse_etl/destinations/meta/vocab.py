"""Meta's fixed vocabularies: action sources, standard events, Graph API error codes.

Pure data, from Meta's Conversions API documentation and its official Python SDK
(``facebook_business/adobjects/serverside``), collected in the project's API reference.
Everything else in ``destinations/meta/`` reads these; nothing else spells them out.
"""

from __future__ import annotations

from typing import Final

DEFAULT_API_BASE_URL: Final = "https://graph.facebook.com"
# The hosts a token may go to without RETL_ALLOWED_HOSTS: the Graph API.
API_HOSTS: Final = ("graph.facebook.com",)
# A current Graph API version; Meta supports each for about two years after its release.
DEFAULT_API_VERSION: Final = "v21.0"
PARTNER_AGENT: Final = "retl"
MAX_EVENTS_PER_REQUEST: Final = 1000
DEDUP_WINDOW_SECONDS: Final = 48 * 3600

# action_source: where the conversion happened (Meta's ActionSource enum).
ACTION_SOURCES: Final = (
    "website",
    "app",
    "email",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
)
# How old an event_time Meta takes, in days, by action_source (physical_store: 62).
MAX_AGE_DAYS: Final = 7
MAX_AGE_DAYS_PHYSICAL_STORE: Final = 62

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

# ISO 4217's currency codes (pycountry 26.2.16's list; tests/meta/test_normalise_sdk.py
# compares them). Meta asks for one; its SDK checks only that a code is three letters, and
# the reference does not say that Meta refuses another: a three-letter code not in this list
# is sent, with a warning (``RMB`` for ``CNY``, ``NTD`` for ``TWD``).
_ISO_4217 = """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
    BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN
    ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD
    MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP
    PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP
    SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV
    WST XAD XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR
    ZMW ZWG
"""
CURRENCIES: Final = frozenset(_ISO_4217.split())
# Why a three-letter currency outside CURRENCIES is worth a word (the row is sent).
NOT_ISO_CURRENCY: Final = (
    " is not an ISO 4217 code (sent, upper-cased, but Meta may refuse it or not convert the "
    "value: write the ISO code, e.g. CNY for RMB)"
)

CONTENT_TYPES: Final = frozenset({"product", "product_group"})
DELIVERY_CATEGORIES: Final = frozenset({"in_store", "curbside", "home_delivery"})

# US state names (lower-case, letters only) -> the two-letter code Meta's st expects (the
# USPS/ANSI codes: the fifty states, the District of Columbia and the inhabited territories).
US_STATES: Final = {
    "alabama": "al",
    "alaska": "ak",
    "arizona": "az",
    "arkansas": "ar",
    "california": "ca",
    "colorado": "co",
    "connecticut": "ct",
    "delaware": "de",
    "districtofcolumbia": "dc",
    "washingtondc": "dc",  # "Washington, D.C.", "Washington DC"
    "florida": "fl",
    "georgia": "ga",
    "hawaii": "hi",
    "idaho": "id",
    "illinois": "il",
    "indiana": "in",
    "iowa": "ia",
    "kansas": "ks",
    "kentucky": "ky",
    "louisiana": "la",
    "maine": "me",
    "maryland": "md",
    "massachusetts": "ma",
    "michigan": "mi",
    "minnesota": "mn",
    "mississippi": "ms",
    "missouri": "mo",
    "montana": "mt",
    "nebraska": "ne",
    "nevada": "nv",
    "newhampshire": "nh",
    "newjersey": "nj",
    "newmexico": "nm",
    "newyork": "ny",
    "northcarolina": "nc",
    "northdakota": "nd",
    "ohio": "oh",
    "oklahoma": "ok",
    "oregon": "or",
    "pennsylvania": "pa",
    "rhodeisland": "ri",
    "southcarolina": "sc",
    "southdakota": "sd",
    "tennessee": "tn",
    "texas": "tx",
    "utah": "ut",
    "vermont": "vt",
    "virginia": "va",
    "washington": "wa",
    "westvirginia": "wv",
    "wisconsin": "wi",
    "wyoming": "wy",
    # Territories: "Virgin Islands" alone may be the British ones, so only the US's by name.
    "americansamoa": "as",
    "guam": "gu",
    "northernmarianaislands": "mp",
    "puertorico": "pr",
    "usvirginislands": "vi",
    "unitedstatesvirginislands": "vi",
    "virginislandsus": "vi",  # "Virgin Islands, U.S." (ISO 3166's order)
}

# Graph API error codes (developers.facebook.com/docs/graph-api/guides/error-handling).
CODE_UNKNOWN: Final = 1  # "An unknown error occurred": retry
CODE_SERVICE_UNAVAILABLE: Final = 2  # temporary: retry
CODE_INVALID_PARAMETER: Final = 100
CODE_INVALID_TOKEN: Final = 190
# error_subcode of a code 100 whose object (here: the pixel) does not exist or is not
# reachable with this token ("Unsupported post request. Object with ID ... does not exist").
SUBCODE_UNKNOWN_OBJECT: Final = 33
# Rate limits: application (4), user (17), page (32), calls within one hour (613), and the
# business use case limits 80000-80014 (per ad account or pixel: "There have been too many
# calls from this ad-account. Wait a bit and try again", answered with is_transient false).
# They only ask to slow down: retried without using up a batch's attempts.
BUSINESS_USE_CASE_THROTTLE_CODES: Final = frozenset(range(80000, 80015))
THROTTLE_CODES: Final = frozenset({4, 17, 32, 613}) | BUSINESS_USE_CASE_THROTTLE_CODES
TRANSIENT_CODES: Final = frozenset({CODE_UNKNOWN, CODE_SERVICE_UNAVAILABLE}) | THROTTLE_CODES
# Code 102 (API session) and 190 (invalid OAuth access token): only a new token helps.
AUTH_CODES: Final = frozenset({102, CODE_INVALID_TOKEN})

AUTH_HINT: Final = (
    "generate a new system-user token in Events Manager → Settings → Conversions API, and "
    "set it in the environment variable access_token reads"
)
