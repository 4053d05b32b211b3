"""Match coverage from ``__match`` bits: the plan's figures, the same for every platform.

A platform's encoder writes one integer per row, ``__match``: a bit per match key the row
carries, a bit per value that failed normalisation, and a bit per thing worth a warning (a
phone read in a way the user may not have meant). The platform says what each bit means
(:class:`MatchBits`); the plan sums the bits in the counting query it runs anyway
(:meth:`MatchBits.sql`), so coverage costs no extra scan of the model, and
:meth:`MatchBits.coverage` turns the sums into the report (:class:`MatchCoverage`, the
Destination contract's ``Coverage``). Nothing here knows a platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reverse_etl.destinations.shared.text import either, percent

# The rows to send (valid, new or changed) and the rows encoded for sending (valid or not).
_TO_SEND = "__errors IS NULL AND __change IS DISTINCT FROM 'unchanged'"
_ENCODED = "__change IS DISTINCT FROM 'unchanged'"


@dataclass(frozen=True)
class Flag:
    """A bit of ``__match`` marking rows to send that deserve a warning: ``warning`` is the
    sentence said when some do, with ``{n}`` standing for their number."""

    bit: int
    warning: str


@dataclass(frozen=True)
class MatchBits:
    """What one destination's ``__match`` bits mean, in report order."""

    keys: tuple[tuple[str, int], ...]  # (match key, its bit)
    strong: tuple[str, ...]  # the keys that count towards coverage
    failures: tuple[tuple[str, int], ...] = ()  # (parameter, bit): failed normalisation
    flags: tuple[Flag, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()  # (key, how the summary writes it)
    failure_labels: tuple[tuple[str, str], ...] = ()  # (parameter, e.g. "malformed e-mail(s)")
    # False: the summary leaves out the keys no row carries ("other keys 0%"), for a platform
    # with many (Meta's twenty customer information parameters); the JSON keeps every key.
    zero_keys_listed: bool = True

    def sql(self) -> list[str]:
        """Aggregates over the plan's table (``__errors``, ``__change``, ``__match``), for the
        counting query: per key, the rows to send carrying it; the rows to send with a strong
        key; per normalisation failure, the rows (valid or not) with such a value; per flag,
        the rows to send with it."""
        strong = sum(bit for name, bit in self.keys if name in self.strong)
        out = [f"count(*) FILTER (WHERE {_TO_SEND} AND (__match & {b}) <> 0)" for _, b in self.keys]
        out.append(f"count(*) FILTER (WHERE {_TO_SEND} AND (__match & {strong}) <> 0)")
        out += [
            f"count(*) FILTER (WHERE {_ENCODED} AND (__match & {b}) <> 0)" for _, b in self.failures
        ]
        out += [
            f"count(*) FILTER (WHERE {_TO_SEND} AND (__match & {f.bit}) <> 0)" for f in self.flags
        ]
        return out

    def coverage(
        self, rows: int, counts: Sequence[int], minimum: float | None = None
    ) -> MatchCoverage:
        """From the values of :meth:`sql`, in its order, for ``rows`` rows to send."""
        n, f = len(self.keys), len(self.failures)
        keys = tuple((k, int(c)) for (k, _), c in zip(self.keys, counts[:n], strict=True))
        failures = tuple(
            (p, int(c)) for (p, _), c in zip(self.failures, counts[n + 1 : n + 1 + f], strict=True)
        )
        flagged = tuple(int(c) for c in counts[n + 1 + f :])
        if len(flagged) != len(self.flags):
            raise ValueError(f"{len(self.flags)} flag count(s) expected, got {len(flagged)}")
        return MatchCoverage(self, rows, keys, int(counts[n]), failures, minimum, flagged)


def _share(n: int, of: int) -> float | None:
    """``n / of`` to four places, rounded down as ``percent`` writes it: 99,999 of 100,000
    is 0.9999, not 1.0 (which said 100% of rows to send carried a strong key)."""
    return None if of == 0 else (n * 10_000 // of) / 10_000


@dataclass(frozen=True)
class MatchCoverage:
    """How many of the rows to send carry each match key, before anything is sent."""

    bits: MatchBits
    rows: int  # rows to send: the denominator of every share
    keys: tuple[tuple[str, int], ...]  # (key, rows to send carrying it)
    strong: int  # rows to send carrying at least one strong key
    failures: tuple[tuple[str, int], ...]  # (parameter, rows whose value failed normalisation)
    minimum: float | None = None  # the destination's min_match_coverage
    flagged: tuple[int, ...] = ()  # per flag of ``bits``, the rows to send with it

    @property
    def coverage(self) -> float | None:
        """Share of the rows to send with a strong key (None: nothing to send)."""
        return _share(self.strong, self.rows)

    @property
    def below_minimum(self) -> bool:
        # The exact share, not the four places ``coverage`` keeps: 94,999 of 100,000 rows
        # (rounded to 0.95) passed a min_match_coverage of 0.95.
        if self.minimum is None or not self.rows:
            return False
        return self.strong / self.rows < self.minimum

    @property
    def strong_key_names(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.bits.keys if k in self.bits.strong)

    @property
    def warnings(self) -> tuple[str, ...]:
        """The flags some rows to send carry, each a sentence with their number."""
        return tuple(
            f.warning.replace("{n}", str(n))
            for f, n in zip(self.bits.flags, self.flagged, strict=True)
            if n
        )

    def to_dict(self) -> dict[str, Any]:
        out = {
            "rows_to_send": self.rows,
            "coverage": self.coverage,
            "strong_keys": list(self.strong_key_names),
            "min_match_coverage": self.minimum,
            "below_minimum": self.below_minimum,
            "keys": {name: {"rows": n, "share": _share(n, self.rows)} for name, n in self.keys},
            "normalisation_failures": dict(self.failures),
        }
        if self.bits.flags:
            out["warnings"] = list(self.warnings)
        return out

    def summary(self) -> str:
        """One line for people: the coverage, then each key's share, then the failures."""
        if not self.rows:
            return "match keys: no rows to send"
        text = (
            f"match coverage {percent(self.coverage)} ({self.strong} of {self.rows} rows to "
            f"send carry {either(self.strong_key_names)})"
        )
        if self.minimum is not None:
            text += f", min_match_coverage {percent(self.minimum)}"
        labels = dict(self.bits.labels)
        listed = [(k, n) for k, n in self.keys if n or self.bits.zero_keys_listed]
        shares = [f"{labels.get(k, k)} {percent(_share(n, self.rows))}" for k, n in listed]
        if len(listed) < len(self.keys):
            shares.append(f"other keys {percent(0)}")
        text += "; " + ", ".join(shares)
        failure_labels = dict(self.bits.failure_labels)
        failed = [f"{n} {failure_labels.get(f, f)}" for f, n in self.failures if n]
        if failed:
            text += "; " + ", ".join(failed)
        return text


__all__ = ["Flag", "MatchBits", "MatchCoverage"]
