"""The rhythm model: probabilities, overdue scores and the forecast's use of time."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rapportd.agent.inference.cadence import (
    GapPrior,
    episode_gaps,
    fit_rhythm,
    forecast,
    pooled_prior,
)


def regular(
    period: float, n: int, start: float = 0.0, jitter: float = 0.1, seed: int = 0
) -> list[float]:
    rng = np.random.default_rng(seed)
    gaps = period * rng.lognormal(0, jitter, n)
    return (start + np.cumsum(gaps)).tolist()


histories = st.lists(
    st.floats(min_value=0, max_value=1000, allow_nan=False), min_size=1, max_size=40
)


@settings(max_examples=60, deadline=None)
@given(histories, st.floats(0, 400), st.floats(0.1, 120))
def test_p_interact_is_a_probability(times: list[float], extra: float, horizon: float) -> None:
    as_of = max(times) + 1e-3 + extra
    rhythm = fit_rhythm(times, as_of)
    assert rhythm is not None
    p = rhythm.p_interact(as_of, horizon)
    assert 0.0 <= p <= 1.0


@settings(max_examples=60, deadline=None)
@given(histories, st.lists(st.floats(0, 600), min_size=2, max_size=8))
def test_overdue_score_is_monotone_in_silence(times: list[float], silences: list[float]) -> None:
    last = max(times)
    rhythm = fit_rhythm(times, last + 1e6)
    assert rhythm is not None
    scores = [rhythm.overdue_score(last + s) for s in sorted(silences)]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(scores))
    assert scores[0] >= 0.0


@settings(max_examples=30, deadline=None)
@given(histories, st.floats(0.5, 60))
def test_longer_horizon_never_lowers_p(times: list[float], horizon: float) -> None:
    as_of = max(times) + 3.0
    rhythm = fit_rhythm(times, as_of)
    assert rhythm is not None
    assert rhythm.p_interact(as_of, horizon * 2) >= rhythm.p_interact(as_of, horizon) - 1e-9


def test_weekly_silence_of_three_weeks_is_far_more_overdue_than_quarterly() -> None:
    weekly = regular(7, 40)
    quarterly = regular(91, 8, seed=1)
    history = {"weekly@x.com": weekly, "quarterly@x.com": quarterly}
    prior = pooled_prior(history.values())
    w = fit_rhythm(weekly, weekly[-1] + 22, prior)
    q = fit_rhythm(quarterly, quarterly[-1] + 22, prior)
    assert w is not None and q is not None
    w_score = w.overdue_score(weekly[-1] + 21)
    q_score = q.overdue_score(quarterly[-1] + 21)
    assert w_score > 1.0  # fewer than 1 gap in 10 was this long
    assert q_score < 0.1
    assert w_score > 10 * q_score
    assert 5 < w.typical_gap_days < 9
    assert 60 < q.typical_gap_days < 130


def test_regular_contact_is_expected_soon_and_p_rises_as_the_due_date_comes() -> None:
    weekly = regular(7, 30)
    r = fit_rhythm(weekly, weekly[-1] + 100)
    assert r is not None
    just_after = r.p_interact(weekly[-1] + 1, 2)
    around_due = r.p_interact(weekly[-1] + 6, 2)
    assert around_due > just_after
    assert r.p_interact(weekly[-1] + 1, 14) > 0.8


def test_long_silence_lowers_the_forecast_for_a_regular_contact() -> None:
    monthly = regular(30, 12)
    r = fit_rhythm(monthly, monthly[-1] + 1000)
    assert r is not None
    assert r.p_interact(monthly[-1] + 25, 30) > r.p_interact(monthly[-1] + 400, 30)


def test_bursts_are_one_episode() -> None:
    gaps, _ = episode_gaps([0.0, 0.01, 0.02, 0.1, 10.0, 10.05, 20.0])
    assert gaps.tolist() == [9.9, 9.95] or np.allclose(gaps, [9.9, 9.95])


def test_forecast_uses_only_interactions_before_as_of() -> None:
    history = {"a@x.com": regular(7, 20), "b@x.com": [500.0, 510.0]}
    as_of = 300.0
    out = {f.contact: f for f in forecast(history, as_of, 30)}
    assert "b@x.com" not in out  # nothing before T
    changed = dict(history, **{"a@x.com": history["a@x.com"] + [301.0, 305.0]})
    again = {f.contact: f for f in forecast(changed, as_of, 30)}
    assert again["a@x.com"] == out["a@x.com"]


def test_changing_habits_follow_the_recent_gaps() -> None:
    old_weekly = regular(7, 60)
    now_monthly = regular(30, 12, start=old_weekly[-1], seed=3)
    r = fit_rhythm(old_weekly + now_monthly, now_monthly[-1] + 1)
    assert r is not None
    assert r.typical_gap_days > 14


def test_fallback_prior_without_history() -> None:
    r = fit_rhythm([10.0], 11.0, GapPrior.fallback())
    assert r is not None and r.n_gaps == 0
    assert 0 < r.p_interact(11.0, 30) < 1
    assert r.confidence < 0.2
