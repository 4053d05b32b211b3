"""Personal data inside texts retl prints: row keys, event ids, sample payloads.

A key (or event id) is PII when the platform hashes its column (an e-mail mapped to
``email``), when its column is named after personal data (``pii_name``), or when any of its
values holds an e-mail address, an international phone number or an IPv4 address
(``looks_pii``): ``'lead-' || email`` is found by its values, whatever its column is called.
The value test runs in the plan's one counting scan (``pii_value_sql``, DuckDB's RE2) and
on a typed key (Python's ``re``): one pattern, which both engines read alike (explicit
classes only, no look-around, no ``\\d`` or ``\\s``, which mean more in Python).

Such a key is shown as ``masked_key``: ``sha256:`` and the first 12 hex digits of its
SHA-256, so that ``retl runs find`` can hash what a user types and find it. Free texts
(``mask_text``) keep their shape: ``j***@example.com``, ``+44***``, ``203.***.***.***``; the
lines a command prints on stderr keep IPv4 addresses (``mask_contacts``).

No heavy import here: the emulator's feed and the local page use it too.
"""

from __future__ import annotations

import hashlib
import re

# A character of an e-mail's local part or domain: anything but controls, space, the
# separators of a URL's query and of addresses in a list, and ``@``.
_ADDR = r"[^\x00-\x20\x7f@<>\"'(),;:\[\]\\/?=&%]"
_DOMAIN = r"[^\x00-\x20\x7f@<>\"'(),;:\[\]\\/?=&%.]"
_EMAIL_VALUE = f"{_ADDR}(@|%40){_DOMAIN}+\\.{_DOMAIN}"
_PHONE_VALUE = r"(\+|%2[Bb])[ (]*[0-9]([ ().\/-]*[0-9]){6}"
_IPV4_VALUE = r"(^|[^0-9.])[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}($|[^0-9.])"
_PII_VALUE = re.compile(f"{_EMAIL_VALUE}|{_PHONE_VALUE}|{_IPV4_VALUE}")

# Names, once camelCase and punctuation are read as underscores (``clientIp`` -> client_ip).
_PII_NAME = re.compile(
    r"e_?mail|phone|mobile|msisdn|ip_?addr|(?:^|_)(?:tel|ip|ipv4|ipv6|ssn)(?:_|$)"
)


def masked_key(key: str) -> str:
    """A row key (or event id) that is PII as reports, the delivery log and errors show it:
    ``sha256:`` and the first 12 hex digits of its SHA-256."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def pii_name(column: str) -> bool:
    """Whether a key column's name says personal data (``email``, ``phone_number``,
    ``customer_msisdn``, ``client_ip``, ``ipAddress``)."""
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column)
    return _PII_NAME.search(re.sub(r"[^a-z0-9]+", "_", snake.lower())) is not None


def looks_pii(value: str) -> bool:
    """Whether a key's text holds an e-mail address, a ``+`` phone number or an IPv4
    address."""
    return _PII_VALUE.search(value) is not None


def pii_value_sql(expr: str) -> str:
    """DuckDB SQL: whether the text ``expr`` holds what ``looks_pii`` finds (NULL: false).
    The cheap ``contains`` tests go first; the pattern runs only on the rows they let by."""
    pattern = _PII_VALUE.pattern.replace("'", "''")
    tests = " OR ".join(f"contains({expr}, '{c}')" for c in ("@", "%4", "+", "%2", "."))
    return f"coalesce(({tests}) AND regexp_matches({expr}, '{pattern}'), false)"


# Free texts: each match masked where it stands. Linear in the text (a sample's value may be
# a megabyte): possessive quantifiers, a match starts only where its run starts.
_EMAIL_TEXT = re.compile(
    f"(?<!{_ADDR})({_ADDR}){_ADDR}*+(?:@|%40)({_DOMAIN}++(?:\\.{_DOMAIN}++)++)"
)
# A ``+`` that a space or ``(`` follows, after an operand (a name, a number, ``)`` or ``]``,
# then at most one space), is SQL's addition, unless a phone's groups follow it (one to four
# digits, a space or dash, more digits): ``amount + 2500000`` and ``a + 12.345`` in an error
# quoting a model stay readable; ``+44 7911 123456``, ``call bob + 44 20 7946 0958`` and
# ``'+ 44 7911 123456'`` are masked.
_OPERAND = r"[\w)\]]"
_GROUPED = r"\+[ ]*+\(?[0-9]{1,4}\)?[ -]\(?[0-9]"
_PHONE_TEXT = re.compile(
    rf"(?<![0-9])(?:(?<!{_OPERAND})(?<!{_OPERAND} )|(?=(?:\+|%2[Bb])[0-9])|(?={_GROUPED}))"
    r"(\+|%2[Bb])([ (]*+[0-9]{1,3})(?:[ ().\/-]*+[0-9]){4,}+"
)
_IPV4_TEXT = re.compile(r"(?<![0-9.])([0-9]{1,3})(?:\.[0-9]{1,3}){3}(?![0-9.])")


def mask_emails(text: str) -> str:
    """``text`` with every e-mail address masked as ``j***@example.com``."""
    return _EMAIL_TEXT.sub(r"\1***@\2", text)


def mask_contacts(text: str) -> str:
    """``text`` with e-mail addresses and ``+`` phone numbers masked, IPv4 addresses kept:
    the lines a command prints on stderr, where an address is almost always the host the
    project told retl to connect to (``cannot connect to PostgreSQL at 10.0.0.5``, ``retl may
    not connect to 10.0.0.5: RETL_ALLOWED_HOSTS ...``) and the fix needs it whole."""
    text = mask_emails(text)
    if "+" in text or "%2" in text:
        text = _PHONE_TEXT.sub(r"\1\2***", text)
    return text


def mask_text(text: str) -> str:
    """``text`` with e-mail addresses, ``+`` phone numbers and IPv4 addresses masked."""
    text = mask_contacts(text)
    if "." in text:
        text = _IPV4_TEXT.sub(r"\1.***.***.***", text)
    return text
