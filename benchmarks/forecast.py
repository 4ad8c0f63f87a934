"""Forecast benchmark: does rapportd's rhythm model predict the next interaction better than
simple rules?

    .venv/bin/python benchmarks/forecast.py [--horizons 7 30] [--tune]

For several as-of cut points T and horizons N, every contact with an interaction before T
gets a probability of an interaction in (T, T+N] from three models, fitted only on what
happened before T:

rapportd     agent/inference/cadence.py
fixed-30     p = 1 - exp(-N / 30)                       (a contact every 30 days)
median-gap   p = 1 - exp(-N / median episode gap)       (30 days when there is no gap yet)

and we print log-loss, Brier score and ROC AUC against what happened. Data sets:

synthetic     benchmarks/synth_interactions.py, evaluation seeds 101-105 (the model's
              defaults were chosen with ``--tune`` on seeds 1-3 only)
sandbox       the sandbox scenario generator's ground truth (2 owners, 730 days, seed 11),
              when that generator exists
enron         /work/shared/data/enron-sample, owner steven.kean@enron.com (skipped with a
              message when absent); never used for tuning
"""

from __future__ import annotations

import argparse
import email
import itertools
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

import numpy as np
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))

from synth_interactions import generate

from rapportd.agent.inference.cadence import (
    DEFAULT_PARAMS,
    CadenceParams,
    episode_gaps,
    forecast,
    to_days,
)

ENRON = Path("/work/shared/data/enron-sample")
ENRON_OWNER = "steven.kean@enron.com"
EPS = 1e-4
History = dict[str, list[float]]


def fixed30(history: History, as_of: float, horizon: float) -> dict[str, float]:
    p = 1 - math.exp(-horizon / 30.0)
    return {c: p for c, ts in history.items() if any(t < as_of for t in ts)}


def median_gap(history: History, as_of: float, horizon: float) -> dict[str, float]:
    out = {}
    for c, ts in history.items():
        before = [t for t in ts if t < as_of]
        if not before:
            continue
        gaps, _ = episode_gaps(before)
        med = float(np.median(gaps)) if gaps.size else 30.0
        out[c] = 1 - math.exp(-horizon / med)
    return out


def rapportd_model(params: CadenceParams) -> Callable[[History, float, float], dict[str, float]]:
    def run(history: History, as_of: float, horizon: float) -> dict[str, float]:
        return {f.contact: f.p_interact for f in forecast(history, as_of, horizon, params)}

    return run


def outcomes(history: History, as_of: float, horizon: float) -> dict[str, int]:
    return {c: int(any(as_of < t <= as_of + horizon for t in ts)) for c, ts in history.items()}


def evaluate(
    histories: Sequence[tuple[History, Sequence[float]]],
    horizon: float,
    models: dict[str, Callable[[History, float, float], dict[str, float]]],
) -> dict[str, dict[str, float]]:
    ys: dict[str, list[int]] = defaultdict(list)
    ps: dict[str, list[float]] = defaultdict(list)
    for history, cuts in histories:
        for as_of in cuts:
            truth = outcomes(history, as_of, horizon)
            for name, model in models.items():
                preds = model(history, as_of, horizon)
                for c in sorted(preds):
                    ys[name].append(truth[c])
                    ps[name].append(min(1 - EPS, max(EPS, preds[c])))
    result = {}
    for name in models:
        y, p = np.array(ys[name]), np.array(ps[name])
        result[name] = {
            "n": float(len(y)),
            "positives": float(y.mean()) if len(y) else 0.0,
            "log_loss": float(log_loss(y, p, labels=[0, 1])),
            "brier": float(brier_score_loss(y, p)),
            "auc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan"),
        }
    return result


def report(title: str, horizon: float, result: dict[str, dict[str, float]]) -> None:
    base = min(result["fixed-30"]["log_loss"], result["median-gap"]["log_loss"])
    ours = result["rapportd"]["log_loss"]
    n = int(result["rapportd"]["n"])
    pos = result["rapportd"]["positives"]
    print(f"\n## {title}, horizon {horizon:g} days ({n} contact-cuts, {pos:.1%} positive)")
    print(f"{'model':<12} {'log-loss':>9} {'brier':>7} {'auc':>6}")
    for name, r in result.items():
        print(f"{name:<12} {r['log_loss']:>9.4f} {r['brier']:>7.4f} {r['auc']:>6.3f}")
    print(f"log-loss improvement over the better baseline: {1 - ours / base:.1%}")


def synthetic_sets(seeds: Sequence[int], days: float = 730.0) -> list[tuple[History, list[float]]]:
    cuts = [float(x) for x in np.arange(300.0, days - 30.0, 45.0)]
    return [(generate(seed, days=days), cuts) for seed in seeds]


def load_enron(root: Path = ENRON, owner: str = ENRON_OWNER) -> History:
    """Interactions of the owner with every other address, from raw RFC 822 files."""
    seen: set[str] = set()
    history: History = defaultdict(list)
    for path in sorted(root.glob("*/*.txt")):
        msg = email.message_from_binary_file(path.open("rb"))
        mid = (msg.get("Message-ID") or str(path)).strip()
        if mid in seen:
            continue
        seen.add(mid)
        try:
            sent = parsedate_to_datetime(msg["Date"])
        except (TypeError, ValueError):
            continue
        if sent.tzinfo is None:
            sent = sent.replace(tzinfo=UTC)
        if not (1995 <= sent.year <= 2003):  # a few messages say 1979/1980
            continue
        sender = next((a.lower() for _, a in getaddresses([msg.get("From", "")]) if a), "")
        rcpts = {
            a.lower()
            for _, a in getaddresses(msg.get_all("To", []) + msg.get_all("Cc", []))
            if "@" in a
        }
        day = to_days(sent)
        if sender == owner:
            for r in rcpts - {owner}:
                history[r].append(day)
        elif owner in rcpts and sender:
            history[sender].append(day)
    return {c: sorted(ts) for c, ts in history.items()}


def enron_sets() -> list[tuple[History, list[float]]] | None:
    if not ENRON.exists():
        return None
    history = load_enron()
    cuts = [
        to_days(datetime(y, m, 1, tzinfo=UTC))
        for y, m in itertools.product((2000, 2001), range(1, 13))
        if datetime(2000, 3, 1) <= datetime(y, m, 1) <= datetime(2001, 6, 1)
    ]
    return [(history, cuts)]


def sandbox_sets() -> list[tuple[History, list[float]]] | None:
    """Ground truth of the sandbox scenario generator, when it exists and can run here."""
    from sandbox_history import sandbox_histories

    try:
        return sandbox_histories()
    except ImportError:  # the generator has not landed in this tree
        return None


def tune(horizons: Sequence[float]) -> None:
    """Grid-search a few knobs on the training seeds (1-3) only."""
    sets = synthetic_sets([1, 2, 3])
    grid = {
        "prior_weight": [0.5, 1.0, 2.0],
        "dropout_b": [3.0, 6.0, 12.0],
        "half_life_factor": [5.0, 10.0, 20.0],
        "min_bandwidth": [0.15, 0.25, 0.4],
    }
    best: list[tuple[float, CadenceParams]] = []
    for values in itertools.product(*grid.values()):
        params = replace(DEFAULT_PARAMS, **dict(zip(grid, values, strict=True)))
        loss = sum(
            evaluate(sets, h, {"rapportd": rapportd_model(params)})["rapportd"]["log_loss"]
            for h in horizons
        )
        best.append((loss, params))
    best.sort(key=lambda x: x[0])
    for loss, params in best[:5]:
        print(f"{loss:.4f} {params}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", type=float, nargs="+", default=[7.0, 30.0])
    parser.add_argument("--tune", action="store_true", help="grid-search on training seeds")
    args = parser.parse_args()
    if args.tune:
        tune(args.horizons)
        return 0
    models = {
        "rapportd": rapportd_model(DEFAULT_PARAMS),
        "fixed-30": fixed30,
        "median-gap": median_gap,
    }
    started = time.perf_counter()
    datasets: list[tuple[str, list[tuple[History, list[float]]] | None, str]] = [
        ("synthetic (seeds 101-105, 150 contacts, 730 days)", synthetic_sets(range(101, 106)), ""),
        ("sandbox ground truth", sandbox_sets(), "sandbox scenario generator not available"),
        (f"enron-sample ({ENRON_OWNER})", enron_sets(), f"{ENRON} absent"),
    ]
    for title, sets, missing in datasets:
        if sets is None:
            print(f"\n## {title}: skipped ({missing})")
            continue
        for h in args.horizons:
            report(title, h, evaluate(sets, h, models))
    print(f"\n(took {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
