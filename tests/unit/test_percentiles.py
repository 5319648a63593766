"""Percentiles read from the rollups' log-spaced buckets stay within 2.5% of the exact
continuous percentile (PostgreSQL's percentile_cont), whatever the values."""

import math
import statistics

from hypothesis import given
from hypothesis import strategies as st

from genroute.db.rollups import FLOOR_S, RATIO, bucket_edge, bucket_value
from genroute.db.scorecard import percentile


def bucket_of(value: float) -> int:
    """The Python twin of `bucket_sql`, for the test."""
    return 0 if value < FLOOR_S else 1 + math.floor(math.log(value / FLOOR_S) / math.log(RATIO))


def exact(values: list[float], share: float) -> float:
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@given(
    st.lists(st.floats(min_value=0.002, max_value=3600), min_size=1, max_size=200),
    st.sampled_from([0.5, 0.95, 0.99]),
)
def test_bucketed_percentiles_are_within_bucket_precision(values: list[float], share: float):
    buckets: dict[int, int] = {}
    for value in values:
        buckets[bucket_of(value)] = buckets.get(bucket_of(value), 0) + 1
    estimate = percentile(buckets, share)
    assert estimate is not None
    assert math.isclose(estimate, exact(values, share), rel_tol=math.sqrt(RATIO) - 1 + 1e-9)


def test_bucket_edges_and_middles() -> None:
    assert bucket_edge(0) == bucket_value(0) == 0.0
    assert bucket_edge(1) == FLOOR_S
    for bucket in (1, 50, 300):
        low, high = bucket_edge(bucket), bucket_edge(bucket + 1)
        assert low < bucket_value(bucket) < high
        assert bucket_of(statistics.fmean([low, high])) == bucket
    assert percentile({}, 0.5) is None
    assert percentile({0: 3}, 0.95) == 0.0


def test_the_wilson_interval_is_honest_at_small_counts_and_at_the_ends() -> None:
    from genroute.analysis.scorecard import wilson_interval

    assert wilson_interval(0, 1) == (0.0, 0.7935)  # one loss says little
    assert wilson_interval(50, 100) == (0.4038, 0.5962)
    low, high = wilson_interval(100, 100)
    assert high == 1.0 and 0.96 < low < 0.97
