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
_MESSAGE_END = r"(?=\s+SQLSTATE: |\s*\n|\s*\Z)"


def is_connect_error(exc: BaseException) -> bool:
    return any(c.__name__ == "SparkConnectGrpcException" for c in type(exc).__mro__)


def template_values(text: str, naming: re.Pattern[str]) -> list[str]:
    """The values ``text`` (a Spark error's, starting with its class) quotes: what stands in
    its template's parameters but those whose name ``naming`` matches. A text cut short (the
    server abbreviates one over 2 KiB) has everything after the last literal it still shows
    as a value; a class without a known template (another Spark's, pyspark without its jars),
    or a text its template does not match, has its whole message as one."""
    head = _LEADING_CLASS.match(text)
    if head is None:
        return []
    body = text[head.end() :]
    template = _template(head.group(1), head.group(2))
    if template is None:
        return [body.strip()]
    parts = _PARAMETER.split(template)  # literals at even places, parameter names at odd
    count = len(parts) // 2
    # The whole template, then the template cut after each parameter, the last first
    for shown, whole in [(count, True), *((k, False) for k in range(count, 0, -1))]:
        pattern = re.escape(parts[0])
        for i in range(shown):
            if whole or i < shown - 1:
                pattern += "(.*?)" + re.escape(parts[2 * i + 2])
            else:
                pattern += "(.*)"  # the rest of a text cut short: a value as far as known
        match = re.match(pattern + (_MESSAGE_END if whole else ""), body, re.S)
        if match is None:
            continue
        values = []
        for i, value in enumerate(match.groups()):
            if naming.search(parts[2 * i + 1]) and (whole or i < shown - 1):
                continue
            values += [value.strip(), value.strip().strip("'\"`")]
        return list(dict.fromkeys(v for v in values if len(v) >= 2))
    return [] if count == 0 else [body.strip()]


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
