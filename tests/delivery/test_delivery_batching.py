"""Batching and body building: pure, property-tested."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reverse_etl.delivery import Batch, batch_events, build_body
from reverse_etl.destinations.tiktok.envelope import EnvelopeSpec, envelope_prefix
from reverse_etl.destinations.tiktok.vocab import MAX_EVENTS_PER_REQUEST


def payload(i: int) -> bytes:
    return orjson.dumps({"event": "Purchase", "event_id": f"e{i}", "event_time": 1700000000 + i})


def make_chunks(sizes: list[int]) -> tuple[list[tuple[list[str], list[str], list[bytes]]], int]:
    chunks = []
    n = 0
    for size in sizes:
        ids = range(n, n + size)
        chunks.append(([f"k{i}" for i in ids], [f"h{i}" for i in ids], [payload(i) for i in ids]))
        n += size
    return chunks, n


def make_batch(n: int) -> Batch:
    return Batch(
        tuple(f"k{i}" for i in range(n)),
        tuple(f"h{i}" for i in range(n)),
        tuple(payload(i) for i in range(n)),
    )


@settings(deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=60), max_size=25),
    max_events=st.integers(min_value=1, max_value=40),
)
def test_batch_events_keeps_every_event_once_in_order(sizes: list[int], max_events: int) -> None:
    chunks, total = make_chunks(sizes)
    batches = list(batch_events(chunks, max_events=max_events))

    keys = [k for b in batches for k in b.keys]
    assert keys == [f"k{i}" for i in range(total)]
    assert [h for b in batches for h in b.hashes] == [f"h{i}" for i in range(total)]
    assert [p for b in batches for p in b.payloads] == [payload(i) for i in range(total)]
    assert all(1 <= len(b) <= max_events for b in batches)
    # Tightly packed: only the last batch may be short.
    assert all(len(b) == max_events for b in batches[:-1])


@settings(deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=60), max_size=25),
    max_events=st.integers(min_value=1, max_value=40),
)
def test_arrow_chunks_make_the_same_batches_and_bodies(sizes: list[int], max_events: int) -> None:
    """The sync streams Arrow columns: batches, splits and bodies must equal the list path."""
    chunks, _ = make_chunks(sizes)
    arrow = [(pa.array(k), pa.array(h), pa.array(p, pa.binary())) for k, h, p in chunks]
    prefix = envelope_prefix("web", "C1", None)
    plain = list(batch_events(chunks, max_events=max_events))
    columnar = list(batch_events(arrow, max_events=max_events))
    assert [len(b) for b in columnar] == [len(b) for b in plain]
    for a, b in zip(columnar, plain, strict=True):
        assert isinstance(a.payloads, pa.Array)
        assert a.key_list() == list(b.keys) and a.hashes.to_pylist() == list(b.hashes)
        assert build_body(prefix, a.payloads) == build_body(prefix, b.payloads)
        assert a.nbytes == b.nbytes
        if len(a) >= 2:
            halves = [build_body(prefix, h.payloads) for h in a.split()]
            assert halves == [build_body(prefix, h.payloads) for h in b.split()]
    assert build_body(prefix, pa.array([], pa.binary())) == build_body(prefix, [])
    # DuckDB hands VARCHAR payloads over as Arrow strings: the same bytes.
    texts = pa.array([p.decode() for p in make_chunks([3])[0][0][2]], pa.string())
    assert build_body(prefix, texts) == build_body(prefix, make_chunks([3])[0][0][2])


def test_batch_events_accepts_tuples_and_large_chunks() -> None:
    chunks, total = make_chunks([2500])
    batches = list(batch_events((tuple(k), tuple(h), tuple(p)) for k, h, p in chunks))
    assert [len(b) for b in batches] == [1000, 1000, 500]
    assert sum(len(b) for b in batches) == total


def test_batch_events_is_lazy() -> None:
    pulled = 0

    def chunks() -> Iterator[tuple[list[str], list[str], list[bytes]]]:
        nonlocal pulled
        for i in range(100):
            pulled += 1
            yield [f"k{i}"], [f"h{i}"], [payload(i)]

    iterator = batch_events(chunks(), max_events=10)
    next(iterator)
    assert pulled == 10


@pytest.mark.parametrize("bad", [0, -1, MAX_EVENTS_PER_REQUEST + 1])
def test_batch_events_refuses_impossible_sizes(bad: int) -> None:
    with pytest.raises(ValueError, match="max_events"):
        list(batch_events([], max_events=bad))


def test_batch_events_refuses_ragged_chunks() -> None:
    with pytest.raises(ValueError, match="differ"):
        list(batch_events([(["a", "b"], ["h"], [b"{}", b"{}"])]))


def test_batch_refuses_ragged_columns() -> None:
    with pytest.raises(ValueError, match="differ"):
        Batch(("a",), (), (b"{}",))


@settings(deadline=None)
@given(n=st.integers(min_value=2, max_value=300))
def test_split_halves_partition_the_batch(n: int) -> None:
    batch = make_batch(n)
    first, second = batch.split()
    assert first.keys + second.keys == batch.keys
    assert first.hashes + second.hashes == batch.hashes
    assert first.payloads + second.payloads == batch.payloads
    assert len(first) >= 1 and len(second) >= 1
    assert abs(len(first) - len(second)) <= 1
    assert first.nbytes + second.nbytes == batch.nbytes


def test_split_of_one_event_is_refused() -> None:
    with pytest.raises(ValueError):
        make_batch(1).split()


def test_nbytes_counts_payload_bytes() -> None:
    assert Batch(("a", "b"), ("x", "y"), (b"{}", b'{"a":1}')).nbytes == 9


texts = st.text(max_size=30)


@settings(deadline=None)
@given(
    source=st.sampled_from(["web", "app", "offline", "crm"]),
    source_id=texts,
    test_code=st.none() | texts,
    partner=st.none() | texts,
    n=st.integers(min_value=0, max_value=20),
)
def test_body_round_trips_through_json(
    source: str, source_id: str, test_code: str | None, partner: str | None, n: int
) -> None:
    events = [{"event": "Lead", "event_id": f'id"{i}\\\n', "event_time": i} for i in range(n)]
    spec = EnvelopeSpec(source, source_id, test_code, partner)
    body = build_body(spec, [orjson.dumps(e) for e in events])

    expected: dict[str, object] = {
        "event_source": source,
        "event_source_id": source_id,
        "data": events,
    }
    if partner:  # sent only when configured (TikTok refuses unknown names: 40063)
        expected["partner_name"] = partner
    if test_code is not None:
        expected["test_event_code"] = test_code
    assert orjson.loads(body) == expected
    assert body == build_body(
        envelope_prefix(source, source_id, test_code, partner), map(orjson.dumps, events)
    )


def test_body_has_top_level_fields_before_data() -> None:
    body = build_body(EnvelopeSpec("web", "PIX", "TEST1"), [b'{"event":"Lead"}'])
    assert body == (
        b'{"event_source":"web","event_source_id":"PIX",'
        b'"test_event_code":"TEST1","data":[{"event":"Lead"}]}'
    )
    body = build_body(EnvelopeSpec("web", "PIX", None, "Acme"), [b'{"event":"Lead"}'])
    assert body == (
        b'{"event_source":"web","event_source_id":"PIX","partner_name":"Acme",'
        b'"data":[{"event":"Lead"}]}'
    )


@settings(deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=60), max_size=20),
    max_events=st.integers(min_value=2, max_value=40),
    arrow=st.booleans(),
)
def test_event_ids_stay_with_their_events_through_batching_split_and_take(
    sizes: list[int], max_events: int, arrow: bool
) -> None:
    """The stream's fourth column (event ids found ahead of sending) stays in step with the
    keys through re-chunking, bisection and the accepted part of a batch."""
    chunks, total = make_chunks(sizes)
    four = [(k, h, p, [f"e{key[1:]}" for key in k]) for k, h, p in chunks]
    if arrow:
        four = [
            (
                pa.array(k, pa.string()),
                pa.array(h, pa.string()),
                pa.array(p, pa.binary()),
                pa.array(e, pa.string()),
            )
            for k, h, p, e in four
        ]
    batches = list(batch_events(four, max_events=max_events))

    def pairs(b: Batch) -> list[tuple[str, str]]:
        keys = b.keys.to_pylist() if isinstance(b.keys, pa.Array) else list(b.keys)
        ids = b.event_ids
        assert ids is not None
        ids = ids.to_pylist() if isinstance(ids, pa.Array) else list(ids)
        return list(zip(keys, ids, strict=True))

    assert [p for b in batches for p in pairs(b)] == [(f"k{i}", f"e{i}") for i in range(total)]
    for b in batches:
        if len(b) >= 2:
            first, second = b.split()
            assert pairs(first) + pairs(second) == pairs(b)
        odd = list(range(1, len(b), 2))
        assert pairs(b.take(odd)) == [pairs(b)[i] for i in odd]


def test_chunks_with_and_without_event_ids_are_not_mixed() -> None:
    with pytest.raises(ValueError, match="event ids"):
        list(batch_events([(["a"], ["h"], [b"{}"], ["e"]), (["b"], ["h"], [b"{}"])]))
    with pytest.raises(ValueError, match="differ"):
        Batch(("a",), ("h",), (b"{}",), ())
