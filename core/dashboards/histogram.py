"""Fixed histograms of working minutes: what the daily summary keeps of the times to
first response and to answer (``voice_daily_times``), so that a median or a 90th
percentile over months reads a few hundred rows instead of every cycle.

**The bins** are the same for every day, agency and measure, so two histograms add up
bin by bin. Minutes 0 to 31 have a bin each (exact); from 32 minutes on, each doubling
(32-63, 64-127, ...) is cut into ``PER_OCTAVE`` equal bins, up to ``TOP`` minutes
(131,072 working minutes: 312 working days of 7 hours); one last bin holds everything
longer.

**The estimate** (``percentile``) follows ``percentile_cont``: the value at the fractional
rank ``share × (n − 1)``, interpolated between the two nearest ranks. A rank's value is
estimated inside its bin, the bin's values taken as spread evenly over its whole
minutes. **Error bound**: each rank's estimate and its true value lie in the same bin, so
the error is less than the bin's width: none below 32 minutes, less than 1/16 of the
value (6.25 %) from 32 minutes to ``TOP``; beyond ``TOP`` the estimate is ``TOP`` (a
floor: the true value is longer).
"""

from __future__ import annotations

from collections.abc import Sequence

EXACT_BELOW = 32  # minutes with a bin of their own
PER_OCTAVE = 16
FIRST_OCTAVE, LAST_OCTAVE = 5, 17  # 2**5 = 32 minutes up to 2**17 = 131,072 (excluded)
TOP = 2 ** LAST_OCTAVE
OVERFLOW = EXACT_BELOW + (LAST_OCTAVE - FIRST_OCTAVE) * PER_OCTAVE  # the last bin's index
BINS = OVERFLOW + 1  # 225


def bin_of(minutes: int) -> int:
    """The bin of a whole number of working minutes (negative counts as 0)."""
    if minutes < EXACT_BELOW:
        return max(minutes, 0)
    if minutes >= TOP:
        return OVERFLOW
    octave = minutes.bit_length() - 1  # 2**octave <= minutes < 2**(octave + 1)
    step = (1 << octave) // PER_OCTAVE
    return (EXACT_BELOW + (octave - FIRST_OCTAVE) * PER_OCTAVE
            + (minutes - (1 << octave)) // step)


def bounds(index: int) -> tuple[int, int]:
    """The whole minutes a bin holds: [first, last], both included (the overflow bin:
    ``TOP`` alone, as its estimate)."""
    if not 0 <= index < BINS:
        raise ValueError(f"no bin {index}")
    if index < EXACT_BELOW:
        return index, index
    if index == OVERFLOW:
        return TOP, TOP
    octave, part = divmod(index - EXACT_BELOW, PER_OCTAVE)
    step = (1 << (octave + FIRST_OCTAVE)) // PER_OCTAVE
    first = (1 << (octave + FIRST_OCTAVE)) + part * step
    return first, first + step - 1


def _value_at(counts: Sequence[int], rank: int) -> float:
    """The estimated value of the ``rank``-th smallest (from 0): inside its bin, the
    bin's ``c`` values spread evenly, the ``j``-th at ``(j + 0.5) / c`` of the way."""
    seen = 0
    for index, count in enumerate(counts):
        if count and rank < seen + count:
            first, last = bounds(index)
            return first + (last - first) * (rank - seen + 0.5) / count
        seen += count
    raise ValueError("rank beyond the histogram")


def percentile(counts: Sequence[int], share: float) -> float | None:
    """The ``share`` quantile of the values counted in ``counts`` (a histogram of
    ``BINS`` bins), as ``percentile_cont`` would give it within the error bound above;
    None for an empty histogram."""
    total = sum(counts)
    if total == 0:
        return None
    position = share * (total - 1)
    low = int(position)
    high = min(low + 1, total - 1)
    below, above = _value_at(counts, low), _value_at(counts, high)
    return below + (above - below) * (position - low)


def add(into: list[int], counts: Sequence[int]) -> None:
    """``into`` += ``counts``, bin by bin."""
    for index, count in enumerate(counts):
        into[index] += count or 0
