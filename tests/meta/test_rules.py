"""What ``retl validate`` reads of the Meta catalog: required columns, identifiers, values."""

from __future__ import annotations

from reverse_etl.destinations.meta.catalog import CATALOG
from reverse_etl.destinations.meta.rules import MetaRules

RULES = MetaRules("website")


def issues(param: str, *values: str) -> list[tuple[str, str, str]]:
    spec = CATALOG.lookup(param)
    assert spec is not None
    return [(i.rule or "", i.severity, i.message) for i in RULES.value_issues(spec, values)]


def test_event_names_custom_is_a_note_misspelt_a_warning() -> None:
    assert issues("event", "Purchase", "Lead") == []
    assert issues("event", "purchase", "loyalty_signup", " ") == [
        ("event-name", "error", "event name is empty"),
        (
            "custom-event",
            "note",
            "event 'loyalty_signup' is not a Meta standard event: it is sent as a custom event",
        ),
        (
            "custom-event",
            "warning",
            "event 'purchase' is sent as a custom event: Meta's standard event is 'Purchase'",
        ),
    ]


def test_fixed_vocabularies() -> None:
    assert issues("action_source", "website", "web") == [
        ("allowed-value", "error", "action_source 'web' is not accepted by Meta")
    ]
    assert issues("currency", "usd", "EUR", "euro") == [
        ("allowed-value", "error", "currency 'euro' is not a three-letter ISO 4217 code")
    ]
    # Three letters but no ISO 4217 code: sent, with a warning (Meta's SDK checks the shape
    # only; the reference does not say Meta refuses one).
    assert issues("currency", "cny", "RMB", "NaN") == [
        (
            "allowed-value",
            "error",
            "currency 'NaN' is a NaN or infinite number, not an ISO 4217 code",
        ),
        (
            "allowed-value",
            "warning",
            "currency 'RMB' is not an ISO 4217 code (sent, upper-cased, but Meta may refuse it "
            "or not convert the value: write the ISO code, e.g. CNY for RMB)",
        ),
    ]
    assert [i[1] for i in issues("gender", "F", "male", "other")] == ["warning"]


def test_identifier_issues() -> None:
    assert RULES.identifier_issues({"email"}) == []
    assert RULES.identifier_issues({"ip", "user_agent"}) == []
    (issue,) = RULES.identifier_issues({"user_agent", "city"})
    assert (issue.rule, issue.severity) == ("no-identifier", "warning")


def test_mapping_and_keys_are_the_syncs() -> None:
    mapping = RULES.map_columns(
        ["event", "email", "first_name", "custom_data.tier", "pk"], ignore=["pk"]
    )
    assert [".".join(m.path) for m in mapping.columns] == [
        "event_name",
        "user_data.em",
        "user_data.fn",
        "custom_data.tier",
    ]
    assert RULES.key_columns(["event", "event_id"], None, None) == (("event_id",), False)
    assert RULES.key_only_columns(["order_key", "email"]) == ["order_key"]
    # Only user_agent without ip: Meta recommends both on website events.
    only_ua = RULES.map_columns(["user_agent"])
    assert [i.rule for i in only_ua.issues] == ["missing-recommended"]


def _missing(mapped: dict[str, frozenset[str] | None]) -> list[tuple[str, str]]:
    return [(i.severity, i.message) for i in RULES.missing_required(mapped)]


def test_an_action_source_column_decides_what_website_rows_need() -> None:
    base: dict[str, frozenset[str] | None] = {"event": None, "event_time": None}
    # no action_source column: every row is a website event
    assert _missing(base) == [
        ("error", "no 'page_url' column: website events need one"),
        ("error", "no 'user_agent' column: website events need one"),
    ]
    # every row says physical_store: nothing of website's is needed
    assert _missing({**base, "action_source": frozenset({"physical_store"})}) == []
    # some rows say website (values known): those need it
    assert _missing({**base, "action_source": frozenset({"Website", "app"}), "page_url": None}) == [
        ("error", "no 'user_agent' column: website events need one"),
        ("error", "no 'advertiser_tracking_enabled' column: app events need one"),
        ("error", "no 'application_tracking_enabled' column: app events need one"),
        ("error", "no 'extinfo' column: app events need one"),
    ]
    # values unknown: a warning; rows of website are invalid, each with its reason
    assert [s for s, _ in _missing({**base, "action_source": None})] == ["warning"] * 5
    # what every source needs stays an error
    assert _missing({"action_source": frozenset({"app"})})[:2] == [
        ("error", "no 'event' column: all events need one"),
        ("error", "no 'event_time' column: all events need one"),
    ]
