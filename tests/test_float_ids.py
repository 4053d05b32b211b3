"""A key or event_id column of a float type past the whole numbers it holds exactly (2^24 for
a FLOAT, 2^53 for a DOUBLE) makes its row invalid, with the fix, on both platforms: its
digits may have been rounded before the model returned it (16777217 as a FLOAT is
16777216), so the key and the event_id sent need not be the warehouse's ID, and two rows may
share one. Before, 123456789 as a FLOAT was sent as event_id "123456790", and 16777216 and
16777217 both as "16777216". Below the limit the ID is sent exactly. Real syncs to both
emulators."""

from __future__ import annotations

from pathlib import Path

from reverse_etl.sandbox import SandboxServer
from tests.test_blank_values import BASE, _sync, server  # noqa: F401

REASON = (
    "event_id is a {name} of 2^{bits} ({limit}) or more, whose digits may be rounded "
    "({next} becomes {limit}), so it may not be the warehouse's ID and may be another row's: "
    "keep it BIGINT, DECIMAL or text in the model and the warehouse (a CAST of the {name} "
    "cannot restore its digits)"
)
FLOAT_REASON = REASON.format(name="FLOAT", bits=24, limit=16777216, next=16777217)
DOUBLE_REASON = REASON.format(name="DOUBLE", bits=53, limit=9007199254740992, next=9007199254740993)


def _model(ids: list[str], cast: str, key: str) -> str:
    base = ", ".join(f'{v} AS "{k}"' for k, v in BASE.items())
    values = ", ".join(f"({i}, {n})" for i, n in enumerate(ids))
    return (
        f"{{{{ config(primary_key='{key}') }}}} "
        f"SELECT {base}, 'o-' || v.i AS order_id, CAST(v.n AS {cast}) AS event_id "
        f"FROM (VALUES {values}) AS v(i, n)"
    )


def _reasons(report: object) -> dict[str, dict[str, int]]:
    return {p.name: dict(p.invalid_reasons) for p in report.plans}  # type: ignore[attr-defined]


def test_a_float_primary_key_past_2_24_is_an_invalid_row(
    server: SandboxServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    ids = ["16777215", "-16777215", "16777216", "16777217", "123456789", "-20000000"]
    tiktok, meta, report = _sync(server, tmp_path, _model(ids, "FLOAT", "event_id"))
    assert set(tiktok) == set(meta) == {"16777215", "-16777215"}
    reasons = _reasons(report)
    for name in ("tiktok", "meta"):
        # 16777216 and 16777217 are both 16777216 as a FLOAT: the same key, twice
        assert reasons[name] == {FLOAT_REASON: 4, "duplicate primary key": 2}, reasons


def test_a_double_event_id_beside_a_key_past_2_53_is_an_invalid_row(
    server: SandboxServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    ids = ["9007199254740991", "9007199254740993", "-9007199254740992", "1e300"]
    tiktok, meta, report = _sync(server, tmp_path, _model(ids, "DOUBLE", "order_id"))
    assert set(tiktok) == set(meta) == {"9007199254740991"}
    assert _reasons(report) == {"tiktok": {DOUBLE_REASON: 3}, "meta": {DOUBLE_REASON: 3}}


def test_a_float_of_a_key_of_two_columns_is_judged_too(
    server: SandboxServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    ids = ["7", "16777217"]
    model = _model(ids, "FLOAT", "order_id").replace(
        "primary_key='order_id'", "primary_key=['order_id', 'event_id']"
    )
    tiktok, meta, report = _sync(server, tmp_path, model)
    assert set(tiktok) == set(meta) == {"7"}
    assert _reasons(report) == {"tiktok": {FLOAT_REASON: 1}, "meta": {FLOAT_REASON: 1}}
