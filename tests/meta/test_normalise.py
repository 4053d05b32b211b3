"""Every normalisation Meta documents, as test vectors: the expected hash is SHA-256 of the
documented normal form, computed here with hashlib."""

from __future__ import annotations

from typing import Any

import pytest

from reverse_etl.engine.duckdb import DuckDBEngine

from .helpers import one, sha

HEX = "A" * 8 + "0123456789abcdef" * 3 + "B" * 8  # 64 hex characters, mixed case


def user_data(engine: DuckDBEngine, settings: dict[str, Any] | None = None, **cols: str) -> Any:
    row = one(engine, settings, **cols)
    assert row["errors"] is None, row["errors"]
    return row["payload"]["user_data"], row["warnings"]


VECTORS = [
    ("email", "'  John.Doe@Example.COM '", "em", "john.doe@example.com"),
    ("phone", "'+1 (213) 373-4253'", "ph", "12133734253"),
    ("phone", "'0044 20 7946 0958'", "ph", "442079460958"),
    ("first_name", "'  Jean-Luc '", "fn", "jeanluc"),
    ("last_name", "'O''Brien, Jr.'", "ln", "obrien jr"),
    ("first_name", "'ÉLODIE'", "fn", "élodie"),
    ("city", "'New York'", "ct", "newyork"),
    ("city", "'São Paulo'", "ct", "sãopaulo"),
    ("state", "' CA '", "st", "ca"),
    ("state", "'California'", "st", "ca"),
    ("state", "'New York'", "st", "ny"),
    ("state", "'Île-de-France'", "st", "îledefrance"),
    ("state", "'Puerto Rico'", "st", "pr"),
    ("state", "'Guam'", "st", "gu"),
    ("state", "'U.S. Virgin Islands'", "st", "vi"),
    ("state", "'American Samoa'", "st", "as"),
    ("state", "'Northern Mariana Islands'", "st", "mp"),
    ("state", "'Virgin Islands'", "st", "virginislands"),
    ("state", "'Washington, D.C.'", "st", "dc"),
    ("state", "'Washington DC'", "st", "dc"),
    ("state", "'Virgin Islands, U.S.'", "st", "vi"),
    ("zip_code", "'94025-1234'", "zp", "94025"),
    ("zip_code", "'94025 1234'", "zp", "94025"),
    ("zip_code", "'SW1A 1AA'", "zp", "sw1a1aa"),
    ("country", "' US '", "country", "us"),
    ("gender", "'Female'", "ge", "f"),
    ("gender", "' M '", "ge", "m"),
    ("date_of_birth", "DATE '1990-02-03'", "db", "19900203"),
    ("date_of_birth", "TIMESTAMP '1990-02-03 23:59:00'", "db", "19900203"),
    ("date_of_birth", "'1990-02-03'", "db", "19900203"),
    ("date_of_birth", "'19900203'", "db", "19900203"),
    ("date_of_birth", "'1990-02-03 00:00:00'", "db", "19900203"),
    ("date_of_birth", "'1990-02-03T23:30:00.000Z'", "db", "19900203"),
    ("date_of_birth", "'1990/2/3 7:05'", "db", "19900203"),
    ("date_of_birth", "'1990-02-03T00:00:00+05:30'", "db", "19900203"),
    ("external_id", "' user_123 '", "external_id", "user_123"),
]


@pytest.mark.parametrize(("column", "value", "key", "normal"), VECTORS)
def test_vector(engine: DuckDBEngine, column: str, value: str, key: str, normal: str) -> None:
    data, warnings = user_data(engine, **{column: value})
    assert data[key] == sha(normal)
    assert warnings is None


@pytest.mark.parametrize(
    ("column", "value", "key", "normal"),
    [v for v in VECTORS if v[1].startswith("'")],  # text: DATE and TIMESTAMP have no spaces
)
def test_tabs_and_line_breaks_are_trimmed_as_spaces_are(
    engine: DuckDBEngine, column: str, value: str, key: str, normal: str
) -> None:
    """DuckDB's trim() removes spaces only: a tab or a line break (a CSV's) was hashed with
    the value, or made it no normal form. Every hashed field trims the same whitespace as
    the Python mirror (str.strip()'s), in a list's items too."""
    ws = "chr(9) || chr(10) || chr(160) || chr(12288)"
    padded = f"{ws} || {value} || chr(13) || chr(11)"
    data, warnings = user_data(engine, **{column: padded})
    assert data[key] == sha(normal)
    assert warnings is None
    if column in ("email", "phone", "external_id"):
        data, warnings = user_data(engine, **{column: f"[{padded}, {ws}]"})
        assert data[key] == [sha(normal)] and warnings is None


def test_national_phone_uses_default_phone_region(engine: DuckDBEngine) -> None:
    data, _ = user_data(engine, {"default_phone_region": "US"}, phone="'(213) 373-4253'")
    assert data["ph"] == sha("12133734253")


def test_zip_follows_the_row_country(engine: DuckDBEngine) -> None:
    # A nine-digit code of another country is not a ZIP+4; a US row's code is cut to five.
    fr, _ = user_data(engine, zip_code="'750011234'", country="'FR'")
    us, _ = user_data(engine, zip_code="'940251234'", country="'us'")
    de, _ = user_data(engine, zip_code="'10115'", country="'DE'")
    hashed, _ = user_data(engine, zip_code="'94025-1234'", country=f"'{HEX}'")  # country unknown
    assert (fr["zp"], fr["country"]) == (sha("750011234"), sha("fr"))
    assert us["zp"] == sha("94025")
    assert de["zp"] == sha("10115")
    assert hashed["zp"] == sha("94025")


@pytest.mark.parametrize("country", ["PR", "pr", "VI", "GU", "AS", "MP"])
def test_a_us_territory_zip_plus_4_keeps_its_first_five_digits(
    engine: DuckDBEngine, country: str
) -> None:
    """Puerto Rico's (and the other inhabited territories') ZIP codes are USPS ZIPs: Meta's
    "first 5 digits for U.S. zip codes" holds for them. With its ISO code as the country, a
    Puerto Rico ZIP+4 was hashed with its nine digits (``009071234``), matching no one, where
    the same row with no country, or 'Puerto Rico' as its state, was read as US."""
    data, _ = user_data(engine, zip_code="'00907-1234'", country=f"'{country}'")
    assert data["zp"] == sha("00907")
    assert data["country"] == sha(country.lower())


@pytest.mark.parametrize("country", ["US", "pr", "GU", "VI", "AS", "MP"])
@pytest.mark.parametrize("value", ["'AB-12 345'", "'2134'", "'94025-12'", "'940251234X'"])
def test_a_us_rows_zip_of_another_shape_is_left_out_with_a_warning(
    engine: DuckDBEngine, country: str, value: str
) -> None:
    """Meta's "first 5 digits" is for a US ZIP: a US row's value of another shape was cut
    to its first five characters (``AB-12 345`` -> ``ab123``, ``2134`` -> ``2134``) and
    hashed, matching no one, with no warning. It is left out, as a gender ``x`` is, with a
    warning that names the column and the fix; the same value in a row that names no
    country is kept as another country's code."""
    data, warnings = user_data(engine, zip_code=value, country=f"'{country}'")
    assert "zp" not in data
    assert data["country"] == sha(country.lower())
    assert warnings.startswith("zip_code is not a US ZIP code (five digits, or ZIP+4)")
    assert "lpad(" in warnings and value.strip("'") not in warnings
    elsewhere, warnings = user_data(engine, zip_code=value)
    normal = value.strip("'").lower().replace("-", "").replace(" ", "")
    assert elsewhere["zp"] == sha(normal) and warnings is None


@pytest.mark.parametrize("value", ["'12345-6789'", "' 12345 6789 '", "'123456789'", "'12345'"])
def test_a_us_rows_zip_shapes_keep_five_digits(engine: DuckDBEngine, value: str) -> None:
    data, warnings = user_data(engine, zip_code=value, country="'us'")
    assert data["zp"] == sha("12345") and warnings is None


@pytest.mark.parametrize(
    ("value", "country", "normal"),
    [
        ("2134::INTEGER", "US", "02134"),  # 02134, read as a number
        ("501::BIGINT", "us", "00501"),
        ("21341234::BIGINT", "PR", "02134"),  # ZIP+4 021341234
        ("907::DECIMAL(5, 0)", "pr", "00907"),
        ("94025::INTEGER", "US", "94025"),
        ("940251234::BIGINT", "US", "94025"),
        ("2134::INTEGER", "AU", "2134"),  # another country's four-digit code: as it is
    ],
)
def test_a_us_rows_zip_kept_as_a_number_gets_its_leading_zeros_back(
    engine: DuckDBEngine, value: str, country: str, normal: str
) -> None:
    """A ZIP kept as a number has lost its leading zeros (02134 is 2134): a US row's was
    sent as ``2134``, matching no one, with no warning (validate says to keep ZIPs as text,
    but a sync did not). A US ZIP has five digits: a US row's is padded back."""
    data, warnings = user_data(engine, zip_code=value, country=f"'{country}'")
    assert data["zp"] == sha(normal) and warnings is None


@pytest.mark.parametrize("value", ["123456::INTEGER", "12::INTEGER", "0::INTEGER"])
def test_a_us_rows_number_that_no_zeros_make_a_zip_is_left_out(
    engine: DuckDBEngine, value: str
) -> None:
    """Six digits are no ZIP short of its zeros (000123456 would be the ZIP 00012, and the
    lowest is 00501), nor are one or two: left out with the warning, not padded and cut to
    a ZIP that matches no one."""
    data, warnings = user_data(engine, zip_code=value, country="'US'")
    assert "zp" not in data
    assert warnings.startswith("zip_code is not a US ZIP code (five digits, or ZIP+4)")


def test_a_zip_kept_as_a_number_in_a_row_of_no_country_warns(engine: DuckDBEngine) -> None:
    """With no country to tell, a four-digit number may be a US ZIP short of its zero or
    another country's code: sent as it is, with a warning (it was silent)."""
    data, warnings = user_data(engine, zip_code="2134::INTEGER")
    assert data["zp"] == sha("2134")
    assert warnings.startswith("zip_code is a number that is no five-digit ZIP or ZIP+4")
    data, warnings = user_data(engine, zip_code="2134::INTEGER", country="NULL::VARCHAR")
    assert data["zp"] == sha("2134") and warnings is not None
    data, warnings = user_data(engine, zip_code="94025::INTEGER")
    assert data["zp"] == sha("94025") and warnings is None


@pytest.mark.parametrize(
    ("column", "key"),
    [
        ("email", "em"),
        ("phone", "ph"),
        ("first_name", "fn"),
        ("city", "ct"),
        ("state", "st"),
        ("zip_code", "zp"),
        ("country", "country"),
        ("gender", "ge"),
        ("date_of_birth", "db"),
        ("external_id", "external_id"),
    ],
)
def test_already_hashed_is_sent_as_is_lower_cased(
    engine: DuckDBEngine, column: str, key: str
) -> None:
    data, warnings = user_data(engine, **{column: f"' {HEX} '"})
    assert data[key] == HEX.lower()
    assert warnings is None


def test_identifiers_that_are_never_hashed(engine: DuckDBEngine) -> None:
    data, _ = user_data(
        engine,
        fbc="'fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890'",
        fbp="'fb.1.1558571054389.1098115397'",
        lead_id="1234567890",
    )
    assert data["fbc"] == "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890"
    assert data["fbp"] == "fb.1.1558571054389.1098115397"
    assert data["client_ip_address"] == "203.0.113.7"
    assert data["client_user_agent"] == "Mozilla/5.0"
    assert data["lead_id"] == "1234567890"  # an ID: a string whatever the column type


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("gender", "'x'", "gender is not f, m, female or male (left out)"),
        ("country", "'usa'", "country is not a two-letter ISO 3166-1 country code (left out: "),
        ("date_of_birth", "'03/02/1990'", "date_of_birth is not a date"),
        # a date with a time is read; a time of another shape or an invalid date is not
        ("date_of_birth", "'1990-02-03 noon'", "date_of_birth is not a date"),
        ("date_of_birth", "'1990-02-30 00:00:00'", "date_of_birth is not a date"),
        ("date_of_birth", "'19900203 00:00:00'", "date_of_birth is not a date"),
        # strftime writes the word: "infinity" was hashed, with no warning
        ("date_of_birth", "DATE 'infinity'", "date_of_birth is not a date"),
        ("date_of_birth", "TIMESTAMP '-infinity'", "date_of_birth is not a date"),
        ("date_of_birth", "TIMESTAMPTZ 'infinity'", "date_of_birth is not a date"),
        ("first_name", "'...'", "first_name has no letters once normalised (left out)"),
    ],
)
def test_no_normal_form_is_left_out_with_a_warning(
    engine: DuckDBEngine, column: str, value: str, reason: str
) -> None:
    data, warnings = user_data(engine, **{column: value})
    assert set(data) == {"client_ip_address", "client_user_agent"}
    assert reason in warnings
    assert value.strip("'") not in warnings  # the reason names the column, not the value


def test_lists_of_emails_and_phones(engine: DuckDBEngine) -> None:
    data, _ = user_data(
        engine,
        email="['A@x.io', NULL, ' b@y.io']",
        phone="['+12133734253', '+442079460958']",
    )
    assert data["em"] == [sha("a@x.io"), sha("b@y.io")]
    assert data["ph"] == [sha("12133734253"), sha("442079460958")]


def test_malformed_email_is_sent_with_a_warning(engine: DuckDBEngine) -> None:
    data, warnings = user_data(engine, email="'not-an-address'")
    assert data["em"] == sha("not-an-address")
    assert warnings == "email is not an e-mail address (sent, but matches no one)"


def test_a_state_name_is_a_us_code_only_in_a_us_row(engine: DuckDBEngine) -> None:
    """Meta's st outside the US is the region's name, lower-case, letters only: Uruguay's
    department Florida was sent as Florida's code ``fl``. A US row, a territory's, and a row
    naming no country (or a hashed one) still read a US state's name as its code."""
    uy, _ = user_data(engine, state="'Florida'", country="'UY'")
    us, _ = user_data(engine, state="'Florida'", country="'US'")
    pr, _ = user_data(engine, state="'Puerto Rico'", country="'pr'")
    unknown, _ = user_data(engine, state="'Florida'", country=f"'{HEX}'")
    alone, _ = user_data(engine, state="'Florida'")
    assert uy["st"] == sha("florida")
    assert (us["st"], pr["st"], unknown["st"], alone["st"]) == (
        sha("fl"),
        sha("pr"),
        sha("fl"),
        sha("fl"),
    )
