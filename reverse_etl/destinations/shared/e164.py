"""Phone numbers to E.164 with libphonenumber, in this process or in helper processes.

This module imports nothing but the standard library and ``phonenumbers`` (on first use), so
it can also run as a small worker process (``serve``): the parser is pure Python and holds the
GIL, so a large set of distinct numbers is split across processes, one per core
(``parse_parallel``). The worker is loaded from this file by path, not as ``reverse_etl.…``,
so it does not import retl (DuckDB, Arrow, pydantic) just to parse phones.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

# Below this many numbers, starting a process costs more than it saves.
PARALLEL_MIN = 20_000
MAX_WORKERS = 4
WORKER_TIMEOUT = 600.0  # seconds; past it the chunk is parsed here instead

_SEPARATORS = re.compile(r"[()\s.\-/]")
# Meta's documented form of a phone: digits only, country code first (``12133734253``).
_DIGITS = re.compile(r"[0-9]{8,15}")
_LOADER = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('retl_e164_worker', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
    "module.serve(sys.stdin.buffer, sys.stdout.buffer)\n"
)


def parse_e164(
    raw: str, default_region: str | None, digits_international: bool = False
) -> str | None:
    """``raw`` as E.164 (``+12133734253``), or None when it is not a valid phone number.

    ``digits_international``: digits alone (``12133734253``, Meta's documented form) that
    are no valid national number of ``default_region`` (or when there is none) are read
    with a ``+`` in front, as a country code and its number. Not a number that opens with
    parentheses: ``(646) 555-0119`` is a national number (its area code in them), which read
    so became +64 6555 0119, a New Zealand number; ``1 (646) 555-0119`` keeps its reading
    (a country code, then the area code)."""
    text = raw.strip()
    if not text:
        return None
    # "(+1)2133734253" and "001 213..." are common spellings of an international number.
    cleaned = _SEPARATORS.sub("", text)
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    region = None if cleaned.startswith("+") else default_region
    # Imported here, not at the top: ~70 ms that every command importing this module would
    # pay at start-up (issue #18); after the first call it is a dictionary lookup.
    import phonenumbers

    found = _parsed(phonenumbers, cleaned, region)
    if (
        found is None
        and digits_international
        and not text.startswith("(")
        and _DIGITS.fullmatch(cleaned)
    ):
        found = _parsed(phonenumbers, "+" + cleaned, None)
    return found


def _parsed(phonenumbers: Any, cleaned: str, region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def parse_many(
    values: list[str], region: str | None, digits_international: bool = False
) -> list[str | None]:
    return [parse_e164(v, region, digits_international) for v in values]


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """Worker: read one request ``{"region": …, "values": […]}``, answer the list of results."""
    request = json.loads(stdin.read())
    digits = bool(request.get("digits_international"))
    stdout.write(json.dumps(parse_many(request["values"], request["region"], digits)).encode())
    stdout.flush()


def parse_parallel(
    values: list[str],
    region: str | None,
    workers: int | None = None,
    *,
    digits_international: bool = False,
) -> list[str | None]:
    """``parse_e164`` of every value, split across processes when there are many.

    Every share goes to a helper process; this one only waits (parsing a share here too was
    slower: 5.2 s against 4.0 s for 372k numbers on two cores). A helper that cannot start or
    fails leaves its share to this process: the result is the same either way, only slower.
    """
    count = min(workers or os.cpu_count() or 1, MAX_WORKERS)
    if count < 2 or len(values) < PARALLEL_MIN:
        return parse_many(values, region, digits_international)
    size = -(-len(values) // count)
    shares = [values[i : i + size] for i in range(0, len(values), size)]
    answers: list[list[str | None] | None] = [None] * len(shares)
    threads = [
        threading.Thread(
            target=_in_worker,
            args=(share, region, digits_international, answers, i),
            daemon=True,
        )
        for i, share in enumerate(shares)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out: list[str | None] = []
    for share, answer in zip(shares, answers, strict=True):
        out += answer if answer is not None else parse_many(share, region, digits_international)
    return out


def _worker_command() -> list[str]:
    # -I (3.11+): no user site, no PYTHON* variables, and the current directory is not on the
    # path, so nothing there can shadow a module the worker imports.
    isolate = ["-I"] if sys.version_info >= (3, 11) else []
    return [sys.executable, *isolate, "-c", _LOADER, str(Path(__file__).resolve())]


def _in_worker(
    values: list[str],
    region: str | None,
    digits_international: bool,
    answers: list[list[str | None] | None],
    index: int,
) -> None:
    request = {"region": region, "values": values, "digits_international": digits_international}
    body = json.dumps(request).encode()
    try:
        proc = subprocess.Popen(
            _worker_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return
    try:
        out, _ = proc.communicate(body, timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return
    if proc.returncode != 0:
        return
    try:
        answer = json.loads(out)
    except ValueError:
        return
    if isinstance(answer, list) and len(answer) == len(values):
        answers[index] = answer
