"""PII normalisation that SQL cannot do alone: phone numbers to E.164.

Runs as a vectorized (Arrow) UDF inside DuckDB: one call per vector of values. The plan calls
it on the distinct numbers of the rows only (``encode.phone_map_sql``), so parsing (~20 us
each with ``phonenumbers``) is paid once per distinct number; a small per-region dictionary
catches repeats within and across vectors when it is called row by row.

Email and external_id hashing, and the IDFA/GAID case rules, stay in SQL
(``sha256(lower(strip(x)))``, ``upper(strip(x))``, ``strip``: ``sql.py``'s, of the same
``WHITESPACE`` as here: ``str.strip()``'s); :func:`hash_email` and friends mirror them for tests
and docs.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

import pyarrow as pa

from reverse_etl.destinations.shared.e164 import parse_e164
from reverse_etl.destinations.shared.sql import WHITESPACE

HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def is_hashed(value: str) -> bool:
    return HEX64.fullmatch(value) is not None


# Parsed numbers kept per region (~170 bytes each, at most ~3 MB), cleared when full
# (checked once per vector, so it holds at most the limit plus one vector).
CACHE_LIMIT = 20_000
_MISS = object()
_CACHES: dict[tuple[str | None, bool], dict[str | None, str | None]] = {}


@lru_cache(maxsize=4096)
def to_e164(raw: str, default_region: str | None = None) -> str | None:
    """``raw`` as E.164 (``+12133734253``), or None when it is not a valid phone number."""
    return parse_e164(raw, default_region)


def e164_arrow(values: pa.Array, regions: pa.Array) -> pa.Array:
    """Vectorized UDF body: VARCHAR, VARCHAR -> VARCHAR (NULL when unparseable)."""
    return _e164_arrow(values, regions, False)


def e164_digits_arrow(values: pa.Array, regions: pa.Array) -> pa.Array:
    """``e164_arrow``, digits alone read as international when they are no national number
    (``parse_e164``'s ``digits_international``: Meta's documented form)."""
    return _e164_arrow(values, regions, True)


def _e164_arrow(values: pa.Array, regions: pa.Array, digits: bool) -> pa.Array:
    raw = values.to_pylist()
    distinct = regions.unique()
    if len(distinct) == 1:  # the encoder passes one literal region: the usual case
        return pa.array(e164_many(raw, distinct[0].as_py() or None, digits), type=pa.string())
    region_list = regions.to_pylist()
    out = [e164_many([v], r or None, digits)[0] for v, r in zip(raw, region_list, strict=True)]
    return pa.array(out, type=pa.string())


def e164_many(
    raw: list[str | None], region: str | None, digits_international: bool = False
) -> list[str | None]:
    """``to_e164`` of each value (None stays None): a dictionary lookup per value, a parse per
    value not seen before."""
    key = (region, digits_international)
    cache = _CACHES.get(key)
    if cache is None or len(cache) > CACHE_LIMIT:
        cache = _CACHES[key] = {None: None}
    get = cache.get
    out: list[Any] = [get(v, _MISS) for v in raw]
    if any(r is _MISS for r in out):
        for i, r in enumerate(out):
            if r is _MISS:
                value = raw[i]
                assert value is not None  # None is always cached
                out[i] = cache[value] = parse_e164(value, region, digits_international)
    return out


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def hash_email(value: str) -> str:
    """What the SQL encoder sends for an e-mail address."""
    return value.lower() if is_hashed(value) else sha256_hex(value.strip(WHITESPACE).lower())


def hash_phone(value: str, default_region: str | None = None) -> str | None:
    """What the SQL encoder sends for a phone number (None: the row is invalid)."""
    if is_hashed(value):
        return value.lower()
    e164 = to_e164(value, default_region)
    return None if e164 is None else sha256_hex(e164)


def hash_external_id(value: str) -> str:
    """external_id is trimmed but not lower-cased (as TikTok's own GTM template does)."""
    return value.lower() if is_hashed(value) else sha256_hex(value.strip(WHITESPACE))


def normalise_idfa(value: str) -> str | None:
    """What the SQL encoder sends for an IDFA: a raw one upper-case, a SHA-256 lower-case
    (TikTok takes both; retl never hashes it). None: blank, left out."""
    v = value.strip(WHITESPACE)
    if not v:
        return None
    return v.lower() if is_hashed(v) else v.upper()


def normalise_gaid(value: str) -> str | None:
    """What the SQL encoder sends for a GAID: trimmed and lower-case, raw or SHA-256."""
    return value.strip(WHITESPACE).lower() or None
