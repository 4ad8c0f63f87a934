from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from rapportd.connectors.sync.backoff import MAX_ERROR_BACKOFF, sync_delay


@given(st.integers(5, 3600), st.integers(0, 60), st.integers(0, 2**32))
def test_delay_is_jittered_interval_or_capped_backoff(
    interval: int, errors: int, seed: int
) -> None:
    d = sync_delay(interval, errors, rng=random.Random(seed))
    if errors == 0:
        assert 0.9 * interval <= d <= 1.1 * interval
    else:
        assert d >= 0.9 * min(max(interval, 60), MAX_ERROR_BACKOFF)
        assert d <= 1.1 * MAX_ERROR_BACKOFF


@given(st.integers(5, 3600), st.integers(1, 20))
def test_backoff_grows_with_errors(interval: int, errors: int) -> None:
    lo = sync_delay(interval, errors, rng=random.Random(1))
    hi = sync_delay(interval, errors + 1, rng=random.Random(1))
    assert hi >= lo


def test_retry_after_is_honoured() -> None:
    assert sync_delay(60, 1, retry_after=5000, rng=random.Random(0)) >= 5000
