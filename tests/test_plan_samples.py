"""The plan's sample payloads: the first rows to send by key, found from the narrow columns.

``sample_payloads`` (reverse_etl/pipeline/plan.py) picks the keys of the rows that keep a
payload (no errors, not unchanged) before it reads any payload, so that the payload column is
not read back whole (issue #18). Its result must be what ordering the payload-bearing rows
themselves by key gives.
"""

from __future__ import annotations

import orjson

from reverse_etl.engine.duckdb import DuckDBEngine
from reverse_etl.pipeline.plan import _rows_view, sample_payloads


def _rows_table(engine: DuckDBEngine) -> None:
    """Rows as ``encode_rows`` leaves them: a payload exactly on the rows without errors that
    are not unchanged; the keys that sort first are the ones that must not be sampled."""
    engine.execute(
        """CREATE TEMP TABLE t AS SELECT * FROM (VALUES
            ('a1', 'bad email', 'new', NULL),
            ('a2', NULL, 'unchanged', NULL),
            ('a3', NULL, 'new', '{"k":"a3"}'),
            ('a3', NULL, 'changed', '{"k":"a3 again"}'),
            ('a4', 'no event', 'changed', NULL),
            ('b1', NULL, 'changed', '{"k":"b1"}'),
            ('b2', NULL, 'unchanged', NULL),
            ('b3', NULL, 'new', '{"k":"b3"}'),
            ('c1', NULL, 'new', '{"k":"c1"}'),
            (NULL, 'primary key is null', 'new', NULL)
        ) AS v(__key, __errors, __change, __payload)"""
    )
    _rows_view(engine, "v", "t")  # a3 twice: both invalid, their payloads removed


def test_samples_are_the_first_payloads_by_key() -> None:
    engine = DuckDBEngine()
    _rows_table(engine)
    for n in range(6):
        expected = [
            orjson.loads(p)
            for (p,) in engine.rows(
                f"SELECT __payload FROM v WHERE __payload IS NOT NULL ORDER BY __key LIMIT {n}"
            )
        ]
        assert sample_payloads(engine, "v", n) == expected
    assert sample_payloads(engine, "v", 2) == [{"k": "b1"}, {"k": "b3"}]
    assert sample_payloads(engine, "v", 10) == [{"k": "b1"}, {"k": "b3"}, {"k": "c1"}]


def test_no_samples_when_nothing_is_sent() -> None:
    engine = DuckDBEngine()
    engine.execute(
        "CREATE TEMP TABLE t AS SELECT 'k' || i AS __key, NULL::VARCHAR AS __errors, "
        "'unchanged' AS __change, NULL::VARCHAR AS __payload FROM range(100) r(i)"
    )
    assert sample_payloads(engine, "t", 5) == []


def test_what_is_sent_in_clear_is_masked_in_a_sample() -> None:
    """A sample is printed (a pull request's `retl plan`, the JSON report, the local page):
    an IP, a user agent and an e-mail address in a free text or a URL are masked there, as
    on the sandbox's page; hashed values stay as sent."""
    digest = "a" * 64
    payload = {
        "user": {"email": digest, "ip": "203.0.113.77", "user_agent": "Mozilla/5.0 SecretUA"},
        "page": {"url": "https://shop.example.com/?email=alice%40example.com"},
        "properties": {"description": "contact bob@example.net"},
    }
    engine = DuckDBEngine()
    engine.execute(
        "CREATE TEMP TABLE s AS SELECT 'k1' AS __key, NULL::VARCHAR AS __errors, "
        f"'new' AS __change, '{orjson.dumps(payload).decode()}' AS __payload"
    )
    (sample,) = sample_payloads(engine, "s", 1)
    text = orjson.dumps(sample).decode()
    for raw in ("203.0.113.77", "SecretUA", "alice", "bob@"):
        assert raw not in text, text
    assert sample["user"]["email"] == digest
    assert sample["user"]["ip"] == "2***"
