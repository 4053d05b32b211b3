"""Values Meta's emulator rejected after the request are invalid rows, or left out, before
anything is sent (found by fuzzing the encoder against the emulator):

- an event name of only whitespace (``'\\t\\n '``: DuckDB's ``trim`` takes spaces only) was
  sent, and refused ("event_name must be a non-empty string"): the row is invalid, ``event is
  missing``, as an empty name is;
- a blank ``fbc``, ``fbp``, ``ip`` or ``user_agent`` (``''``, or only whitespace) was sent as
  it was, and ``''`` refused ("must be a non-empty string"): it is left out of user_data, as
  a NULL one and a blank e-mail are;
- an ``ip`` that is no address (``'sku-1'``) was refused ("not a valid IPv4 or IPv6
  address"): the row is invalid, with a reason that does not quote it. What is an address is
  what Python's ``ipaddress.ip_address`` (the emulator's check) takes; ``' 192.0.2.1 '`` is
  sent trimmed, and so are ``fbc`` and ``fbp`` (a cookie's value has no whitespace around it)."""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path

import pytest

from reverse_etl.destinations.meta.catalog import CATALOG
from reverse_etl.destinations.meta.checks import IP_PATTERN
from reverse_etl.destinations.meta.rules import MetaRules
from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.sandbox import SandboxServer
from tests.test_number_fidelity import BASE, _reasons, _sync, server  # noqa: F401

from .helpers import one

IP_REASON = "ip is not an IPv4 or IPv6 address (Meta rejects its client_ip_address)"


def _errors(engine: DuckDBEngine, **cols: str | None) -> list[str]:
    found = one(engine, **cols)["errors"]
    return [] if found is None else found.split("; ")


# --- through the emulator -----------------------------------------------------------------


def test_values_meta_rejects_are_invalid_or_left_out_before_sending(
    server: SandboxServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    # From a VALUES list, so that validate (which reads literals) lets the sync run.
    fbc, fbp = "fb.1.1554763741205.AbCd", "fb.1.1558571054389.1098115397"
    rows = [
        ("e-ws", "\t\n ", None, None, None),
        ("e-sku", "Purchase", None, None, "sku-1"),
        ("e-padded", "Purchase", None, None, " 192.0.2.1 "),
        ("e-blank", "Purchase", "", "  ", ""),
        ("e-tab", "Purchase", "\t", "", "\n"),
        ("e-good", "Purchase", fbc, fbp, "::ffff:192.0.2.1"),
        ("e-zone", "Purchase", None, None, "fe80::1%eth0"),
    ]  # fmt: skip

    def sql(v: str | None) -> str:
        return "NULL" if v is None else "'" + v.replace("'", "''") + "'"

    values = ", ".join("(" + ", ".join(sql(v) for v in row) + ")" for row in rows)
    base = BASE.replace("'Purchase' AS event", "v.ev AS event")
    model = (
        f"SELECT {base}, 'USD' AS currency, 1 AS value, v.event_id, v.fbc, v.fbp, v.ip "
        f"FROM (VALUES {values}) AS v(event_id, ev, fbc, fbp, ip)"
    )
    _, meta, report = _sync(server, tmp_path, model)
    (result,) = (r for r in report.results if r.destination == "meta")
    assert (result.rejected, result.rejected_rows) == (0, [])
    assert _reasons(report, "invalid")["meta"] == {"event is missing": 1, IP_REASON: 1}
    assert set(meta) == {"e-padded", "e-blank", "e-tab", "e-good", "e-zone"}
    assert meta["e-padded"]["user_data"]["client_ip_address"] == "192.0.2.1"
    for blank in ("e-blank", "e-tab"):
        user = meta[blank]["user_data"]
        assert not {"fbc", "fbp", "client_ip_address"} & set(user), user
    good = meta["e-good"]["user_data"]
    assert good["client_ip_address"] == "::ffff:192.0.2.1"
    assert (good["fbc"], good["fbp"]) == (fbc, fbp)
    assert meta["e-zone"]["user_data"]["client_ip_address"] == "fe80::1%eth0"


# --- the row checks -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["'\t\n '", "'\r'", "'\u00a0'", "'\u2003 \u3000'", "''"])
def test_an_event_name_of_whitespace_is_missing(engine: DuckDBEngine, name: str) -> None:
    assert _errors(engine, event=name) == ["event is missing"]


@pytest.mark.parametrize("column", ["ip", "fbc", "fbp", "user_agent"])
@pytest.mark.parametrize("value", ["''", "'  '", "'\t\n'", "'\u00a0'"])
def test_a_blank_unhashed_identifier_is_left_out(
    engine: DuckDBEngine, column: str, value: str
) -> None:
    row = one(engine, action_source="'physical_store'", email="'a@b.io'", **{column: value})
    assert row["errors"] is None
    key = {"ip": "client_ip_address", "user_agent": "client_user_agent"}.get(column, column)
    assert key not in row["payload"]["user_data"]


def test_a_blank_user_agent_is_missing_on_a_website_row(engine: DuckDBEngine) -> None:
    # left out, so missing: as '  ' was (a non-breaking space was sent, matching no one)
    assert _errors(engine, user_agent="'\u00a0'") == [
        "user_agent is missing: Meta needs client_user_agent on website events"
    ]


def test_blank_identifiers_alone_are_no_customer_information(engine: DuckDBEngine) -> None:
    row = one(engine, action_source="'physical_store'", user_agent="''", ip="''", fbp="' '")
    assert row["errors"] is not None
    assert row["errors"].startswith("no customer information")


@pytest.mark.parametrize(
    "ip",
    ["sku-1", "192.0.2.1 x", "01.2.3.4", "256.1.1.1", "1.2.3", "::1%", ":::", "fe80::1%eth0/64"],
)
def test_an_ip_that_is_no_address_makes_the_row_invalid(engine: DuckDBEngine, ip: str) -> None:
    assert _errors(engine, ip=f"'{ip}'") == [IP_REASON]


@pytest.mark.parametrize(
    "ip", ["192.0.2.1", "0.0.0.0", "::", "::1", "2001:DB8::1", "::ffff:192.0.2.1", "fe80::1%eth0"]
)
def test_an_address_is_sent(engine: DuckDBEngine, ip: str) -> None:
    row = one(engine, ip=f"'{ip}'")
    assert row["errors"] is None
    assert row["payload"]["user_data"]["client_ip_address"] == ip


@pytest.mark.parametrize("ip", [" 192.0.2.1", "192.0.2.1 ", "\t::1\n"])
def test_an_address_with_whitespace_around_it_is_sent_trimmed(
    engine: DuckDBEngine, ip: str
) -> None:
    row = one(engine, ip=f"'{ip}'")
    assert row["errors"] is None
    assert row["payload"]["user_data"]["client_ip_address"] == ip.strip()


# --- the SQL pattern against Python's ipaddress -------------------------------------------


def _python_takes(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return True


KNOWN = [
    "1.2.3.4", "255.255.255.255", "0.0.0.0", "256.0.0.0", "1.2.3.04", "01.2.3.4", "1.2.3",
    "1.2.3.4.5", "1.2.3.4%eth0", "\u0661.2.3.4", " 1.2.3.4", "1.2.3.4\n", "::", "::1", "1::",
    ":1::", "1:::2", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8::", "1:2:3:4:5:6:7:8:9", "12345::", "g::", "::ffff:1.2.3.4",
    "::ffff:01.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6::1.2.3.4",
    "1:2:3:4:5::1.2.3.4", "1.2.3.4::", "fe80::1%eth0", "fe80::1%", "fe80::1%%x",
    "fe80::1%a b", "fe80::1%é", "FE80::ABCD", "sku-1", "", "localhost",
]  # fmt: skip


def test_the_ip_pattern_takes_what_python_takes(engine: DuckDBEngine) -> None:
    rnd = random.Random(7)  # seeded: the same strings every run
    parts = ["", "0", "1", "ff", "FFFF", "12345", "g", "00", "1.2.3.4", "256.1.1.1", "01.2.3.4"]
    made = {":".join(rnd.choice(parts) for _ in range(rnd.randint(1, 10))) for _ in range(5000)}
    octets = ["0", "9", "10", "99", "100", "199", "249", "250", "255", "256", "00", "010", "a"]
    made |= {".".join(rnd.choice(octets) for _ in range(rnd.randint(3, 5))) for _ in range(2000)}
    made |= {s + "%" + rnd.choice(["eth0", "", "1"]) for s in list(made)[:500]}
    candidates = sorted(set(KNOWN) | made)
    sql = f"SELECT s, regexp_full_match(s, {IP_PATTERN}) FROM unnest(?::VARCHAR[]) AS t(s)"
    got = dict(engine.rows(sql, [candidates]))
    assert sum(map(_python_takes, candidates)) > 200  # both kinds, not only refusals
    assert [s for s in candidates if got[s] != _python_takes(s)] == []


# --- validate ------------------------------------------------------------------------------


def test_validate_refuses_an_ip_literal_that_is_no_address() -> None:
    rules, ip = MetaRules("website"), CATALOG.by_column["ip"]
    (issue,) = rules.value_issues(ip, ["sku-1", "192.0.2.1"])
    assert (issue.severity, issue.message) == ("error", IP_REASON)
    assert "sku" not in str(issue.hint or "")
    assert rules.value_issues(ip, ["", "  ", "192.0.2.1", "fe80::1%eth0"]) == []
    # sent trimmed, so taken trimmed (a padded literal failed the whole sync at validate)
    assert rules.value_issues(ip, [" 192.0.2.1 ", "\t::1\n"]) == []


@pytest.mark.parametrize("column", ["fbc", "fbp"])
@pytest.mark.parametrize("pad", [" ", "\t", "\n ", "\u00a0"])
def test_a_cookie_is_sent_without_the_whitespace_around_it(
    engine: DuckDBEngine, column: str, pad: str
) -> None:
    """Whitespace around a cookie's value is never part of it (a browser strips it, RFC 6265
    §5.2): ' fb.1.<time>.<fbclid> ' from a CSV or a CHAR(n) column was sent as it was, and
    matched no click or browser."""
    cookie = "fb.1.1558571054389.1098115397"
    row = one(engine, **{column: f"'{pad}{cookie}{pad}'"})
    assert row["errors"] is None
    assert row["payload"]["user_data"][column] == cookie
