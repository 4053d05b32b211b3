"""Row checks as SQL: the rules Meta enforces, caught before anything is sent.

Each check is a SQL fragment yielding its reason when a row fails it (NULL otherwise); the
encoder joins them into ``__errors`` (the row is invalid: ``skip_invalid_record`` decides
what that does to the run) and ``__warnings`` (the row is sent). Reasons never quote PII:
they name the column. They read the encoder's first layer (``encode._prepared``): the row's
action_source and event_time, and each hashed value as sent. Pure: this module only writes
SQL.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from reverse_etl.destinations.catalog import Hashing, Kind
from reverse_etl.destinations.meta.catalog import CONTENT_FIELDS, EXTINFO_LENGTH, EXTINFO_VERSIONS
from reverse_etl.destinations.meta.encode import (
    ACTION_SOURCE,
    EVENT_TIME,
    JSON_CONTENTS,
    NEVER_HASHED,
    USER_DATA_JSON,
    EncodeSpec,
    content_fields,
    country_sql,
    email_ok_name,
    extinfo_json_items,
    sent_name,
    text_name,
)
from reverse_etl.destinations.meta.mapping import ColumnMapping, MappedColumn
from reverse_etl.destinations.meta.normalise import (
    LEFT_OUT,
    LEFT_OUT_FIX,
    ZIP_NOT_US,
    ZIP_NUMBER,
    hashed,
    text,
    whole_number,
    zip_digits,
)
from reverse_etl.destinations.meta.rules import NOT_A_CURRENCY
from reverse_etl.destinations.meta.vocab import (
    ACTION_SOURCES,
    CURRENCIES,
    DELIVERY_CATEGORIES,
    MAX_AGE_DAYS,
    MAX_AGE_DAYS_PHYSICAL_STORE,
    NOT_ISO_CURRENCY,
    STANDARD_EVENTS,
)
from reverse_etl.destinations.shared.blanks import has_value
from reverse_etl.destinations.shared.contents_json import (
    is_json_text,
    not_objects,
    not_struct_items,
    sent_values,
    unparsed_warnings,
    when_json,
)
from reverse_etl.destinations.shared.json_ids import not_ids
from reverse_etl.destinations.shared.sql import (
    MILLISECONDS_FROM,
    already_hashed,
    always_parses,
    blank,
    blank_event_id_warning,
    boolean,
    control_character_checks,
    email_ok,
    empty_key_checks,
    ident,
    inexact_id_checks,
    inexact_item_checks,
    integer,
    is_list,
    lit,
    number,
    one_of,
    strip,
)

if TYPE_CHECKING:
    import pyarrow as pa  # imported where rows are handled: validate starts without it (#18)

# Meta refuses an event_time in the future; a few minutes allow for clocks that disagree.
FUTURE_SKEW_SECONDS = 300
# make_timestamp() takes microseconds as BIGINT: seconds before year 1 would overflow it.
_YEAR_ONE = -62_135_596_800


def _ip_pattern() -> str:
    """RE2 for what Python's ``ipaddress.ip_address`` takes (Meta's check of
    client_ip_address): a dotted quad of 0-255 without leading zeros; eight hextets, or fewer
    around one ``::`` standing for at least one, the last two possibly a dotted quad
    (``::ffff:192.0.2.1``); an IPv6 zone id (``fe80::1%eth0``: anything but ``%`` and ``/``,
    which ``ipaddress`` refuses there)."""
    octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    v4 = rf"{octet}(\.{octet}){{3}}"
    h = "[0-9A-Fa-f]{1,4}"
    forms = [f"({h}:){{7}}{h}", f"({h}:){{6}}{v4}"]
    for left in range(8):  # hextets before the "::", at most 7 between both sides
        room = 7 - left
        lhs = f"({h}:){{{left - 1}}}{h}" if left else ""
        rhs = [f"{h}(:{h}){{0,{room - 1}}}"] if room >= 1 else []
        rhs += [f"({h}:){{0,{room - 2}}}{v4}"] if room >= 2 else []
        tail = f"({'|'.join(rhs)})?" if rhs else ""
        forms.append(f"{lhs}::{tail}")
    v6 = f"({'|'.join(forms)})(%[^%/]+)?"
    return lit(f"({v4}|{v6})")


IP_PATTERN = _ip_pattern()

_PARSERS = {
    Kind.NUMBER: (number, "a number"),
    Kind.INTEGER: (integer, "an integer"),
    Kind.BOOLEAN: (boolean, "a boolean"),
}


def _reason(cond: str, text_sql: str) -> str:
    """A SQL fragment yielding ``text_sql`` (a SQL string expression) when ``cond`` holds."""
    return f"CASE WHEN {cond} THEN {text_sql} END"


def _quoted(expr: str) -> str:
    return f"'''' || {expr} || ''''"


def _blank(expr: str) -> str:
    """SQL: NULL or only whitespace (the encoder's ``blank``: what it leaves out)."""
    return blank(expr)


def _utc_text(seconds: str) -> str:
    """SQL for Unix ``seconds`` as ISO 8601 UTC text (the raw number before year 1)."""
    iso = f"strftime(make_timestamp(({seconds}) * 1000000), '%Y-%m-%dT%H:%M:%SZ')"
    raw = f"CAST({seconds} AS VARCHAR) || ' (Unix seconds)'"
    return f"CASE WHEN ({seconds}) >= {_YEAR_ONE} THEN {iso} ELSE {raw} END"


def _future_fix(t: pa.DataType) -> str:
    """The end of the reason of an event_time in the future, with the likely fix for the
    column's type (``t``): a TIMESTAMP without a zone is read as UTC."""
    import pyarrow as pa

    ahead = FUTURE_SKEW_SECONDS // 60
    said = f" is in the future, which Meta refuses (more than {ahead} minutes ahead)"
    if pa.types.is_timestamp(t) and t.tz is None:
        return (
            f"{said}: a TIMESTAMP is read as UTC, so if the column holds local time make it a "
            "TIMESTAMPTZ in the model (or the time in UTC)"
        )
    return f"{said}: check the column's time zone and the warehouse's clock"


def _time_checks(m: MappedColumn, t: pa.DataType, spec: EncodeSpec) -> list[str]:
    import pyarrow as pa

    et, source, now = ident(EVENT_TIME), ident(ACTION_SOURCE), spec.now_sql
    store = lit("physical_store")
    max_age = (
        f"CASE WHEN {source} = {store} THEN {MAX_AGE_DAYS_PHYSICAL_STORE * 86400} "
        f"ELSE {MAX_AGE_DAYS * 86400} END"
    )
    days = (
        f"CASE WHEN {source} = {store} THEN '{MAX_AGE_DAYS_PHYSICAL_STORE} days (physical_store)'"
        f" ELSE '{MAX_AGE_DAYS} days' END"
    )
    out = [
        _reason(f"{et} IS NULL", lit("event_time is missing or not a time")),
        # Milliseconds are in the future too: said once, as milliseconds (below). Quoted, as
        # an old one is: a time some hours ahead is most often local time read as UTC.
        _reason(
            f"{et} > {now} + {FUTURE_SKEW_SECONDS}"
            + (f" AND {et} <= {MILLISECONDS_FROM}" if pa.types.is_integer(t) else ""),
            f"'event_time ' || {_utc_text(et)} || {lit(_future_fix(t))}",
        ),
        # The time is not PII: it is quoted so that an old backfill is easy to recognise.
        _reason(
            f"{et} < {now} - {max_age}",
            f"'event_time ' || {_utc_text(et)} || ' is older than Meta takes (' || {days} || ')'",
        ),
    ]
    if pa.types.is_integer(t):
        out.append(
            _reason(
                f"{et} > {MILLISECONDS_FROM}",
                lit("event_time looks like milliseconds: send Unix seconds"),
            )
        )
    return out


def _event_checks(column: str) -> tuple[list[str], list[str]]:
    ev = f"CAST({ident(column)} AS VARCHAR)"
    # Blank is whitespace as Meta's ``str.strip`` has it: tabs and line breaks too.
    errors = [_reason(_blank(ev), lit("event is missing"))]
    # A name that spells a standard event once case, spaces and punctuation are ignored
    # (purchase, add_to_cart) is sent as a custom event, which Meta does not optimise for.
    squashed = {re.sub("[^a-z0-9]", "", n.lower()): n for n in sorted(STANDARD_EVENTS)}
    branches = " ".join(
        f"WHEN {lit(s)} THEN CASE WHEN {ev} = {lit(n)} THEN NULL ELSE "
        f"'event ' || {_quoted(ev)} || {lit(f' is sent as a custom event: did you mean {n!r}?')}"
        " END"
        for s, n in sorted(squashed.items())
    )
    squash = f"lower(regexp_replace({ev}, '[^A-Za-z0-9]', '', 'g'))"
    return errors, [f"CASE {squash} {branches} END"]


def _source_checks(cols: dict[str, MappedColumn], schema: pa.Schema) -> list[str]:
    """action_source values, and what a website or an app event needs beside the rest."""
    source = ident(ACTION_SOURCE)
    out = []
    if "action_source" in cols:
        out.append(
            _reason(
                f"NOT {one_of(source, ACTION_SOURCES)}",
                f"'action_source ' || {_quoted(source)} || ' is not one of Meta''s action sources'",
            )
        )
    for param, field in (("page_url", "event_source_url"), ("user_agent", "client_user_agent")):
        missing = _blank(ident(cols[param].column)) if param in cols else "TRUE"
        out.append(
            _reason(
                f"{source} = 'website' AND {missing}",
                lit(f"{param} is missing: Meta needs {field} on website events"),
            )
        )
    for param in ("advertiser_tracking_enabled", "application_tracking_enabled", "extinfo"):
        if param not in cols:
            missing = "TRUE"
        elif param == "extinfo":  # a value that is no list is said so (_extinfo_checks)
            missing = f"{ident(cols[param].column)} IS NULL"
        else:  # a flag written as blank text is left out, as a NULL one: missing too
            m = cols[param]
            missing = f"NOT {has_value(ident(m.column), schema.field(m.column).type)}"
        out.append(
            _reason(
                f"{source} = 'app' AND {missing}",
                lit(f"{param} is missing: Meta needs app_data.{param} on app events"),
            )
        )
    return out


def _extinfo_checks(m: MappedColumn, t: pa.DataType) -> list[str]:
    """extinfo, when given: a list of 16 values, a2 or i2 first, the OS version (4) given.
    A JSON one (a json or jsonb column) is judged on the array it holds, as sent."""
    col = ident(m.column)
    not_a_list = _reason(
        f"{col} IS NOT NULL",
        lit(f"extinfo is not a list (Meta needs an array of {EXTINFO_LENGTH} values)"),
    )
    if is_json_text(t):
        kind = f"coalesce(json_type({col}), 'NULL')"  # a JSON null is no list either
        nested = f"list_has_any(json_type({col}, '$[*]'), ['OBJECT', 'ARRAY'])"
        json_checks = [
            _reason(
                f"{col} IS NOT NULL AND {kind} <> 'ARRAY'",
                lit(f"extinfo is not a list (Meta needs an array of {EXTINFO_LENGTH} values)"),
            ),
            _reason(
                f"{kind} = 'ARRAY' AND {nested}",
                lit("extinfo holds an object or a list: Meta needs text values"),
            ),
            *_extinfo_list_checks(extinfo_json_items(col)),
        ]
        return [
            when_json(col, c, not_a_list if i == 0 else "NULL") for i, c in enumerate(json_checks)
        ]
    if not is_list(t):
        return [not_a_list]
    return _extinfo_list_checks(col)


def _extinfo_list_checks(col: str) -> list[str]:
    """``col``: SQL for the extinfo as a list (NULL: nothing to say)."""
    version = f"coalesce(CAST({col}[1] AS VARCHAR), '')"
    return [
        _reason(
            f"len({col}) <> {EXTINFO_LENGTH}",
            f"'extinfo has ' || len({col}) || "
            + lit(
                f" values: Meta needs exactly {EXTINFO_LENGTH}, in order "
                "(empty text for one unknown)"
            ),
        ),
        _reason(
            f"len({col}) = {EXTINFO_LENGTH} AND NOT {one_of(version, EXTINFO_VERSIONS)}",
            f"'extinfo''s version (its first value) ' || {_quoted(version)} || "
            + lit(" is not a2 (Android) or i2 (iOS)"),
        ),
        _reason(
            f"len({col}) = {EXTINFO_LENGTH} AND {_blank(f'CAST({col}[5] AS VARCHAR)')}",
            lit("extinfo has no OS version (its fifth value): Meta requires it"),
        ),
    ]


def _purchase_checks(cols: dict[str, MappedColumn], schema: pa.Schema) -> list[str]:
    if "event" not in cols:
        return []
    purchase = f"CAST({ident(cols['event'].column)} AS VARCHAR) = 'Purchase'"
    out = []
    for param in ("value", "currency"):
        if param not in cols:
            missing = "TRUE"
        elif param == "value":
            m = cols[param]
            missing = f"({number(ident(m.column), schema.field(m.column).type)}) IS NULL"
        else:
            missing = _blank(ident(cols[param].column))
        out.append(
            _reason(f"{purchase} AND {missing}", lit(f"Purchase needs {param} (Meta rejects it)"))
        )
    return out


def _value_checks(m: MappedColumn, t: pa.DataType, spec: EncodeSpec) -> list[str]:
    import pyarrow as pa

    param = m.param
    if param is None:
        return []
    col = ident(m.column)
    out: list[str] = []
    if param.allowed is not None and param.name != "action_source" and not is_list(t):
        value = f"CAST({col} AS VARCHAR)"
        out.append(
            _reason(
                f"NOT {_blank(col)} AND NOT {one_of(value, sorted(param.allowed))}",
                f"{lit(param.name + ' ')} || {_quoted(value)} || ' is not accepted by Meta'",
            )
        )
    if param.name == "currency":
        code = text(col)
        out.append(
            _reason(
                f"NOT {_blank(col)} AND NOT regexp_full_match({code}, '[A-Za-z]{{3}}')",
                f"'currency ' || {_quoted(code)} || ' is not a three-letter ISO 4217 code'",
            )
        )
        # Three letters, but no currency: the text of a float's NaN or infinity (a DOUBLE
        # column, or text 'NaN' from a CSV) was sent as "NAN" or "INF" (TikTok's list of
        # currencies makes such a row invalid too).
        out.append(
            _reason(
                one_of(f"lower({code})", NOT_A_CURRENCY),
                f"'currency ' || {_quoted(code)} || "
                + lit(" is a NaN or infinite number, not an ISO 4217 code"),
            )
        )
    parser = _PARSERS.get(param.kind)
    scalar = not pa.types.is_struct(t) and not is_list(t)
    if parser is not None and scalar and not always_parses(parser[0], t):
        fn, what = parser
        out.append(
            _reason(
                f"{has_value(col, t)} AND ({fn(col, t)}) IS NULL",  # blank text: none, as NULL
                lit(f"{param.name} is not {what}"),
            )
        )
    if param.hashing is Hashing.PHONE_DIGITS:
        out.append(_phone_check(m, t, spec))
    if param.name == "ip" and not is_list(t):
        # Judged as sent (trimmed); a blank one is left out. Never quoted: it is personal.
        out.append(
            _reason(
                f"NOT {_blank(col)} AND "
                f"NOT regexp_full_match({strip(f'CAST({col} AS VARCHAR)')}, {IP_PATTERN})",
                lit("ip is not an IPv4 or IPv6 address (Meta rejects its client_ip_address)"),
            )
        )
    if param.name in NEVER_HASHED and not is_list(t):
        out.append(
            _reason(
                f"{already_hashed(text(col))}",
                lit(f"{param.name} looks like a SHA-256 hash: Meta takes it unhashed, as is"),
            )
        )
    if param.kind is Kind.CONTENTS and is_json_text(t):
        out += _json_contents_checks(m)
    scalars = not_struct_items(col, t) if param.kind is Kind.CONTENTS else None
    if scalars is not None:  # a list of text or numbers (a jsonb ['a'] read as VARCHAR[])
        out.append(_reason(scalars, lit(f"{m.column} is not a list of objects")))
    if param.kind is Kind.ID_LIST and is_json_text(t) and param.name != "extinfo":
        # JSON: an object is no ID (extinfo's own checks judge its items: _extinfo_checks)
        out.append(when_json(col, _reason(not_ids(col), lit(f"{param.name} is not a list of IDs"))))
    if param.kind is Kind.CONTENTS and is_list(t) and pa.types.is_struct(t.value_type):
        ids = content_fields(t).get("id", [])
        item_id = "NULL" if not ids else ids[0] if len(ids) == 1 else f"coalesce({', '.join(ids)})"
        out.append(
            _reason(
                f"len(list_filter({col}, x -> x IS NOT NULL AND {_blank(item_id)})) > 0",
                lit("a contents item has no id (content_id): Meta rejects it"),
            )
        )
        categories = content_fields(t).get("delivery_category", [])
        if categories:
            category = (
                categories[0] if len(categories) == 1 else f"coalesce({', '.join(categories)})"
            )
            out.append(
                _reason(f"len(list_filter({col}, x -> {_not_a_category(category)})) > 0", _CATEGORY)
            )
    return out


# A contents item's delivery_category (sent as the model has it) outside Meta's three: Meta
# refuses the whole request for one, as it does a top-level delivery_category.
_CATEGORY = lit(
    "a contents item's delivery_category is not in_store, curbside or home_delivery: "
    "Meta rejects it"
)


def _not_a_category(value: str) -> str:
    """SQL: ``value`` (the text sent, NULL when none) is no delivery category."""
    return f"NOT coalesce({one_of(value, sorted(DELIVERY_CATEGORIES))}, TRUE)"


_NO_ID = blank("json_extract_string(_v, '$')")


def _json_contents_checks(m: MappedColumn) -> list[str]:
    """A JSON contents that is not a list of objects (a number, an object, a list of
    numbers), or whose object has no id, makes its row invalid: Meta would refuse it. The id
    judged is the one sent (``sent_values``: the first of content_id and id in the object's
    order that holds one, as a struct's first field), so that a blank one is never sent."""
    col = ident(m.column)
    # blank as str.strip has it: trim() took spaces only, and an id of '\t' was sent
    no_id = f"len(list_filter({sent_values(col, JSON_CONTENTS, 'id')}, _v -> {_NO_ID})) > 0"
    categories = sent_values(col, JSON_CONTENTS, "delivery_category")
    bad_category = _not_a_category("json_extract_string(_v, '$')")
    return [
        when_json(col, _reason(not_objects(col), lit(f"{m.column} is not a list of objects"))),
        when_json(
            col, _reason(no_id, lit("a contents item has no id (content_id): Meta rejects it"))
        ),
        when_json(
            col, _reason(f"len(list_filter({categories}, _v -> {bad_category})) > 0", _CATEGORY)
        ),
    ]


def _currency_warnings(m: MappedColumn) -> list[str]:
    """A currency of three letters that is no ISO 4217 code (``RMB``): sent, with a warning
    (the errors say the rest: not three letters, a NaN's text)."""
    if m.param is None or m.param.name != "currency":
        return []
    code = text(ident(m.column))
    three = f"regexp_full_match({code}, '[A-Za-z]{{3}}')"
    known = one_of(f"upper({code})", sorted(CURRENCIES))
    not_a_number = f"NOT {one_of(f'lower({code})', NOT_A_CURRENCY)}"
    return [
        _reason(
            f"{three} AND {not_a_number} AND NOT {known}",
            f"'currency ' || {_quoted(code)} || {lit(NOT_ISO_CURRENCY)}",
        )
    ]


def _contents_warnings(m: MappedColumn, t: pa.DataType) -> list[str]:
    """A contents item's price or quantity that does not parse (``'abc'``, ``2.5``) is left
    out of the item: said, as a warning, rather than silently."""
    import pyarrow as pa

    if m.param is None or m.param.kind is not Kind.CONTENTS:
        return []
    if is_json_text(t):
        keys = ((key, kind) for key, (_, kind) in JSON_CONTENTS.keys.items())
        return unparsed_warnings(ident(m.column), keys)
    if not is_list(t) or not pa.types.is_struct(t.value_type):
        return []
    parsers = {"item_price": (number, "a number"), "quantity": (integer, "an integer")}
    out = []
    for f in t.value_type:
        target = CONTENT_FIELDS.get(f.name)
        if target not in parsers or always_parses(parsers[target][0], f.type):
            continue
        fn, what = parsers[target]
        x = f"x.{ident(f.name)}"
        unparsed = f"{x} IS NOT NULL AND ({fn(x, f.type)}) IS NULL"
        bad = f"len(list_filter({ident(m.column)}, x -> {unparsed})) > 0"
        out.append(_reason(bad, lit(f"a contents item's {f.name} is not {what} (left out)")))
    return out


def _phone_check(m: MappedColumn, t: pa.DataType, spec: EncodeSpec) -> str:
    col = ident(m.column)
    if is_list(t):
        one = hashed("x", t.value_type, m.path[-1], region=spec.default_phone_region)
        bad = f"len(list_filter({col}, x -> {strip('x')} <> '' AND ({one}) IS NULL)) > 0"
    else:
        bad = f"{ident(text_name(m.column))} <> '' AND {ident(sent_name(m.column))} IS NULL"
    hint = (
        ""
        if spec.default_phone_region
        else " (write it with its country code, or set default_phone_region)"
    )
    name = m.param.name if m.param is not None else m.column
    return _reason(bad, lit(f"{name} is not a valid phone number{hint}"))


def _identity_warnings(m: MappedColumn, t: pa.DataType, country: str | None) -> list[str]:
    """A value that cannot match anyone: a malformed e-mail (sent, hashed), a value with no
    normal form (left out). ``country``: SQL for the row's normalised country (a ZIP's)."""
    import pyarrow as pa

    param = m.param
    if param is None or param.hashing is Hashing.NONE:
        return []
    col = ident(m.column)
    if param.hashing is Hashing.EMAIL:
        if is_list(t):
            x = strip("x")
            bad = f"len(list_filter({col}, x -> {x} <> '' AND NOT {email_ok(x)})) > 0"
        else:
            v = ident(text_name(m.column))
            bad = f"{v} <> '' AND NOT {ident(email_ok_name(m.column))}"
        return [
            _reason(bad, lit(f"{param.name} is not an e-mail address (sent, but matches no one)"))
        ]
    why = LEFT_OUT.get(m.path[-1])
    if why is None or is_list(t):
        return []
    if pa.types.is_date(t) or pa.types.is_timestamp(t):  # NULL: only for 'infinity'
        bad = f"{col} IS NOT NULL AND {ident(sent_name(m.column))} IS NULL"
    else:
        bad = f"{ident(text_name(m.column))} <> '' AND {ident(sent_name(m.column))} IS NULL"
    fix = LEFT_OUT_FIX.get(m.path[-1])
    left_out = f"left out: {fix}" if fix else "left out"
    reason = lit(f"{param.name} {why} ({left_out})")
    if m.path[-1] != "zp":
        return [_reason(bad, reason)]
    v = ident(text_name(m.column))
    return _zip_warnings(param.name, v, t, country=country, bad=bad, empty=reason)


def _zip_warnings(
    name: str, v: str, t: pa.DataType, *, country: str | None, bad: str, empty: str
) -> list[str]:
    """A ZIP left out: empty once normalised, or a US row's that is no ZIP (``zip_form``);
    an integer's that may be a US ZIP short of its leading zeros where the row names no
    country (sent as is: it may be another country's four-digit code)."""
    z = zip_digits(v)
    out = [_reason(bad, f"CASE WHEN {z} = '' THEN {empty} ELSE {lit(f'{name} {ZIP_NOT_US}')} END")]
    if whole_number(t):
        unknown = "TRUE" if country is None else f"{country} IS NULL"
        short = rf"regexp_full_match({z}, '\d{{1,4}}|\d{{6,8}}')"
        out.append(_reason(f"{v} <> '' AND {unknown} AND {short}", lit(f"{name} {ZIP_NUMBER}")))
    return out


def _inexact_other_ids(mapping: ColumnMapping, schema: pa.Schema, done: set[str]) -> list[str]:
    """A reason when an ID other than the key and event_id (``done``) is of a float type past
    the whole numbers it holds exactly (``inexact_id_checks``): lead_id, order_id ..., an item
    of content_ids, a contents item's id (an external_id must be text: validate refuses a
    number). A 19-digit ID as a DOUBLE was sent rounded, as another one's. Decided on the
    column's type: no SQL for other types."""
    import pyarrow as pa

    scalars: list[str] = []
    out: list[str] = []
    for m in mapping.columns:
        param = m.param
        if param is None or m.column in done:
            continue
        t = schema.field(m.column).type
        col = ident(m.column)
        if param.kind in (Kind.ID, Kind.ID_LIST):
            if is_list(t):
                out += inexact_item_checks(col, t.value_type, "x", f"an item of {param.name}")
            else:
                scalars.append(m.column)
        elif param.kind is Kind.CONTENTS and is_list(t) and pa.types.is_struct(t.value_type):
            for f in t.value_type:
                if CONTENT_FIELDS.get(f.name) == "id":
                    x, what = f"x.{ident(f.name)}", f"a contents item's {f.name}"
                    out += inexact_item_checks(col, f.type, x, what)
    return inexact_id_checks(tuple(scalars), None, schema) + out


# C0 control characters and DEL (RE2 syntax, in a SQL string): NUL from a CSV, say.
def row_checks(
    mapping: ColumnMapping, schema: pa.Schema, spec: EncodeSpec, key_sql: str
) -> tuple[list[str], list[str]]:
    """(error fragments, warning fragments) for every row."""
    # Duplicate keys are found afterwards, on the keys alone (a window function here would
    # hold every column of every row in memory).
    errors = [_reason(f"({key_sql}) IS NULL", lit("primary key is null"))]
    errors += empty_key_checks(spec.key_columns, schema)
    warnings: list[str] = []
    cols = mapping.by_param()
    event_id = cols.get("event_id")
    event_id_column = event_id.column if event_id is not None else None
    errors += control_character_checks(spec.key_columns, event_id_column, schema)
    errors += inexact_id_checks(spec.key_columns, event_id_column, schema)
    errors += _inexact_other_ids(mapping, schema, {*spec.key_columns, event_id_column or ""})
    if event_id is not None and len(event_id.path) == 1:
        warnings += blank_event_id_warning(spec.key_columns, event_id.column, schema)
    if "event" in cols:
        event_errors, event_warnings = _event_checks(cols["event"].column)
        errors += event_errors
        warnings += event_warnings
    if "event_time" in cols:
        m = cols["event_time"]
        errors += _time_checks(m, schema.field(m.column).type, spec)
    errors += _source_checks(cols, schema)
    errors += _purchase_checks(cols, schema)
    country = country_sql(mapping, schema, alias="")
    for m in mapping.columns:
        t = schema.field(m.column).type
        if m.param is not None and m.param.name == "extinfo":
            errors += _extinfo_checks(m, t)
        errors += _value_checks(m, t, spec)
        warnings += _identity_warnings(m, t, country)
        warnings += _contents_warnings(m, t)
        warnings += _currency_warnings(m)
    errors.append(
        _reason(
            f"{ident(USER_DATA_JSON)} IS NULL",
            lit(
                "no customer information: Meta needs at least one user_data parameter "
                "(email, phone, external_id, fbc, fbp, ip, user_agent …)"
            ),
        )
    )
    return errors, warnings
