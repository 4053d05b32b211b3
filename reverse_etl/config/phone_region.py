"""The check of a destination's ``default_phone_region`` setting (TikTok and Meta alike).

A region is valid when ``phonenumbers`` knows it (``phonenumbers.SUPPORTED_REGIONS``). Importing
``phonenumbers`` to ask costs ~30-40 ms, paid by every ``retl validate`` of a project that sets
the region (the demo does) though validate parses no number (issue #18). ``phonenumbers`` keeps
each supported region's metadata in a module of its own, ``phonenumbers/data/region_XX.py``,
which it loads to parse that region's numbers: a region with that file is answered without the
import (``tests/test_phone_region.py`` checks, for every two-letter code, that the file
exists exactly for the supported regions of the installed version). Anything else, a misspelt
region included, is asked of ``phonenumbers`` itself, as before.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path

_TWO_LETTERS = re.compile(r"[A-Z]{2}")


def check_phone_region(value: str) -> str:
    """``value`` upper-cased when it is a region phone numbers know; ValueError otherwise."""
    region = value.upper()
    folder = _data_folder()
    if (
        folder is not None
        and _TWO_LETTERS.fullmatch(region)
        and (folder / f"region_{region}.py").is_file()
    ):
        return region
    import phonenumbers

    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"'{value}' is not a region phone numbers know (use e.g. US, GB, DE)")
    return region


@cache
def _data_folder() -> Path | None:
    """``phonenumbers/data``, found without importing the package (``find_spec`` of a
    top-level package does not run it)."""
    spec = importlib.util.find_spec("phonenumbers")
    folders = list(spec.submodule_search_locations or ()) if spec is not None else []
    return Path(folders[0]) / "data" if folders else None
