"""The rhythm of a relationship: when contact is next expected and how unusual a silence is.

Model (see docs/INFERENCE.md for the justification):

episode
    interactions closer than :data:`EPISODE_GAP_DAYS` to the previous one belong to the same
    episode (a thread of quick replies is one "contact", not ten).
gap
    the time from the last interaction of one episode to the first of the next, in days.
rhythm
    a recency-weighted kernel density of the contact's log-gaps (a mixture of log-normals),
    shrunk towards the owner's pooled gap distribution by ``prior_weight`` pseudo-gaps. It
    copes with irregular gaps and bursts (the density may have several modes), with
    holidays (a long gap is just another kernel) and with changing habits (old gaps weigh
    less, counted back from the last contact so a long silence does not erase the rhythm;
    the half-life scales with the contact's own pace).
alive
    after every episode a relationship may end (BG/NBD-style dropout with a Beta(a, b)
    prior), so a long silence lowers both the chance the relationship is still going and
    the forecast.

From it: ``p_interact`` = P(an interaction in (T, T+N] | silence s so far) =
``A (S(s) - S(s+N)) / (A S(s) + 1 - A)`` with S the gap survival function and A the
probability of being alive right after the last episode; the overdue score
``-log10 S(s)`` (1 = only one gap in ten was this long, 2 = one in a hundred); the
typical gap = the median of the rhythm; the next expected contact = last + typical gap.

Everything here is pure and works in days (floats) or aware datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from scipy.special import log_ndtr, logsumexp

DAY_SECONDS = 86400.0
EPISODE_GAP_DAYS = 0.5
MIN_GAP_DAYS = EPISODE_GAP_DAYS
PRIOR_GRID = 64  # kernels that summarise the pooled (prior) distribution
FALLBACK_PRIOR_DAYS = (3.0, 7.0, 14.0, 30.0, 60.0, 120.0, 240.0)


@dataclass(frozen=True)
class CadenceParams:
    """The model's knobs. The defaults were chosen on synthetic training seeds, never on the
    evaluation data (see benchmarks/forecast.py)."""

    prior_weight: float = 0.5  # pseudo-gaps drawn from the owner's pooled distribution
    min_bandwidth: float = 0.2  # in ln(days)
    max_bandwidth: float = 1.0
    prior_bandwidth: float = 0.35
    half_life_factor: float = 10.0  # recency half-life = factor x the contact's median gap
    min_half_life_days: float = 90.0
    max_half_life_days: float = 730.0
    dropout_a: float = 1.0  # Beta prior of the per-episode chance that a relationship ends
    dropout_b: float = 12.0


DEFAULT_PARAMS = CadenceParams()


@dataclass(frozen=True)
class GapPrior:
    """The owner's pooled gap distribution, as a grid of log-gap kernel centres."""

    centers: np.ndarray  # ln(days)

    @staticmethod
    def fallback() -> GapPrior:
        return GapPrior(np.log(np.array(FALLBACK_PRIOR_DAYS)))


@dataclass(frozen=True)
class Rhythm:
    """A contact's fitted rhythm as of a moment."""

    centers: np.ndarray  # ln(days), own kernels then prior kernels
    weights: np.ndarray  # sum to 1
    bandwidths: np.ndarray
    alive: float  # P(the relationship continues) right after the last episode
    last_at: float  # days (epoch-based) of the last interaction
    first_at: float
    n_gaps: int
    effective_gaps: float  # sum of recency weights of the contact's own gaps
    typical_gap_days: float
    confidence: float
    own_gaps: tuple[float, ...] = field(default=())

    def log_sf(self, t_days: np.ndarray | float) -> np.ndarray:
        """ln S(t): the log-probability that a gap lasts longer than ``t`` days."""
        t = np.atleast_1d(np.asarray(t_days, dtype=float))
        out = np.zeros_like(t)
        pos = t > 0
        if pos.any():
            lt = np.log(t[pos])[:, None]
            z = (self.centers[None, :] - lt) / self.bandwidths[None, :]
            out[pos] = logsumexp(log_ndtr(z) + np.log(self.weights)[None, :], axis=1)
        return np.minimum(out, 0.0)

    def silence(self, as_of: float) -> float:
        return max(0.0, as_of - self.last_at)

    def p_interact(self, as_of: float, horizon_days: float) -> float:
        """P(at least one interaction in (as_of, as_of + horizon])."""
        s = self.silence(as_of)
        log_s, log_sn = self.log_sf(np.array([s, s + horizon_days]))
        surv_s, surv_sn = float(np.exp(log_s)), float(np.exp(log_sn))
        a = self.alive
        denom = a * surv_s + (1.0 - a)
        if denom <= 0:
            return 0.0
        p = a * (surv_s - surv_sn) / denom
        return float(min(1.0, max(0.0, p)))

    def overdue_score(self, as_of: float) -> float:
        """-log10 S(silence): 0 right after contact, 1 when only 1 gap in 10 lasted this long."""
        return float(-self.log_sf(self.silence(as_of))[0] / np.log(10.0))

    def next_expected(self) -> float:
        return self.last_at + self.typical_gap_days

    def reasons(self, as_of: float) -> dict[str, object]:
        """Plain data explaining the rhythm, for the contact's page."""
        return {
            "typical_gap_days": round(self.typical_gap_days, 1),
            "gaps_seen": self.n_gaps,
            "recent_weighted_gaps": round(self.effective_gaps, 2),
            "confidence": round(self.confidence, 2),
            "silence_days": round(self.silence(as_of), 1),
            "overdue_score": round(self.overdue_score(as_of), 2),
            "p_alive_after_last": round(self.alive, 2),
            "recent_gaps_days": [round(g, 1) for g in self.own_gaps[-8:]],
        }


def overdue_from(
    as_of: float,
    last_at: float,
    centers: Sequence[float],
    weights: Sequence[float],
    bandwidths: Sequence[float],
) -> float:
    """:meth:`Rhythm.overdue_score` of a stored rhythm (its kernels and last contact)."""
    rhythm = Rhythm(
        centers=np.asarray(centers, dtype=float),
        weights=np.asarray(weights, dtype=float),
        bandwidths=np.asarray(bandwidths, dtype=float),
        alive=1.0,
        last_at=last_at,
        first_at=last_at,
        n_gaps=0,
        effective_gaps=0.0,
        typical_gap_days=0.0,
        confidence=0.0,
    )
    return rhythm.overdue_score(as_of)


def to_days(at: datetime) -> float:
    return at.timestamp() / DAY_SECONDS


def from_days(days: float) -> datetime:
    from datetime import UTC

    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=days)


def episode_gaps(times: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gaps between episodes (days) and the time each gap ended, from sorted times in days."""
    t = np.sort(np.asarray(times, dtype=float))
    if t.size < 2:
        return np.empty(0), np.empty(0)
    d = np.diff(t)
    keep = d > EPISODE_GAP_DAYS
    return d[keep], t[1:][keep]


def prior_sample(times: Sequence[float]) -> list[float]:
    """One contact's sufficient statistics for the pooled prior: the logs of its episode
    gaps' quartiles (empty without a gap)."""
    gaps, _ = episode_gaps(times)
    if not gaps.size:
        return []
    return [float(x) for x in np.log(np.quantile(gaps, [0.25, 0.5, 0.75]))]


def prior_from_samples(samples: Iterable[Sequence[float]]) -> GapPrior:
    """The pooled prior from every contact's :func:`prior_sample` (order does not matter)."""
    flat = [x for s in samples for x in s]
    if len(flat) < 6:
        return GapPrior.fallback()
    qs = np.quantile(np.asarray(flat), (np.arange(PRIOR_GRID) + 0.5) / PRIOR_GRID)
    return GapPrior(qs)


def pooled_prior(per_contact_times: Iterable[Sequence[float]]) -> GapPrior:
    """The owner's pooled gap distribution: every contact counts once (its median gap and
    quartiles), so one chatty contact does not define "normal" for everyone."""
    return prior_from_samples(prior_sample(times) for times in per_contact_times)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cw = np.cumsum(w)
    return float(v[np.searchsorted(cw, cw[-1] / 2.0)])


def fit_rhythm(
    times: Sequence[float],
    as_of: float,
    prior: GapPrior | None = None,
    params: CadenceParams = DEFAULT_PARAMS,
) -> Rhythm | None:
    """Fit a contact's rhythm from interaction times (days) strictly before ``as_of``.

    Returns None when there is no interaction before ``as_of``.
    """
    t = np.sort(np.asarray([x for x in times if x < as_of], dtype=float))
    if t.size == 0:
        return None
    prior = prior or GapPrior.fallback()
    gaps, ends = episode_gaps(t)
    n = int(gaps.size)
    centers_own = np.log(np.maximum(gaps, MIN_GAP_DAYS))
    if n:
        median_gap = float(np.median(gaps))
        half_life = float(
            np.clip(
                params.half_life_factor * median_gap,
                params.min_half_life_days,
                params.max_half_life_days,
            )
        )
        w_own = 0.5 ** ((t[-1] - ends) / half_life)  # relative to the last contact
        eff = float(w_own.sum())
        n_eff = eff**2 / float((w_own**2).sum())
        if n >= 2:
            mean = float(np.average(centers_own, weights=w_own))
            sd = float(np.sqrt(np.average((centers_own - mean) ** 2, weights=w_own)))
            h = 1.06 * sd * n_eff ** (-0.2)
        else:
            h = params.max_bandwidth / 2
        h = float(np.clip(h, params.min_bandwidth, params.max_bandwidth))
    else:
        w_own = np.empty(0)
        eff = 0.0
        h = params.max_bandwidth
    k = params.prior_weight
    w_prior = np.full(prior.centers.size, k / prior.centers.size)
    centers = np.concatenate([centers_own, prior.centers])
    weights = np.concatenate([w_own, w_prior])
    weights = weights / weights.sum()
    bandwidths = np.concatenate(
        [np.full(n, h), np.full(prior.centers.size, params.prior_bandwidth)]
    )
    typical = float(np.exp(_weighted_median(centers, weights)))
    alive = (params.dropout_b + n) / (params.dropout_a + params.dropout_b + n)
    return Rhythm(
        centers=centers,
        weights=weights,
        bandwidths=bandwidths,
        alive=alive,
        last_at=float(t[-1]),
        first_at=float(t[0]),
        n_gaps=n,
        effective_gaps=eff,
        typical_gap_days=typical,
        confidence=eff / (eff + k + 2.0),
        own_gaps=tuple(float(g) for g in gaps),
    )


@dataclass(frozen=True)
class Forecast:
    contact: str
    p_interact: float
    typical_gap_days: float
    overdue_score: float
    next_expected_at: float  # days
    confidence: float


def forecast(
    interactions: Mapping[str, Sequence[float]],
    as_of: float,
    horizon_days: float,
    params: CadenceParams = DEFAULT_PARAMS,
) -> list[Forecast]:
    """One forecast per contact with an interaction before ``as_of`` (times in days).

    Only interactions strictly before ``as_of`` are used, including for the pooled prior.
    """
    before = {c: [x for x in ts if x < as_of] for c, ts in interactions.items()}
    before = {c: ts for c, ts in before.items() if ts}
    prior = pooled_prior(before.values())
    out: list[Forecast] = []
    for contact in sorted(before):
        rhythm = fit_rhythm(before[contact], as_of, prior, params)
        assert rhythm is not None
        out.append(
            Forecast(
                contact=contact,
                p_interact=rhythm.p_interact(as_of, horizon_days),
                typical_gap_days=rhythm.typical_gap_days,
                overdue_score=rhythm.overdue_score(as_of),
                next_expected_at=rhythm.next_expected(),
                confidence=rhythm.confidence,
            )
        )
    return out
