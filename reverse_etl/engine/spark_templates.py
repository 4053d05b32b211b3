"""The values a Spark Connect error quotes when the server sent its text without its message
parameters.

A Spark Connect server sends an error's class and message parameters in the gRPC status's
metadata, which is bounded (``spark.connect.grpc.maxMetadataSize``, 1 KiB): with a longer
value, and the error enrichment off (``spark.sql.connect.enrichError.enabled``, the client's
second call for the details), both are left out and only the text comes: ``[INVALID_TIMEZONE]
The timezone: Jane/Quixote is invalid``. The values are then read from the text against
Spark's template of that error class (``The timezone: <timeZone> is invalid``), from the
error conditions pyspark's jars ship (``error/error-conditions.json``).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import zipfile
from pathlib import Path
from typing import Any

# An error class at the text's start: [INVALID_TIMEZONE], [INVALID_URL.DECODE] (sub-class).
_LEADING_CLASS = re.compile(r"\s*\[([A-Z][A-Z0-9_]*)(?:\.([A-Z0-9_]+))?\] ?")
_PARAMETER = re.compile(r"<([A-Za-z_]\w*)>")
# What follows an error's message in its text: the SQL state, a query context, the stack.
_MESSAGE_END = re.compile(r"\s+SQLSTATE: |[ \t\r]*\n|\s*\Z")
_ENDS = re.compile(r"\s")  # where a message's end could start


def is_connect_error(exc: BaseException) -> bool:
    return any(c.__name__ == "SparkConnectGrpcException" for c in type(exc).__mro__)


def template_values(text: str, naming: re.Pattern[str]) -> list[str]:
    """The values ``text`` (a Spark error's, starting with its class) quotes: what stands in
    its template's parameters but those whose name ``naming`` matches. A text cut short (the
    server abbreviates one over 2 KiB) has everything after the last literal it still shows
    as a value; a class without a known template (another Spark's, pyspark without its jars),
    or a text its template does not match, has its whole message as one.

    Read in one pass, each parameter's value up to the first place its template's next words
    stand (a regular expression of lazy groups took minutes on a message that repeats them);
    where a value kept (a type, a name) could have been read at another place because those
    words stand more than once, the whole message is the value."""
    head = _LEADING_CLASS.match(text)
    if head is None:
        return []
    body = text[head.end() :]
    template = _template(head.group(1), head.group(2))
    if template is None:
        return [body.strip()]
    parts = _PARAMETER.split(template)  # literals at even places, parameter names at odd
    literals, names = parts[0::2], parts[1::2]
    if not names:
        return []
    whole = [body.strip()]
    if not body.startswith(literals[0]):
        return whole
    read = _read(body, literals, len(literals[0]))
    if read is None:
        return whole
    values: list[str] = []
    for i, (value, complete) in enumerate(read):
        if complete and naming.search(names[i]):
            if any(body.count(lit) > 1 for lit in literals[1 : len(read) + 1] if lit):
                return whole  # where a kept value ends is not certain
            continue
        values += [value.strip(), value.strip().strip("'\"`")]
    return list(dict.fromkeys(v for v in values if len(v) >= 2))


def _read(body: str, literals: list[str], at: int) -> list[tuple[str, bool]] | None:
    """Each parameter's value in ``body`` from ``at`` (after the template's first words), and
    whether the words after it were found (a text cut short ends with a value read to its
    end); None where two parameters stand side by side (nothing tells them apart)."""
    read: list[tuple[str, bool]] = []
    last = len(literals) - 2
    for i, after in enumerate(literals[1:]):
        if i == last:
            stop = _message_end(body, after, at)
        elif not after:
            return None
        else:
            stop = body.find(after, at)
        if stop < 0:
            read.append((body[at:], False))  # cut short: the rest is this value
            return read
        read.append((body[at:stop], True))
        at = stop + len(after)
    return read


def _message_end(body: str, after: str, at: int) -> int:
    """Where the template's last words ``after`` stand from ``at`` with the message's end
    right after them (the SQL state, a line break, the text's end); -1 if nowhere."""
    stop = body.find(after, at) if after else at
    while stop >= 0:
        if _MESSAGE_END.match(body, stop + len(after)):
            return stop
        stop = body.find(after, stop + 1) if after else _next_end(body, stop + 1)
    return -1


def _next_end(body: str, at: int) -> int:
    """The next place from ``at`` a message could end (a value at the template's end)."""
    found = _ENDS.search(body, at)
    return found.start() if found else -1


def _template(error_class: str, sub_class: str | None) -> str | None:
    """Spark's message template of an error class (``[A.B]``: A's message, then B's)."""
    info = _conditions().get(error_class)
    if not isinstance(info, dict):
        return None
    text = "\n".join(info.get("message", []))
    if sub_class:
        sub = info.get("subClass", {}).get(sub_class)
        if not isinstance(sub, dict):
            return None
        text += " " + "\n".join(sub.get("message", []))
    return text


@functools.cache
def _conditions() -> dict[str, Any]:
    """Spark's error conditions, from the jar pyspark ships them in ({} without it)."""
    try:
        spec = importlib.util.find_spec("pyspark")  # found, not imported: spark.py does that
        if spec is None or not spec.submodule_search_locations:
            return {}
        home = Path(next(iter(spec.submodule_search_locations)))
        jars = sorted((home / "jars").glob("spark-common-utils_*.jar"))
        if not jars:
            return {}
        with zipfile.ZipFile(jars[-1]) as jar:
            conditions = json.loads(jar.read("error/error-conditions.json"))
        return conditions if isinstance(conditions, dict) else {}
    except Exception:  # no pyspark, a jar without the file, a file pyspark changed
        return {}
