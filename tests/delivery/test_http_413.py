"""HTTP 413 (the request is too large) from either platform splits the batch, as a rejected
event does (``invalid``: the runner bisects; one event still too large is rejected alone),
instead of stopping the destination as an unknown answer ("terminal")."""

from __future__ import annotations

from reverse_etl.destinations.meta.responses import classify as meta_classify
from reverse_etl.destinations.tiktok.client import classify as tiktok_classify


def test_tiktok_413_without_an_envelope_is_split() -> None:
    outcome = tiktok_classify(413, None)
    assert (outcome.kind, outcome.http_status) == ("invalid", 413)
    assert "too large" in outcome.message


def test_tiktok_413_with_an_envelope_is_split() -> None:
    outcome = tiktok_classify(413, {"code": 40000, "message": "request body too large"})
    assert (outcome.kind, outcome.message) == ("invalid", "request body too large")


def test_meta_413_is_split() -> None:
    assert meta_classify(413, None).kind == "invalid"
    error = {"error": {"message": "Request Entity Too Large", "code": 1, "type": "OAuthException"}}
    outcome = meta_classify(413, error)
    assert (outcome.kind, outcome.message) == ("invalid", "Request Entity Too Large")
