"""Meta's :class:`~reverse_etl.destinations.base.ColumnRules`: what ``retl validate`` reads of
the Meta catalog for one destination (its ``action_source`` decides what is required).

The mapping and key logic are the very functions a sync uses (``mapping.py``,
``encode.key_columns_for``), so validate cannot disagree with a sync.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from reverse_etl.config.suggest import did_you_mean
from reverse_etl.destinations.catalog import (
    Catalog,
    ColumnIssue,
    ColumnMapping,
    ContentKey,
    ParamSpec,
    missing_required,
)
from reverse_etl.destinations.meta.catalog import (
    ALL,
    CATALOG,
    CONTENT_KEYS,
    OBJECTS,
    OPEN_OBJECTS,
)
from reverse_etl.destinations.meta.mapping import key_only_columns, map_columns
from reverse_etl.destinations.meta.vocab import CURRENCIES, NOT_ISO_CURRENCY, STANDARD_EVENTS
from reverse_etl.destinations.shared.rows import key_columns_for

# Any one of these lets Meta match an event to a person well; ip only with user_agent.
IDENTIFIERS = ("email", "phone", "external_id", "fbc", "fbp", "lead_id", "madid", "anon_id")
GENDERS = frozenset({"f", "m", "female", "male"})
# The texts of a float's NaN and infinity (lower-case): three letters, so the three-letter
# rule takes them, but no ISO 4217 code (a DOUBLE NaN was sent as currency "NAN").
NOT_A_CURRENCY = ("inf", "nan")


@dataclass
class MetaRules:
    """The column rules of a ``meta_conversions`` destination whose action_source is
    ``source``."""

    source: str
    platform: str = "Meta"
    catalog: Catalog = CATALOG
    objects: tuple[str, ...] = OBJECTS
    open_objects: frozenset[str] = OPEN_OBJECTS
    content_keys: tuple[ContentKey, ...] = CONTENT_KEYS

    def map_columns(self, names: Sequence[str], *, ignore: Sequence[str] = ()) -> ColumnMapping:
        return map_columns(names, self.source, catalog=self.catalog, ignore=ignore)

    def key_columns(
        self,
        names: Sequence[str],
        configured: Sequence[str] | None,
        model_key: Sequence[str] | None,
    ) -> tuple[tuple[str, ...], bool] | None:
        return key_columns_for(names, configured, model_key)

    def key_only_columns(self, keys: Sequence[str]) -> list[str]:
        return key_only_columns(keys, catalog=self.catalog)

    def required(self) -> list[ParamSpec]:
        """event and event_time; website events also page_url and user_agent (a row whose
        own action_source is not website may leave them NULL)."""
        return self.catalog.required(self.source)

    def missing_required(self, mapped: Mapping[str, Collection[str] | None]) -> list[ColumnIssue]:
        """As :meth:`required` says, unless an ``action_source`` column gives each row its
        own source. Then what every source needs is required; what some sources need
        (website's page_url and user_agent) is required when the column's values are known
        and include one of them, else a warning: rows of such a source without it are
        invalid, each with its reason (meta/checks.py), while the others are sent."""
        if "action_source" not in mapped:
            return missing_required(self.required(), mapped, self.source)
        everywhere = [p for p in self.catalog.params if p.required_for >= ALL]
        # not "website events need one" where the rows say app: every event needs them
        issues = missing_required(everywhere, mapped, "all")
        values = mapped["action_source"]
        named = {v.strip().lower() for v in values} if values is not None else None
        for p in self.catalog.params:
            if not p.required_for or p.required_for >= ALL or p.name in mapped:
                continue
            needing = sorted(p.required_for)
            if named is not None:
                hit = sorted(named & p.required_for)
                if hit:
                    issues.append(
                        ColumnIssue(
                            "",
                            f"no '{p.name}' column: {' and '.join(hit)} events need one",
                            f"add `... AS {p.name}` to the model's SELECT",
                            rule="missing-required",
                        )
                    )
                elif "" in named and self.source in p.required_for:
                    # a NULL or blank action_source is the destination's (meta/encode.py)
                    issues.append(
                        ColumnIssue(
                            "",
                            f"no '{p.name}' column: rows whose action_source is NULL or "
                            f"blank are {self.source} events (the destination's "
                            "action_source), which need one (those rows will be invalid; "
                            "the others are sent)",
                            f"add `... AS {p.name}` to the model's SELECT, or give every "
                            "row its action_source (an ELSE to its CASE)",
                            severity="warning",
                            rule="missing-required",
                        )
                    )
                continue
            issues.append(
                ColumnIssue(
                    "",
                    f"no '{p.name}' column: rows whose action_source is "
                    f"{' or '.join(needing)} need one (those rows will be invalid; the "
                    "others are sent)",
                    f"add `... AS {p.name}` to the model's SELECT, or make sure no row's "
                    f"action_source is {' or '.join(needing)}",
                    severity="warning",
                    rule="missing-required",
                )
            )
        return issues

    def identifier_issues(self, params: set[str]) -> list[ColumnIssue]:
        if params & set(IDENTIFIERS) or {"ip", "user_agent"} <= params:
            return []
        return [
            ColumnIssue(
                "",
                "no column identifies the person well (email, phone, external_id, fbc, fbp, "
                "lead_id, madid, anon_id, or ip with user_agent): Meta may match few of these "
                "events",
                "add at least one; e-mail, phone and external_id are hashed before sending",
                severity="warning",
                rule="no-identifier",
            )
        ]

    def value_issues(self, param: ParamSpec, values: Iterable[str]) -> list[ColumnIssue]:
        """Event names (standard or custom), then fixed vocabularies, currency codes, IP
        addresses and genders. A blank value (empty, or only whitespace) of any other
        parameter is sent as a NULL one is, left out (``shared/blanks.py``): nothing to say."""
        values = sorted(values)
        if param.name == "event":
            return check_events(values)
        values = [v for v in values if v.strip()]
        if param.allowed is not None:
            return _allowed(param, values)
        if param.name == "currency":
            return _currency_issues(values)
        if param.name == "ip" and any(not _is_ip(v.strip()) for v in values if v.strip()):
            # The SQL check (checks.py IP_PATTERN) takes what this takes, trimmed as it is
            # sent; never quoted.
            return [
                _issue(
                    "allowed-value",
                    "error",
                    "ip is not an IPv4 or IPv6 address (Meta rejects its client_ip_address)",
                )
            ]
        if param.name == "gender":
            return [
                _issue(
                    "allowed-value",
                    "warning",
                    f"gender '{v}' is not f, m, female or male: it is left out",
                )
                for v in values
                if v.strip().lower() not in GENDERS
            ]
        return []


def _currency_issues(values: Iterable[str]) -> list[ColumnIssue]:
    """Not three letters, or a NaN's or infinity's text: an error (the row is invalid); three
    letters but no ISO 4217 code (``RMB``): a warning (the row is sent, as checks.py says)."""
    out = []
    for v in values:
        code = v.strip()
        if code.lower() in NOT_A_CURRENCY:
            message = f"currency '{v}' is a NaN or infinite number, not an ISO 4217 code"
            out.append(_issue("allowed-value", "error", message, "e.g. 'USD' or 'EUR'"))
        elif not re.fullmatch(r"[A-Za-z]{3}", code):
            message = f"currency '{v}' is not a three-letter ISO 4217 code"
            out.append(_issue("allowed-value", "error", message, "e.g. 'USD' or 'EUR'"))
        elif code.upper() not in CURRENCIES:
            out.append(_issue("allowed-value", "warning", f"currency '{v}'{NOT_ISO_CURRENCY}"))
    return out


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _squash(name: str) -> str:
    return re.sub("[^a-z0-9]", "", name.lower())


def check_events(values: Iterable[str]) -> list[ColumnIssue]:
    """Meta takes any event name: a custom one is a note, one that spells a standard event
    differently (``purchase``) a warning, an empty one an error."""
    squashed = {_squash(n): n for n in STANDARD_EVENTS}
    out: list[ColumnIssue] = []
    for name in sorted(values):
        if name in STANDARD_EVENTS:
            continue
        if not name.strip():
            out.append(_issue("event-name", "error", "event name is empty"))
        elif _squash(name) in squashed:
            meant = squashed[_squash(name)]
            out.append(
                _issue(
                    "custom-event",
                    "warning",
                    f"event '{name}' is sent as a custom event: Meta's standard event is '{meant}'",
                    f"did you mean '{meant}'?",
                )
            )
        else:
            out.append(
                _issue(
                    "custom-event",
                    "note",
                    f"event '{name}' is not a Meta standard event: it is sent as a custom event",
                )
            )
    return out


def _allowed(param: ParamSpec, values: Iterable[str]) -> list[ColumnIssue]:
    assert param.allowed is not None
    out = []
    for value in values:
        if value not in param.allowed:
            hint = did_you_mean(value, param.allowed)
            if hint is None and len(param.allowed) <= 9:
                hint = "accepted: " + ", ".join(sorted(param.allowed))
            out.append(
                _issue(
                    "allowed-value",
                    "error",
                    f"{param.name} '{value}' is not accepted by Meta",
                    hint or "see docs/meta.md for the accepted values",
                )
            )
    return out


def _issue(rule: str, severity: str, message: str, hint: str | None = None) -> ColumnIssue:
    # About the column's values, not the model: validation says which column.
    return ColumnIssue("", message, hint, severity=severity, rule=rule)
