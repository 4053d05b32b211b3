"""The test-events feed: every event the emulator received, with its verdict, as JSON lines.

``retl ui``'s Test events page runs in another process than the emulator (``retl sandbox``,
or the one ``sync --sandbox`` starts for a run), so the emulator appends to a file in the
project, ``<state dir>/sandbox/feed.jsonl``, and the page reads its tail. One line per event:

``{"id", "at", "platform", "verdict", "code", "problem", "test_event_code", "source", "source_id",
"event", "event_id", "data"}``; ``verdict`` is ``accepted``, ``duplicate`` (a dedup hit) or
``rejected`` (its request was refused; ``problem`` says why). A request's events past
``MAX_EVENTS_PER_REQUEST`` are counted in one ``omitted`` line, so a large sandbox sync costs
the feed little. The file is bounded: past ``max_bytes`` it becomes ``feed.jsonl.1`` (the
previous one is dropped) and a new one starts.

Raw PII never reaches the file: a value that is not a SHA-256 of a field the platforms'
catalogs mark ``masked`` (the hashed user data; what is sent in clear but identifies a
person, a browser or a click: IP, user agent, click and browser IDs), and any e-mail
address, ``+`` phone number or IPv4 address anywhere, are masked (``j***@example.com``)
before writing; an event id holding one is shown hashed (``pii_text.masked_key``).

An event id built from personal data that no value test finds (``replace(email, '@', '#') ||
'-' || order_id``: found by the model's lineage, ``pipeline/personal_ids.py``) is hashed too,
for the event sources a sync marked: ``retl sync --sandbox``, before sending a destination
whose plan hashes its event ids (``EncodePlan.mask_event_ids``), records the (platform, event
source ID) pair in ``personal_event_ids.json`` beside the feed (``mark_personal_ids``). The
writer (re-reading that file when its mtime changes) and ``read_feed`` show the event id of
those sources' events hashed, in ``event_id`` and in ``data``. A mark stays until the file
is deleted (a source marked once keeps its ids hashed here). Not covered: a sync that does
not know it talks to the emulator (a plain ``retl sync`` whose ``api_base_url`` points at a
separately started ``retl sandbox``) marks nothing, so only the value test applies to it,
unless an earlier ``sync --sandbox`` marked the same source.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import orjson
from filelock import FileLock

from reverse_etl import project_files
from reverse_etl.destinations.registry import masked_keys
from reverse_etl.destinations.shared.pii_text import (
    looks_pii,
    mask_emails,
    mask_text,
    masked_key,
    pii_name,
)
from reverse_etl.errors import StateError

logger = logging.getLogger("reverse_etl.sandbox")

FEED_FILE: Final = "feed.jsonl"
MARKS_FILE: Final = "personal_event_ids.json"
MAX_EVENTS_PER_REQUEST: Final = 100
_MARK_LOCK_SECONDS: Final = 30  # another sync writing the marks file holds it a moment
DEFAULT_MAX_BYTES: Final = 5 * 1024 * 1024
# Read back from a feed file's end at most: more than a file holds before it rotates (a
# committed, larger one is not read whole for each refresh of the page).
MAX_TAIL_BYTES: Final = 16 * 1024 * 1024
ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"

_HASHED = re.compile(r"(sha256:)?[0-9a-fA-F]{64}")
_MASKED_ID = re.compile(r"sha256:[0-9a-f]{12}")  # what ``masked_key`` makes
_SECRET_KEYS: Final = frozenset({"access_token", "appsecret_proof"})


def feed_path(state_dir: Path) -> Path:
    """Where a project's emulators write their feed (``.retl/sandbox/feed.jsonl``)."""
    return state_dir / "sandbox" / FEED_FILE


def marks_path(feed: Path) -> Path:
    """The event sources whose event ids are personal, beside the feed."""
    return feed.with_name(MARKS_FILE)


def mark_personal_ids(feed: Path, platform: str, source_id: str) -> None:
    """Record that the event ids sent to ``source_id`` of ``platform`` (a destination's
    ``capabilities.platform``, any case) are built from personal data: the feed shows them
    hashed. Written atomically before the first event is sent; raises ``OSError`` when it
    cannot be written (the sync must not send then: the ids would be fed raw)."""
    path = marks_path(feed)
    pair = (platform.lower(), source_id)
    if pair in _read_marks(path):
        return
    project_files.own_folder(path.parent, create=True)  # never a pull request's link
    # Two syncs marking at once: each reads, adds its pair and replaces the file, so without
    # the lock the second replace drops the first one's mark, and its ids are fed raw.
    with FileLock(str(path.with_name(path.name + ".lock")), timeout=_MARK_LOCK_SECONDS):
        marks = _read_marks(path)
        if pair in marks:
            return
        document = [{"platform": p, "source_id": s} for p, s in sorted(marks | {pair})]
        project_files.write_atomic(path, orjson.dumps(document, option=orjson.OPT_INDENT_2))


def _read_marks(path: Path) -> frozenset[tuple[str, str]]:
    """The marked (platform, source ID) pairs; none when the file is missing or damaged."""
    try:
        document = orjson.loads(project_files.read_bytes(path))
    except (OSError, orjson.JSONDecodeError):
        return frozenset()
    if not isinstance(document, list):
        return frozenset()
    return frozenset(
        (str(m.get("platform", "")).lower(), str(m.get("source_id", "")))
        for m in document
        if isinstance(m, dict)
    )


class _Marks:
    """The marks file, read again only when its mtime (or size) changes: one ``stat`` per
    request fed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._marks: frozenset[tuple[str, str]] = frozenset()

    def get(self) -> frozenset[tuple[str, str]]:
        try:
            st = self.path.stat()
        except OSError:
            self._seen, self._marks = None, frozenset()
            return self._marks
        seen = (st.st_mtime_ns, st.st_size)
        if seen != self._seen:
            self._seen, self._marks = seen, _read_marks(self.path)
        return self._marks


def _hash_event_id(event: Mapping[str, Any]) -> dict[str, Any]:
    """``event`` with its ``event_id`` shown as ``masked_key`` shows it (kept when already)."""
    value = event.get("event_id")
    if value is None or (isinstance(value, str) and _MASKED_ID.fullmatch(value)):
        return dict(event)
    return {**event, "event_id": masked_key(str(value))}


def _record_source_id(record: Mapping[str, Any]) -> str:
    """The event source ID of a feed record (a line written before ``source_id`` was: the
    last word of ``source``, which ends with it)."""
    found = record.get("source_id")
    if isinstance(found, str):
        return found
    words = str(record.get("source") or "").split()
    return words[-1] if words else ""


def mask_pii(value: Any, key: str | None = None) -> Any:
    """A copy of a JSON-like value with raw PII masked: values of the keys the catalogs
    mark ``masked`` (``registry.masked_keys``), or whose name says personal data
    (``phone_number``), that are not a SHA-256 (their first character
    kept), e-mail addresses, ``+`` phone numbers and IPv4 addresses anywhere
    (``pii_text.mask_text``), an event id holding one of those as a key is shown
    (``masked_key``), and tokens dropped. The one masking rule of every printed payload:
    plan samples, ``retl show --payload``, the sandbox's feed and the local page."""
    if isinstance(value, Mapping):
        return {
            str(k): "[REDACTED]" if k in _SECRET_KEYS else mask_pii(v, str(k))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_pii(v, key) for v in value]
    if isinstance(value, str):
        if key is not None and _masked_key(key) and not _HASHED.fullmatch(value):
            masked = mask_emails(value)
            return masked if masked != value else (value[:1] + "***" if value else value)
        if key == "event_id" and looks_pii(value):
            return masked_key(value)
        return mask_text(value)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and key is not None and _masked_key(key):
        return str(value)[:1] + "***"  # a phone or lead_id kept as a number: as its text
    return value


@lru_cache(maxsize=4096)  # per key of every fed event: ~4 us of regexes, a few dozen names
def _masked_key(key: str) -> bool:
    """A field a catalog marks ``masked``, or a custom property whose name says personal
    data (``phone_number``, ``customer_msisdn``, ``client_ip``: ``pii_text.pii_name``)."""
    return key in masked_keys() or pii_name(key)


class SandboxFeed:
    """Appends event records to the feed file; thread-safe, and a file that cannot be
    written only costs a debug line (the feed is a view, never a reason to refuse events)."""

    def __init__(self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._prefix = f"{os.getpid()}-{threading.get_ident() % 10_000}"
        self._marks = _Marks(marks_path(path))

    def tiktok(
        self,
        at: float,
        body: Mapping[str, Any],
        *,
        duplicates: Iterable[int] = (),
        rejected: tuple[int | None, str] | None = None,
    ) -> None:
        """Events of one Events API request: accepted (``duplicates`` by index), or all
        refused with ``rejected`` = (code, message)."""
        source_id = str(body.get("event_source_id", "?"))
        self._request(
            at,
            body,
            platform="tiktok",
            source=f"{body.get('event_source', '?')} {source_id}",
            source_id=source_id,
            name_key="event",
            duplicates=set(duplicates),
            rejected=rejected,
            problems={},
        )

    def meta(
        self,
        at: float,
        pixel_id: str,
        test_event_code: str | None,
        events: list[Any],
        *,
        duplicates: Iterable[int] = (),
        problems: Mapping[int, str] | None = None,
    ) -> None:
        """Events of one Conversions API request; ``problems`` (index -> reason) when it was
        refused (code 100, as Meta answers)."""
        body = {"data": events, "test_event_code": test_event_code}
        rejected = None if problems is None else (100, "the request was refused")
        self._request(
            at,
            body,
            platform="meta",
            source=pixel_id,
            source_id=pixel_id,
            name_key="event_name",
            duplicates=set(duplicates),
            rejected=rejected,
            problems=problems or {},
        )

    def _request(
        self,
        at: float,
        body: Mapping[str, Any],
        *,
        platform: str,
        source: str,
        source_id: str,
        name_key: str,
        duplicates: set[int],
        rejected: tuple[int | None, str] | None,
        problems: Mapping[int, str],
    ) -> None:
        events = body.get("data")
        events = events if isinstance(events, list) else []
        common = {
            "at": at,
            "platform": platform,
            "source": source,
            "source_id": source_id,
            "test_event_code": _text(body.get("test_event_code")),
        }
        personal = (platform, source_id) in self._marks.get()
        lines = []
        for i, item in enumerate(events[:MAX_EVENTS_PER_REQUEST]):
            event = item if isinstance(item, dict) else {"value": item}
            if personal:  # an event id built from personal data (a sync marked the source)
                event = _hash_event_id(event)
            verdict = REJECTED if rejected else DUPLICATE if i in duplicates else ACCEPTED
            record = {
                **common,
                "id": self._next_id(),
                "verdict": verdict,
                "code": rejected[0] if rejected else None,
                "problem": _problem(problems.get(i, rejected[1])) if rejected else None,
                "event": _text(event.get(name_key)),
                "event_id": mask_pii(_text(event.get("event_id")), "event_id"),
                "data": mask_pii(event),
            }
            lines.append(_dump(record))
        if not events and rejected:  # a request refused before its events could be read
            empty = {"event": None, "event_id": None, "data": None}
            code, problem = rejected
            record = {
                **common,
                **empty,
                "verdict": REJECTED,
                "code": code,
                "problem": _problem(problem),
            }
            lines.append(_dump({**record, "id": self._next_id()}))
        omitted = len(events) - MAX_EVENTS_PER_REQUEST
        if omitted > 0:
            lines.append(_dump({**common, "id": self._next_id(), "omitted": omitted}))
        self._append(b"".join(lines))

    def _next_id(self) -> str:
        return f"{self._prefix}-{next(self._ids)}"

    def _append(self, data: bytes) -> None:
        with self._lock:
            try:
                project_files.own_folder(self.path.parent, create=True)
                if self.path.exists() and self.path.stat().st_size + len(data) > self.max_bytes:
                    os.replace(self.path, self.path.with_name(self.path.name + ".1"))
                # One write per request in append mode: lines of two emulators writing the
                # same feed (retl sandbox and a sync --sandbox) never interleave mid-line.
                # Never through a symbolic link (a pull request's, to ~/.bashrc): refused.
                with project_files.open_append(self.path) as f:
                    f.write(data)
            except (OSError, StateError):
                logger.debug("sandbox feed %s not written", self.path, exc_info=True)


def read_feed(path: Path, *, limit: int = 200) -> list[dict[str, Any]]:
    """The newest ``limit`` records of the feed, newest first (the rotated file too when the
    current one holds fewer); a line cut short or damaged is skipped. PII is masked again on
    reading: the file is the project's, and anything may have written to it; so are the event
    ids of the sources a sync marked (``mark_personal_ids``), whoever wrote their lines."""
    marks = _read_marks(marks_path(path))
    records: list[dict[str, Any]] = []
    for file in (path, path.with_name(path.name + ".1")):
        for line in reversed(_tail_lines(file, limit - len(records))):
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict):
                if (str(record.get("platform")).lower(), _record_source_id(record)) in marks:
                    record = _hash_event_id(record)
                    if isinstance(record.get("data"), dict):
                        record["data"] = _hash_event_id(record["data"])
                records.append(mask_pii(record))
        if len(records) >= limit:
            break
    return records[:limit]


def _tail_lines(path: Path, count: int, chunk: int = 64 * 1024) -> list[bytes]:
    """The last ``count`` complete lines of ``path`` (reading backwards, not the whole file),
    within its last ``MAX_TAIL_BYTES``. A file that is no regular file (a committed symbolic link
    to a device, or a pipe: opening it would block) has none."""
    if count <= 0:
        return []
    try:
        with project_files.open_regular(path) as f:  # a pipe there would block
            end = f.seek(0, os.SEEK_END)
            chunks: list[bytes] = []
            newlines = 0
            pos = end
            while pos > 0 and newlines <= count and end - pos < MAX_TAIL_BYTES:
                step = min(chunk, pos)
                pos -= step
                f.seek(pos)
                chunks.append(f.read(step))
                newlines += chunks[-1].count(b"\n")
    except OSError:
        return []
    data = b"".join(reversed(chunks))
    lines = data.split(b"\n")
    if pos > 0:
        lines = lines[1:]  # the first one is cut at the chunk boundary
    return [line for line in lines if line.strip()][-count:]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _dump(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, default=str) + b"\n"


def _problem(text: str | None) -> str | None:
    """A refusal's reason as written to the feed: an emulator's message may quote the value it
    refused (an e-mail, a phone), which is masked as the events' values are."""
    return None if text is None else mask_text(text)
