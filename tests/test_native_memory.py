"""glibc's mmap threshold held while rows leave Spark (engine/native_memory.py)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from reverse_etl.engine import native_memory


class _Libc:
    def __init__(self, answer: int) -> None:
        self.calls: list[tuple[int, int]] = []
        self.answer = answer
        self.mallopt = self

    def __call__(self, option: int, value: int) -> int:
        self.calls.append((option, value))
        return self.answer


@pytest.fixture
def libc(monkeypatch: pytest.MonkeyPatch) -> _Libc:
    fake = _Libc(1)
    monkeypatch.setattr(native_memory._State, "held", False)
    monkeypatch.setattr(native_memory.ctypes, "CDLL", lambda name: fake)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    return fake


def test_the_threshold_is_held_at_glibcs_default_once(libc: _Libc) -> None:
    assert native_memory.hold_mmap_threshold()
    assert native_memory.hold_mmap_threshold()
    assert libc.calls == [(-3, 128 * 1024)]


def test_a_threshold_the_user_set_is_left_alone(
    libc: _Libc, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert not native_memory.hold_mmap_threshold()
    assert libc.calls == []


def test_a_libc_that_refuses_or_lacks_mallopt_changes_nothing(
    libc: _Libc, monkeypatch: pytest.MonkeyPatch
) -> None:
    libc.answer = 0  # musl's mallopt does nothing and says so
    assert not native_memory.hold_mmap_threshold()

    def no_mallopt(name: Any) -> Any:
        raise AttributeError("mallopt")

    monkeypatch.setattr(native_memory.ctypes, "CDLL", no_mallopt)
    assert not native_memory.hold_mmap_threshold()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_on_this_machine_glibc_takes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native_memory._State, "held", False)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert native_memory.hold_mmap_threshold()
