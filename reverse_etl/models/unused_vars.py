"""``--vars`` keys that nothing reads: a typo (``start_dat``) silently leaves the model on
its default, and the sync sends other rows than meant. Said as a warning, not an error: a key
may be meant for models another selection or a later change reads. Only the command line's
keys are checked; retl_project.yml's ``vars:`` may hold spares without a word.
"""

from __future__ import annotations

from collections.abc import Iterable

from reverse_etl.config.suggest import did_you_mean


def unused_vars(given: Iterable[str], used: Iterable[str]) -> list[str]:
    """One line per key of ``given`` (``--vars``) that is not in ``used`` (the names the
    models' var() calls and destinations.yml read): the key, the closest name read, and
    which names are read."""
    known = sorted(set(used))
    listed = ", ".join(f"'{v}'" for v in known)
    read = f"the vars read are {listed}" if known else "no var is read"
    lines = []
    for key in given:
        if key in known:
            continue
        close = did_you_mean(key, known)
        lines.append(
            f"--vars: nothing reads '{key}'" + (f" ({close})" if close else "") + f"; {read}"
        )
    return lines
