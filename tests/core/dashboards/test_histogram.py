"""The fixed histograms of working minutes (core/dashboards/histogram.py): the bins cover
every whole minute once, and a percentile read from them is within one bin's width of
``percentile_cont``'s, exact under 32 minutes."""

from __future__ import annotations

import random

import pytest

from core.dashboards import histogram as h
from core.dashboards.voice import percentile


def counts_of(values: list[int]) -> list[int]:
    counts = [0] * h.BINS
    for value in values:
        counts[h.bin_of(value)] += 1
    return counts


def test_the_bins_cover_every_minute_once_in_order():
    assert h.BINS == 225 and h.bounds(0) == (0, 0) and h.bounds(h.OVERFLOW) == (h.TOP, h.TOP)
    for index in range(h.OVERFLOW - 1):
        assert h.bounds(index)[1] + 1 == h.bounds(index + 1)[0], index
    assert h.bounds(h.OVERFLOW - 1)[1] == h.TOP - 1
    for minutes in [*range(0, 5000), *range(5000, h.TOP, 97), h.TOP - 1]:
        first, last = h.bounds(h.bin_of(minutes))
        assert first <= minutes <= last, minutes
    assert h.bin_of(h.TOP) == h.bin_of(10 * h.TOP) == h.OVERFLOW
    assert h.bin_of(-3) == 0


def test_a_bin_is_one_minute_under_32_then_at_most_a_sixteenth_of_its_start():
    for index in range(h.OVERFLOW):
        first, last = h.bounds(index)
        if first < h.EXACT_BELOW:
            assert first == last
        else:
            assert (last - first + 1) * 16 <= first, index
    with pytest.raises(ValueError):
        h.bounds(h.BINS)


def test_percentiles_under_32_minutes_are_exact():
    values = [5, 10, 20, 30, 30, 31, 0, 7]
    for share in (0.5, 0.9, 0.0, 1.0):
        assert h.percentile(counts_of(values), share) == percentile(sorted(values), share)
    assert h.percentile([0] * h.BINS, 0.5) is None


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_stay_within_one_bins_width_of_the_exact_ones(seed):
    generator = random.Random(seed)
    values = sorted(int(generator.lognormvariate(7, 1.2)) for _ in range(generator.choice(
        (1, 2, 7, 100, 2500))))
    counts = counts_of(values)
    for share in (0.5, 0.9):
        exact = percentile(values, share)
        position = share * (len(values) - 1)
        nearest = {values[int(position)], values[min(int(position) + 1, len(values) - 1)]}
        width = max(h.bounds(h.bin_of(v))[1] - h.bounds(h.bin_of(v))[0] for v in nearest)
        assert exact is not None
        assert abs(h.percentile(counts, share) - exact) <= width  # type: ignore[operator]
        assert abs(h.percentile(counts, share) - exact) <= max(nearest) / 16  # type: ignore[operator]


def test_longer_than_the_top_is_read_as_the_top():
    assert h.percentile(counts_of([h.TOP * 3, h.TOP * 5]), 0.5) == h.TOP


def test_histograms_add_bin_by_bin():
    total = counts_of([1, 40])
    h.add(total, counts_of([1, 5000]))
    assert total == counts_of([1, 1, 40, 5000])
