"""The model templates' filters are wrapped at import (template_limits.charged_filter); each
reads its signature at its first use, not at the wrapping (#18: ~90 at every start)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from reverse_etl.models import template_limits


def test_a_filter_reads_its_signature_at_its_first_use_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read: list[Any] = []
    real = inspect.signature

    def counted(fn: Any, *args: Any, **kwargs: Any) -> inspect.Signature:
        read.append(fn)
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(template_limits.inspect, "signature", counted)

    def upper(value: str, times: int = 1) -> str:
        return value.upper() * times

    wrapped = template_limits.charged_filter("upper", upper)
    assert read == []
    budget = template_limits.start_budget()
    try:
        assert wrapped("ab") == "AB"
        assert wrapped("ab", times=2) == "ABAB"
    finally:
        template_limits.end_budget(budget)
    assert read == [upper]
