"""SQL: a custom property's JSON text without the nulls of its JSON (a column of DuckDB type
JSON, a warehouse's json, jsonb or VARIANT, or a JSON leaf of the lists and structs they are
read as), as ``own_json`` leaves out a typed value's NULLs: both platforms refuse the whole
event for one JSON ``null``.

A top-level ``null`` is left out (NULL), and so are an array's ``null`` items and an object's
members whose value is ``null``, at any depth; an array or object left empty by that is left
out in turn, up to the top (one the model wrote empty, ``[]`` or ``{}``, is sent as it is).
The rest is ``to_json``'s text, what was sent before: a number's digits as it writes them
(``1e400``, a long integer), the keys in their order (a key written twice too), the strings
and their escapes.

Three ways, the cheapest that holds, per row:

- a text with no ``null`` in it (nearly every one) is sent as it is (``contains``);
- an object whose nulls are all members of objects (no array in the way) and that loses no
  object whole: JSON merge patch onto ``{}`` (RFC 7386, in C), which leaves out exactly
  those members; taken when its text holds no ``null`` (one in an array is kept) and no ``{}``
  (maybe an object emptied, which must go too), else
- sentinels, each step one linear ``regexp_replace`` (RE2) over the text, about 3-5 µs a
  row and ~5 ms for 85 kB (docs/performance.md). ``to_json``'s text is compact, and writes
  a control character in a string escaped (``\\u0001``): a raw chr(1) is only ever one
  this module wrote, outside the strings. (1) Each ``null`` outside the strings becomes chr(1)
  (the strings are matched whole, so a ``null`` in one is no match). (2) An array or object
  holding only sentinels (items, or members: a key, its colon, a sentinel) becomes one, one
  level of nesting a pass, ``_PASSES`` times. (3) The sentinels left go with their keys and
  commas; a sentinel alone is nothing left (NULL). The pieces of (2) and (3) are found in
  the right places only: chr(1) is outside strings, so is the bracket, comma or colon next
  to it; the key before ``":`` and chr(1) is matched from its opening quote, as the quote
  after a ``{`` or ``,`` cannot be read as an escaped one. A nesting of only nulls deeper
  than that takes ``_DEEPER`` passes more (linear each: a 128 kB array with one ``null``
  9 deep, 83 ms, where the fold took 32 s); one deeper still is left to
- the fold, over the text the passes left (its sentinels written ``null`` again): its tokens
  (``regexp_extract_all``: a string with the colon of a key, an empty ``[]`` or ``{}``, a
  bracket, a scalar; commas and colons are written again) folded (``list_reduce``) over a
  stack of the open arrays' and objects' texts: a value is added to the innermost one with
  its key; ``null`` drops its key; a closing bracket adds its array or object to the one
  around it, or drops it with its key when nothing was added to it. A string ``"null"`` is
  one token, a string. Its string concatenation is quadratic in the text's length (2 s for
  one 16,000-item array): kept for what the passes cannot finish only (nesting past 64).

Pure: this module only writes SQL.
"""

from __future__ import annotations

# A JSON string, with its key's colon (to_json writes no space); an empty array or object (a
# value, as a number is); a bracket; a number, true, false or null.
_TOKEN = r""""(?:[^"\\]|\\.)*":?|\[\]|\{\}|[\[\]{}]|[^,:\[\]{}"]+"""
_OPENS = "('[', '{')"

# The sentinels' way (module docstring). (1) A run of strings, matched whole (written back
# followed by chr(1), removed right after its closing quote: a ``null`` never follows a
# quote), with what is between them when that holds no ``n`` (outside strings, only
# ``null`` and ``Infinity`` do), or ``null``. (2) An array or object of only sentinels.
# (3) A sentinel (with its key) and its comma.
_STRING = r'"(?:[^"\\]|\\.)*"'
_MARK = f'({_STRING}(?:[^"n]*{_STRING})*)|null'
_SENTINEL = f"(?:{_STRING}:)?\\x01"
_EMPTIED = f"[\\[{{]{_SENTINEL}(?:,{_SENTINEL})*[\\]}}]"
_LEFT = f",{_SENTINEL}|{_SENTINEL},"
_PASSES = 8
_DEEPER = 56  # passes more, for a text with nesting of only nulls deeper than _PASSES


def without_nulls(sent: str) -> str:
    """SQL: the JSON ``sent`` (as ``to_json`` writes it) without its nulls (module docstring),
    as JSON; NULL when nothing is left."""
    merged = f"json_merge_patch('{{}}', {sent})"
    whole = "NOT contains(__m, 'null') AND NOT contains(__m, '{}')"
    merged = f"list_filter([{merged}], __m -> {whole})[1]"  # NULL when not taken
    merged = f"CASE WHEN json_type({sent}) = 'OBJECT' THEN {merged} END"
    cleaned = f"CAST({_cleaned(sent)} AS JSON)"
    return (
        f"CASE WHEN NOT contains({sent}, 'null') THEN {sent} ELSE coalesce({merged}, {cleaned}) END"
    )


def _cleaned(text: str) -> str:
    """SQL: the JSON ``text`` without its nulls by the sentinels (module docstring), as
    VARCHAR; by the fold over what the passes left when an array or object emptied is nested
    deeper than ``_PASSES``."""
    # What the passes left, a lambda's variable: it is read twice or three times. Nesting
    # deeper than the passes (rare) takes ``_DEEPER`` more, each linear too; the fold only
    # past those, as it is quadratic (a 128 kB array with one null 9 deep: 32 s).
    deeper = f"list_transform([{_reduced('__c', _DEEPER)}], __d -> {_finished('__d')})[1]"
    done = f"CASE WHEN regexp_matches(__c, '{_EMPTIED}') THEN {deeper} "
    done += f"ELSE {_left_out('__c')} END"
    return f"list_transform([{_collapsed(_marked(text), _PASSES)}], __c -> {done})[1]"


def _finished(collapsed: str) -> str:
    """SQL: ``collapsed`` without its sentinels, their keys and commas (``_left_out``); by the
    fold when an array or object of only sentinels is still in it."""
    return (
        f"CASE WHEN regexp_matches({collapsed}, '{_EMPTIED}') "
        f"THEN {_folded(_as_nulls(collapsed))} ELSE {_left_out(collapsed)} END"
    )


def _marked(text: str) -> str:
    """SQL: ``text`` with each ``null`` token (outside strings) written as the sentinel chr(1)."""
    marked = f"regexp_replace({text}, '{_MARK}', '\\1' || chr(1), 'g')"
    return f"replace({marked}, '\"' || chr(1), '\"')"


def _collapsed(marked: str, passes: int) -> str:
    """SQL: ``marked`` with each array or object that holds only sentinels (items, or members
    with their keys) written as a sentinel, ``passes`` times (one level of nesting each)."""
    for _ in range(passes):
        marked = f"regexp_replace({marked}, '{_EMPTIED}', chr(1), 'g')"
    return marked


def _reduced(marked: str, passes: int) -> str:
    """SQL: ``_collapsed`` written as one ``list_reduce`` over ``passes`` steps: the same
    passes, but its text does not grow with them (56 nested calls lengthened every encode
    with a contents list by ~6 KB, parsed and bound on every sync, for a rare row)."""
    step = f"regexp_replace(__acc, '{_EMPTIED}', chr(1), 'g')"
    return f"list_reduce(list_resize([{marked}], {passes + 1}, ''), (__acc, __e) -> {step})"


def _left_out(collapsed: str) -> str:
    """SQL: ``collapsed`` (no array or object of only sentinels left in it) without its
    sentinels, their keys and commas; NULL when it is one sentinel (nothing left)."""
    return f"NULLIF(regexp_replace({collapsed}, '{_LEFT}', '', 'g'), chr(1))"


def _as_nulls(marked: str) -> str:
    """SQL: ``marked`` with its sentinels written ``null`` again (JSON for the fold)."""
    return f"replace({marked}, chr(1), 'null')"


def _separated(frame: str) -> str:
    """SQL: the comma to write before the next value added to ``frame`` (none for the first:
    the frame holds only its key and bracket, or is the empty root)."""
    return f"CASE WHEN {frame} = '' OR right({frame}, 1) IN {_OPENS} THEN '' ELSE ',' END"


def _folded(text: str) -> str:
    """SQL: the JSON ``text`` without its nulls by the fold (module docstring), as VARCHAR."""
    # The fold's state is of its items' type (list_reduce's rule): each token is a list of
    # one, the state the stack of open texts (the root first, which takes at most one value)
    # and, last, the key read before the next value.
    tokens = f"list_transform(regexp_extract_all({text}, '{_TOKEN}'), __t -> [__t])"
    t, top, outer, key = "__e[1]", "__a[-2]", "__a[-3]", "__a[-1]"
    step = (
        f"CASE WHEN {t} IN {_OPENS} THEN list_concat(__a[:-2], [{key} || {t}, '']) "
        f"WHEN {t} IN (']', '}}') THEN CASE WHEN right({top}, 1) IN {_OPENS} "
        f"THEN list_append(__a[:-3], '') "
        f"ELSE list_concat(__a[:-4], [{outer} || {_separated(outer)} || {top} || {t}, '']) END "
        f"WHEN right({t}, 1) = ':' THEN list_append(__a[:-2], {t}) "
        f"WHEN {t} = 'null' THEN list_append(__a[:-2], '') "
        f"ELSE list_concat(__a[:-3], [{top} || {_separated(top)} || {key} || {t}, '']) END"
    )
    return f"NULLIF(list_reduce({tokens}, (__a, __e) -> {step}, ['', ''])[1], '')"
