"""Meta's per-event rules (reference §2-§4): each bad event rejects its whole request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from reverse_etl.sandbox import MetaOptions, SandboxOptions, SandboxServer

from .helpers import T0, FakeClock
from .meta_helpers import APP_DATA, AUTH, EM, graph_error, meta_event, post_events, sha

DAY = 86400
Mutation = Callable[[dict[str, Any]], None]


@pytest.fixture
def graph(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=AUTH) as c:
        yield c


def _set(path: str, value: Any) -> Mutation:
    """Set (or, with ``...``, delete) a dotted key of the event."""

    def mutate(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        holder = event
        for key in parents:
            holder = holder[key]
        if value is ...:
            del holder[last]
        else:
            holder[last] = value

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(event: dict[str, Any]) -> None:
        for m in mutations:
            m(event)

    return mutate


REJECTED = [
    # event_name
    ("no event_name", _set("event_name", ...), 2804002, "event_name is required"),
    ("empty event_name", _set("event_name", " "), 2804002, "must be a non-empty string"),
    # event_time
    ("no event_time", _set("event_time", ...), 2804005, "event_time is required"),
    ("string time", _set("event_time", str(T0)), 2804005, "integer Unix timestamp"),
    ("float time", _set("event_time", T0 - 0.5), 2804005, "integer Unix timestamp"),
    ("8 days old", _set("event_time", T0 - 8 * DAY), 2804003, "more than 7 days old"),
    (
        "63 days old in store",
        _both(_set("action_source", "physical_store"), _set("event_time", T0 - 63 * DAY)),
        2804003,
        "more than 62 days old",
    ),
    ("future", _set("event_time", T0 + 3600), 2804004, "event_time is in the future"),
    ("milliseconds", _set("event_time", T0 * 1000), 2804004, "in the future"),
    # action_source
    ("no action_source", _set("action_source", ...), 2804007, "action_source is required"),
    ("bad action_source", _set("action_source", "shop"), 2804007, "'shop' is not one of"),
    ("list action_source", _set("action_source", ["app"]), 2804007, "is not one of"),
    ("website without url", _set("event_source_url", ...), 2804008, "event_source_url"),
    (
        "website without user agent",
        _set("user_data.client_user_agent", ...),
        2804009,
        "client_user_agent is required",
    ),
    # user_data
    ("no user_data", _set("user_data", ...), 2804050, "user_data is required"),
    ("user_data list", _set("user_data", [EM]), 2804050, "JSON object"),
    (
        "no customer info",
        _both(_set("action_source", "email"), _set("user_data", {})),
        2804050,
        "no customer information",
    ),
    ("plain email", _set("user_data.em", "alice@example.com"), 2804010, "user_data.em must be"),
    ("upper-case hash", _set("user_data.em", EM.upper()), 2804010, "64 lower-case hex"),
    ("bad list item", _set("user_data.ph", [EM, "555"]), 2804010, "user_data.ph[1]"),
    ("plain first name", _set("user_data.fn", "alice"), 2804010, "user_data.fn"),
    ("plain country", _set("user_data.country", "us"), 2804010, "user_data.country"),
    ("plain external_id", _set("user_data.external_id", "42"), 2804010, "external_id"),
    ("empty em list", _set("user_data.em", []), 2804012, "empty list"),
    ("hashed fbc", _set("user_data.fbc", sha("x")), 2804011, "user_data.fbc looks like"),
    ("hashed fbp", _set("user_data.fbp", sha("x").upper()), 2804011, "fbp looks like"),
    ("hashed ip", _set("user_data.client_ip_address", sha("1")), 2804011, "client_ip_address"),
    ("hashed ua", _set("user_data.client_user_agent", sha("x")), 2804011, "client_user_agent"),
    ("bad ip", _set("user_data.client_ip_address", "1.2.3"), 2804012, "not a valid IPv4"),
    ("unknown user key", _set("user_data.email", EM), 2804012, "user_data.email is not a"),
    # custom_data
    ("string value", _set("custom_data.value", "16.5"), 2804016, "value must be a number"),
    ("bool value", _set("custom_data.value", True), 2804016, "value must be a number"),
    ("lower currency", _set("custom_data.currency", "usd"), 2804019, "'usd' is not a 3-letter"),
    ("short currency", _set("custom_data.currency", "US"), 2804019, "currency"),
    ("purchase no value", _set("custom_data.value", ...), 2804020, "Purchase events need"),
    ("purchase no currency", _set("custom_data.currency", ...), 2804020, "Purchase events"),
    ("purchase no custom", _set("custom_data", ...), 2804020, "Purchase events need"),
    ("custom_data list", _set("custom_data", []), 2804016, "custom_data must be"),
    ("float num_items", _set("custom_data.num_items", 2.0), 2804016, "num_items"),
    ("int content_ids", _set("custom_data.content_ids", [1077218]), 2804016, "content_ids"),
    ("bad content_type", _set("custom_data.content_type", "sku"), 2804016, "content_type"),
    ("contents dict", _set("custom_data.contents", {"id": "1"}), 2804021, "contents must be"),
    (
        "float quantity",
        _set("custom_data.contents", [{"id": "1", "quantity": 2.0}]),
        2804021,
        "contents[0].quantity must be an integer",
    ),
    (
        "string item_price",
        _set("custom_data.contents", [{"id": "1", "item_price": "8"}]),
        2804021,
        "item_price must be a number",
    ),
    ("content without id", _set("custom_data.contents", [{"quantity": 1}]), 2804021, ".id"),
    (
        "bad delivery",
        _set("custom_data.contents", [{"id": "1", "delivery_category": "drone"}]),
        2804021,
        "delivery_category",
    ),
    # data_processing_options
    ("LDU string", _set("data_processing_options", "LDU"), 2804022, '["LDU"]'),
    ("unknown option", _set("data_processing_options", ["XYZ"]), 2804022, '["LDU"]'),
    (
        "LDU without country",
        _set("data_processing_options_country", ...),
        2804022,
        "data_processing_options_country is required with LDU",
    ),
    (
        "string state",
        _set("data_processing_options_state", "0"),
        2804022,
        "data_processing_options_state must be",
    ),
    # shape
    ("null field", _set("custom_data.order_id", None), 2804001, "custom_data.order_id is null"),
    ("null in list", _set("user_data.em", [None]), 2804001, "user_data.em[0] is null"),
    ("unknown field", _set("event", "Purchase"), 2804001, "unknown field 'event'"),
    ("int event_id", _set("event_id", 7), 2804001, "event_id must be a string"),
    ("string opt_out", _set("opt_out", "no"), 2804001, "opt_out must be a boolean"),
]


@pytest.mark.parametrize(
    ("mutation", "subcode", "fragment"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_invalid_event_rejects_the_request(
    graph: httpx.Client, server: SandboxServer, mutation: Mutation, subcode: int, fragment: str
) -> None:
    bad = meta_event(event_id="bad")
    mutation(bad)
    response = post_events(graph, [meta_event(event_id="good"), bad])
    error = graph_error(response)
    assert (error["code"], error["type"], error["message"]) == (
        100,
        "OAuthException",
        "Invalid parameter",
    )
    assert error["error_subcode"] == subcode
    assert error["is_transient"] is False
    assert error["error_user_title"]
    assert error["error_user_msg"].startswith("data[1]: ")
    assert fragment in error["error_user_msg"]
    assert server.meta.events() == []  # the good event is not kept either
    verdicts = [(r["verdict"], r["problem"]) for r in server.meta.records()]
    assert verdicts == [("rejected", None), ("rejected", error["error_user_msg"][9:])]
    assert server.stats.meta.rejected_by_code() == {100: 1}


def test_not_an_object(graph: httpx.Client) -> None:
    error = graph_error(post_events(graph, [meta_event(), "Purchase"]))
    assert error["error_user_msg"] == "data[1]: the event is not a JSON object"


ACCEPTED = [
    ("physical store 30 days old", _both(_set("action_source", "physical_store"),
                                        _set("event_time", T0 - 30 * DAY))),
    ("just inside 7 days", _set("event_time", T0 - 7 * DAY)),
    ("clock skew", _set("event_time", T0 + 200)),
    ("custom event, no value", _set("event_name", "TrialBooked")),
    ("lead without custom_data", _both(_set("event_name", "Lead"), _set("custom_data", ...))),
    ("app without url or user agent", _both(
        _set("action_source", "app"), _set("event_source_url", ...),
        _set("user_data.client_user_agent", ...), _set("app_data", APP_DATA),
    )),
    ("no LDU", _both(
        _set("data_processing_options", []), _set("data_processing_options_country", ...),
        _set("data_processing_options_state", ...),
    )),
    ("LDU for California", _both(
        _set("data_processing_options_country", 1), _set("data_processing_options_state", 1000)
    )),
    ("string hashes", _set("user_data.em", EM)),
    ("ipv6", _set("user_data.client_ip_address", "2001:db8::1")),
    ("only an fbp", _both(_set("action_source", "chat"), _set("user_data", {"fbp": "fb.1.2.3"}))),
    ("integer value", _set("custom_data.value", 16)),
    ("custom property", _set("custom_data.coupon", "SUMMER")),
    ("no event_id", _set("event_id", ...)),
]  # fmt: skip


@pytest.mark.parametrize("mutation", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_valid_variants_are_accepted(
    graph: httpx.Client, server: SandboxServer, mutation: Mutation
) -> None:
    event = meta_event()
    mutation(event)
    response = post_events(graph, [event])
    assert response.status_code == 200, response.text
    assert server.meta.events()[0]["data"] == event


def test_first_bad_event_decides_and_records_each_reason(
    graph: httpx.Client, server: SandboxServer
) -> None:
    events = [meta_event(event_id=str(i)) for i in range(4)]
    events[2]["event_time"] = T0 - 30 * DAY
    events[3]["user_data"]["em"] = "bob@example.com"
    error = graph_error(post_events(graph, events))
    assert error["error_user_msg"] == "data[2]: event_time is more than 7 days old"
    problems = [r["problem"] for r in server.meta.records(verdicts=frozenset({"rejected"}))]
    assert problems[:3] == [None, None, "event_time is more than 7 days old"]
    assert problems[3] is not None and problems[3].startswith("user_data.em must be")


def test_time_window_follows_the_server_clock(
    graph: httpx.Client, server: SandboxServer, clock: FakeClock
) -> None:
    event = meta_event(event_time=T0 - 6 * DAY)
    assert post_events(graph, [event]).status_code == 200
    clock.advance(2 * DAY)
    error = graph_error(post_events(graph, [meta_event(event_time=T0 - 6 * DAY, event_id="x")]))
    assert error["error_subcode"] == 2804003


def test_options_relax_the_checks(clock: FakeClock) -> None:
    meta_options = MetaOptions(require_hashed_external_id=False, max_event_age_seconds=DAY)
    options = SandboxOptions(clock=clock)
    with (
        SandboxServer(options=options, meta_options=meta_options) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH) as graph,
    ):
        plain_id = meta_event()
        plain_id["user_data"]["external_id"] = "customer-42"
        assert post_events(graph, [plain_id]).status_code == 200
        error = graph_error(post_events(graph, [meta_event(event_time=T0 - 2 * DAY)]))
        assert error["error_user_msg"] == "data[0]: event_time is more than 1 day old"
    with (
        SandboxServer(options=options, meta_options=MetaOptions(validate=False)) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH) as graph,
    ):
        assert post_events(graph, [{"anything": 1}]).status_code == 200
