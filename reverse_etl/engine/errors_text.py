"""Database error text without the data it quotes.

DuckDB and PostgreSQL put the values they failed on into their messages: a whole CSV record
("Original Line: 1001,jane@x.com,+12125550199,..."), the string a cast refused, a JSON
document, a unique key's value. Those are the user's rows, often PII, and the message ends up
on the terminal, in CI logs and in the run report. :func:`redact_error` keeps the facts a
person needs to find the row (file, line, column, type) and masks the values. Pure: text in,
text out.
"""

from __future__ import annotations

import re
from collections.abc import Callable

REDACTED = "<redacted>"

# A CSV record is quoted from "Original Line:" up to DuckDB's own sentence about it; a quoted
# field may hold line breaks, so the record can span lines. Without a known sentence after it,
# everything up to the reader's settings (or the end) goes.
_CSV_SENTENCES = (
    "Error when converting column",
    "Expected Number of Columns",
    "Value with unterminated quote",
    "Value with an unterminated quote",
    "Maximum line size",
    "Invalid unicode",
    "The CSV Parser state machine",
    "Line does not start",
)
_ORIGINAL_LINE = re.compile(
    r"Original Line: .*?(?:\n(?="
    + "|".join(map(re.escape, _CSV_SENTENCES))
    + r")|(?=\n  file = )|\Z)",
    re.DOTALL,
)
_CSV_LINE = re.compile(r"CSV Error on Line: \d+(?! of file)")
_CSV_FILE = re.compile(r"^  file = (.+)$", re.MULTILINE)
# The reader's settings DuckDB lists under a CSV error ("  file = ...", "  delimiter = , (Auto-
# Detected)", "  sample_size = 20480" ...): once the file is named with the line, noise.
_READER_SETTINGS = re.compile(r"\n*^  file = .+$(?:\n  \w+ = .*$)*\n*", re.MULTILINE)

# DuckDB's json functions end with the input they could not parse (it may span lines).
_JSON_INPUT = re.compile(
    r"(Input: )\".*?\"(?=(?: when casting from source column \S+)?(?:\n\nLINE \d+:|\s*\Z))",
    re.DOTALL,
)
# strptime echoes the string on a line of its own, with a caret under the bad character.
_PARSE_ECHO = re.compile(
    r"(Could not parse string )\"(.*?)\"( according to format specifier \"[^\"\n]*\")"
    r"(?:\n.*\n *\^ *(?=\n|\Z))?"
)

# RE2's error texts (re2/re2.cc CodeText), which DuckDB's regexp functions say as
# "Invalid Input Error: CODE: the pattern's part it refuses".
_RE2_CODES = (
    "invalid escape sequence",
    "invalid character class range",
    "invalid character class",
    "missing ]",
    "missing )",
    "unexpected )",
    "no argument for repetition operator",
    "invalid repetition size",
    "bad repetition operator",
    "invalid perl operator",
    "invalid UTF-8",
    "invalid named capture group",
)

# A line of the input echoed above a caret that points into it (PostgreSQL's XML DETAIL,
# "line 1: Premature end of data ...\n<a>Jane Doe\n          ^"), in an error about a value;
# not the SQL excerpt ("LINE 1: select ...") that DuckDB points into the same way.
_CARET_LINE = re.compile(r"[ \t]*\^[ \t]*")

# (pattern, group holding the value): fragments where a database quotes one value.
_VALUE_FRAGMENTS: tuple[tuple[re.Pattern[str], int], ...] = (
    # DuckDB casts: Could not convert string 'x' to INT32 / "x" to 'TIMESTAMP' (to the last
    # quote before " to " of the line: a value may hold a quote followed by " to ")
    (re.compile(r"Could not convert string ([\"'])(.*)\1 to "), 2),
    # DuckDB's dates: invalid date field format: "x", expected format is (YYYY-MM-DD) (to the
    # last quote before ", expected": a value may hold '" to ')
    (re.compile(r"format: \"(.*)\", expected format"), 1),
    # DuckDB: Type INT64 with value 12125550199 can't be cast
    (re.compile(r"with value (.+?) can't be cast"), 1),
    # pyarrow: Could not convert 'x' with type str: tried to convert to int64
    (re.compile(r"Could not convert (.+?) with type \w+:"), 1),
    # PostgreSQL: value "x" is out of range for type integer
    (re.compile(r"value \"(.*?)\" is out of range"), 1),
    # PostgreSQL DETAIL: Key (email)=(x@y.com) already exists. / is not present in table
    (re.compile(r"Key \((.*?)\)=\((.*?)\)(?= already exists| is not present| conflicts)"), 2),
    # PostgreSQL DETAIL: Failing row contains (1, x@y.com, ...).
    (re.compile(r"Failing row contains \((.*)\)"), 1),
    # DuckDB: Unknown TimeZone 'x'! (a row's time zone; PostgreSQL's 'time zone "x" not
    # recognized' is a data error, masked as one; the candidates DuckDB lists stay)
    (re.compile(r"Unknown TimeZone '(.*)'!"), 1),
    # DuckDB's RE2 errors end with the part of the pattern they refuse, which may be a row's
    # value (regexp_matches(text, pattern_column)): 'missing ): (x', 'unexpected ): x)'
    (re.compile(rf"(?:{'|'.join(map(re.escape, _RE2_CODES))}): (.+)"), 1),
    # Both: '...format: "x"', 'invalid input syntax for type integer: "x"', 'to numerical: "x"'
    # (not DuckDB's "Candidate bindings: "col", ...": column names, the fix of a misspelt one;
    # nor "Candidate time zones: ...")
    (re.compile(r"(?<!Candidate bindings)(?<!Candidate time zones): \"([^\"\n]*)\""), 1),
)

# DuckDB's "LINE 1: select ..." under a message; PostgreSQL's "(LINE 1: ...)" after it.
_SQL_EXCERPT = re.compile(r"LINE \d+: .*")
# A masked value this long is masked in the SQL excerpt too (a shorter one, "1" or "x",
# would mask the SQL around it rather than a value).
_MIN_ECHOED = 3

# Values that look like PII wherever they appear (a SQL excerpt, an unknown message shape).
# Tried only where a run of the local part's characters starts: tried at each place of a
# long run without "@", the search was quadratic (0.4 s for 20 kB, minutes for 1 MB).
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_PHONE = re.compile(r"\+\d[\d ().-]{5,}\d|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")
# Long digit runs (phones without "+", card or account numbers), but not the line and byte
# numbers that locate a problem.
_DIGITS = re.compile(r"(?<![\w.])(?<!Line: )(?<!line )(?<!byte )(?<!Line )\d{9,}(?![\w.])")


# DuckDB's errors about a value (a cast, a parse, a range, a type found in a file): any
# quoted text in them may be a row's value, whatever the sentence's wording.
_DATA_ERROR = re.compile(
    r"^(?:Conversion|Invalid Input|Out of Range|Mismatch Type|Constraint) Error: ", re.MULTILINE
)
# A quoted text is a value unless the word before it says it names something the model
# wrote: a column, a type, a format, a file, a function...
_NAMING_WORDS = frozenset(
    {
        "column",
        "columns",
        "type",
        "types",
        "to",
        "as",
        "specifier",
        "file",
        "function",
        "table",
        "relation",
        "schema",
        "database",
        "for",
        "field",
        "setting",
        "index",
        "constraint",
        "sequence",
        "option",
        "parameter",
        "specifying",  # "specifying 'format' or 'records' manually"
        "encoding",  # "Set the correct encoding ... (e.g., encoding='UTF-16')"
        "or",
    }
)
# A quote that opens (no letter before it: not the apostrophe of "can't") and the same quote
# that closes (no letter after it: "O'Brien" stays inside), over line breaks.
_QUOTED = re.compile(r"""(?<![\w])(["'])(.*?)\1(?![\w])""", re.DOTALL)
_WORD_BEFORE = re.compile(r"(\w+)\W*$")
# "Could not cast value 447911123456.000000 to DECIMAL(10,0)": a value without quotes.
_BARE_VALUE = re.compile(r"(?<!/)(\bvalue )([-+]?\d[\d.eE+-]*)")
# Longer error messages about a value are not scanned for quotes (_values_masked).
_LONGEST_CHECKED = 2000
_LOCATING = re.compile(r" when casting from source column \S+| in file \"[^\"\n]{0,500}\"")
_SHORTER_DIGITS = re.compile(
    r"(?<![\w.])(?<!Line: )(?<!line )(?<!byte )(?<!Line )(?<!record/value )\d{5,}(?:\.\d+)?(?![\w])"
)


def redact_error(text: str, *, data: bool | None = None) -> str:
    """``text`` (a database error message) with the data values it quotes masked.

    Drops a CSV record quoted as "Original Line: ..." (keeping the line number, with the
    file named next to it), masks the value in "Could not convert string 'x' to ..." and the
    like, JSON inputs, PostgreSQL's DETAIL keys and failing rows, and anything that looks like
    an email address, a phone number or a long number.

    An error about a value (``data``; by default, DuckDB's Conversion, Invalid Input, Out of
    Range, Mismatch Type and Constraint errors) has every quoted text masked too, unless the
    word before it names a column, a type, a format, a file...: the wording of such messages
    varies (a value over two lines, one holding a quote, "Could not decode string ... as
    base64", a value in a SQLite file of another type), and an unknown one must not echo the
    row."""
    if data is None:
        data = _DATA_ERROR.search(text) is not None
    text = _csv_facts(text)
    text = _JSON_INPUT.sub(lambda m: m.group(1) + REDACTED, text)
    text = _PARSE_ECHO.sub(lambda m: f'{m.group(1)}"{REDACTED}"{m.group(3)}', text)
    if data:  # any other input echoed above a caret
        text = masked_echo(text)
    masked: list[str] = []
    for pattern, group in _VALUE_FRAGMENTS:
        text = pattern.sub(_masking(group, masked), text)
    if data:
        text = _values_masked(text, masked)
    # The excerpt of the SQL under the message may hold the same value as a literal.
    values = sorted({v for v in masked if len(v) >= _MIN_ECHOED}, key=len, reverse=True)
    if values:
        text = _SQL_EXCERPT.sub(lambda m: _without(m.group(0), values), text)
    text = _EMAIL.sub(REDACTED, text)
    text = _PHONE.sub(REDACTED, text)
    return _DIGITS.sub(REDACTED, text)


def masked_echo(text: str) -> str:
    """``text`` without the lines of an input a parser echoes above a caret (``^``) that
    points into it: the input is a row's value. Kept apart from :func:`redact_error` for a
    text whose lines are joined before it is redacted (PostgreSQL's DETAIL)."""
    if "^" not in text:
        return text
    lines = text.split("\n")
    kept: list[str] = []
    for line in lines:
        if _CARET_LINE.fullmatch(line) and kept and kept[-1] != REDACTED:
            echoed = kept[-1]
            if echoed.strip() and not _SQL_EXCERPT.match(echoed):
                kept[-1] = REDACTED
                continue
        kept.append(line)
    return "\n".join(kept)


def _values_masked(text: str, masked: list[str]) -> str:
    """Every quoted text of the message (above its SQL excerpt) that is not introduced by a
    naming word, bare values after "value", and numbers of five digits or more, masked."""
    head, sep, excerpt = text.partition("\nLINE ")
    if len(head) > _LONGEST_CHECKED:
        # A message this long is its value: said without it (the scan below is quadratic
        # in the quotes of a long text), with the facts that locate it.
        kind = _DATA_ERROR.search(head)
        facts = _LOCATING.findall(head)
        masked.append(head)
        head = (kind.group(0) if kind else "") + f"{REDACTED} (a long value)" + "".join(facts)
        return head + sep + excerpt

    def quoted(m: re.Match[str]) -> str:
        value = m.group(2)
        # the word just before (a bounded look back: linear in a message of many quotes)
        before = _WORD_BEFORE.search(head[max(0, m.start() - 40) : m.start()])
        if value == REDACTED or (before and before.group(1).lower() in _NAMING_WORDS):
            return m.group(0)
        masked.append(value)
        return f"{m.group(1)}{REDACTED}{m.group(1)}"

    head = _QUOTED.sub(quoted, head)
    head = _BARE_VALUE.sub(_masking(2, masked), head)
    head = _SHORTER_DIGITS.sub(REDACTED, head)
    return head + sep + excerpt


def _csv_facts(text: str) -> str:
    """No CSV record; "Line: N of file F" instead, so line and file read together."""
    if "Original Line: " not in text and "CSV Error on Line: " not in text:
        return text
    text = _ORIGINAL_LINE.sub("", text)
    files = _CSV_FILE.findall(text)
    if len(files) == 1:
        text = _CSV_LINE.sub(lambda m: f"{m.group(0)} of file {files[0].strip()}", text, count=1)
        # what DuckDB says after the settings keeps a line of its own
        text = _READER_SETTINGS.sub(lambda m: "\n" if m.end() < len(m.string) else "", text)
    return text


def _masking(group: int, masked: list[str]) -> Callable[[re.Match[str]], str]:
    """Replace ``group`` of a match with REDACTED, noting the value in ``masked``."""

    def mask(m: re.Match[str]) -> str:
        start, end = m.span(group)
        masked.append(m.group(group))
        return m.group(0)[: start - m.start()] + REDACTED + m.group(0)[end - m.start() :]

    return mask


def _without(text: str, values: list[str]) -> str:
    for value in values:
        text = text.replace(value, REDACTED)
    return text


_TOKEN = re.compile(r"<Token token_type: [^,]+, text: (.*?), line: .*?>")


def sqlglot_problem(exc: Exception, *, position: bool = True) -> str:
    """sqlglot's complaint in words, on one line: its first error's description with the
    tokens it dumps shown as their text, and (``position``) where it is in the SQL it read."""
    errors = getattr(exc, "errors", None)
    if not errors:
        return " ".join(str(exc).split()) or type(exc).__name__
    first = errors[0]
    description = _TOKEN.sub(lambda m: repr(m.group(1)), str(first.get("description", "")))
    description = " ".join(description.split()) or type(exc).__name__
    if not position:
        return description
    return f"{description} (line {first.get('line')}, column {first.get('col')})"
