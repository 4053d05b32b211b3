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
- the tokens of the text (``regexp_extract_all``: a string with the colon of a key, an empty
  ``[]`` or ``{}``, a bracket, a scalar; commas and colons are written again) folded
  (``list_reduce``) over a stack of the open arrays' and objects' texts: a value is added to
  the innermost one with its key; ``null`` drops its key; a closing bracket adds its array or
  object to the one around it, or drops it with its key when nothing was added to it. A
  string ``"null"`` is one token, a string. About 20-45 µs a row (docs/performance.md).

Pure: this module only writes SQL.
"""

from __future__ import annotations

# A JSON string, with its key's colon (to_json writes no space); an empty array or object (a
# value, as a number is); a bracket; a number, true, false or null.
_TOKEN = r""""(?:[^"\\]|\\.)*":?|\[\]|\{\}|[\[\]{}]|[^,:\[\]{}"]+"""
_OPENS = "('[', '{')"


def without_nulls(sent: str) -> str:
    """SQL: the JSON ``sent`` (as ``to_json`` writes it) without its nulls (module docstring),
    as JSON; NULL when nothing is left."""
    merged = f"json_merge_patch('{{}}', {sent})"
    whole = "NOT contains(__m, 'null') AND NOT contains(__m, '{}')"
    merged = f"list_filter([{merged}], __m -> {whole})[1]"  # NULL when not taken
    merged = f"CASE WHEN json_type({sent}) = 'OBJECT' THEN {merged} END"
    folded = f"CAST({_folded(sent)} AS JSON)"
    return (
        f"CASE WHEN NOT contains({sent}, 'null') THEN {sent} ELSE coalesce({merged}, {folded}) END"
    )


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
