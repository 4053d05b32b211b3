"""glibc's mmap threshold held while rows leave Spark, and Arrow on the system's allocator
(engine/native_memory.py)."""

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


@pytest.fixture
def bundled_pool(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Arrow's default pool set to the allocator pyarrow bundles (as a fresh process has it),
    and set back afterwards."""
    import pyarrow as pa

    before = pa.default_memory_pool()
    try:
        bundled = pa.mimalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow has no mimalloc")
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    pa.set_memory_pool(bundled)
    yield pa
    pa.set_memory_pool(before)


def test_a_plan_moves_arrow_to_the_system_allocator(bundled_pool: Any, tmp_path: Any) -> None:
    from reverse_etl.project import Project

    from .test_sync import copy_demo

    assert bundled_pool.default_memory_pool().backend_name == "mimalloc"
    with Project.load(copy_demo(tmp_path)) as project:
        project.plan(sandbox=True)
    assert bundled_pool.default_memory_pool().backend_name == "system"


def test_a_pool_the_user_chose_is_left_alone(
    bundled_pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
    assert not native_memory.arrow_system_pool()
    assert bundled_pool.default_memory_pool().backend_name == "mimalloc"
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL")
    monkeypatch.setattr(sys, "platform", "darwin")  # measured on Linux only
    assert not native_memory.arrow_system_pool()
    assert bundled_pool.default_memory_pool().backend_name == "mimalloc"


# --- the heap trimmed between the send and the fold ---------------------------------------------

_FRAGMENTED = r"""
from reverse_etl.engine.native_memory import trim_heap

def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))

blocks = [bytes(2048) for _ in range(50_000)]  # 100 MB from malloc's heap, not mmap
kept = blocks[::16]  # one block in 16 stays alive: the heap's top cannot simply shrink
del blocks
before = rss()
assert trim_heap()
print(before - rss())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim, /proc")
def test_trimming_gives_back_the_free_pages_in_the_middle_of_the_heap() -> None:
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", _FRAGMENTED], capture_output=True, text=True, check=True
    )
    given_back_kb = int(out.stdout)
    assert given_back_kb > 50 * 1024, out  # ~83 MB of the 94 MB freed; 0 without the trim


class _Trim:
    def __init__(self) -> None:
        self.calls: list[int] = []
        self.malloc_trim = self

    def __call__(self, pad: int) -> int:
        self.calls.append(pad)
        return 1


def test_the_trim_asks_glibc_for_everything_and_is_skipped_where_it_cannot_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _Trim()
    monkeypatch.setattr(native_memory.ctypes, "CDLL", lambda name: fake)
    monkeypatch.setattr(sys, "platform", "linux")
    assert native_memory.trim_heap()
    assert fake.calls == [0]

    def no_trim(name: Any) -> Any:
        raise AttributeError("malloc_trim")  # musl

    monkeypatch.setattr(native_memory.ctypes, "CDLL", no_trim)
    assert not native_memory.trim_heap()
    monkeypatch.setattr(native_memory.ctypes, "CDLL", lambda name: fake)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not native_memory.trim_heap()
    assert fake.calls == [0]


def test_a_sync_trims_the_heap_after_its_send_and_before_its_fold(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reverse_etl.pipeline import send
    from reverse_etl.project import Project
    from reverse_etl.state.store import LocalStateStore

    from .conftest import trace_calls
    from .test_sync import copy_demo

    steps: list[str] = []
    trace_calls(monkeypatch, send, "_deliver", steps, "send")
    trace_calls(monkeypatch, send, "trim_heap", steps, "trim")
    trace_calls(monkeypatch, LocalStateStore, "compact", steps, "fold")
    with Project.load(copy_demo(tmp_path)) as project:
        report = project.sync(sandbox=True)
    assert report.ok
    assert steps == ["send", "trim", "fold"]
