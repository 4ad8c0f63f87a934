"""Trains the shipped intent model (agent/inference/intent_model.json) from in-repo data.

Deterministic: the same benchmarks/data/intent_train.jsonl gives the same JSON. Three logistic
regressions over shared tf-idf features (``intent_model.features``: word 1-2-grams, cues, rule
verdicts): ``request`` (a genuine ask; every row except the ``parakweet`` copies, so the
public sentences carry their hand-verified label), ``commitment`` (rows whose commitment label
is known) and ``broad`` (any ask, proposal or call to action; every row, so a public sentence
counts with both of its annotations). scikit-learn is only needed here: the product loads the
JSON with a few lines of pure Python. The decision thresholds (``commitments.decide_flags``,
``commitments.demoted``) are chosen on 5-fold out-of-fold scores of the training rows (folds
grouped by sentence, so the two copies of a public sentence share a fold), never on a test set.

Run: .venv/bin/python benchmarks/train_intent.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from rapportd.agent.inference.commitments import classify_sentence, decide_flags, demoted
from rapportd.agent.inference.intent_model import MODEL_PATH, IntentModel, features

HERE = Path(__file__).resolve().parent
TRAIN = HERE / "data" / "intent_train.jsonl"
C_REQUEST = 2.0
C_COMMIT = 2.0
C_BROAD = 2.0
BROAD_ONLY = "parakweet"  # rows of this source train the broad head only
# A rule hit is vetoed only when the model leans "no" (p < 0.5 at most); the model alone adds
# an item only when it leans "yes" (p >= 0.5 at least).
RULE_GRID = [round(0.05 * i, 2) for i in range(1, 11)]
MODEL_GRID = [round(0.05 * i, 2) for i in range(10, 20)]
# A vetoed rule ask is kept as a weak ask when the broad model leans "yes" (p >= 0.5 at
# least); 1.0 = never.
DEMOTE_GRID = [round(0.05 * i, 2) for i in range(10, 21)]
# The veto of the rules' asks decides what the product acts on: chosen for F0.5 (precision
# counts twice: a wrong "please reply" costs more than a missed one).
VETO_BETA = 0.5


def load_rows(path: Path = TRAIN) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def featurize(rows: Sequence[dict]) -> list[tuple[list[str], list[tuple[str, str, str]]]]:
    out = []
    for r in rows:
        hits = classify_sentence(str(r["text"]))
        out.append((features(str(r["text"]), hits), hits))
    return out


def fit(
    feats: Sequence[list[str]], rows: Sequence[dict], thresholds: dict[str, float] | None = None
) -> IntentModel:
    """Fit the three regressions on ``rows`` (see the module docstring for which rows)."""
    vec = TfidfVectorizer(analyzer=lambda x: x, min_df=2, sublinear_tf=True, norm="l2")
    # Vocabulary and idf from each sentence once (a public sentence has a row per annotation).
    first: dict[str, int] = {}
    for i, r in enumerate(rows):
        first.setdefault(group_key(str(r["text"])), i)
    vec.fit([feats[i] for i in sorted(first.values())])
    X = vec.transform(feats)
    y = np.array([int(r["request"]) for r in rows])
    precise = np.array([r["source"] != BROAD_ONLY for r in rows])
    known = np.array([r.get("commitment") is not None for r in rows])
    y_c = np.array([int(r.get("commitment") or 0) for r in rows])
    lr_r = LogisticRegression(C=C_REQUEST, class_weight="balanced", max_iter=5000)
    lr_r.fit(X[precise], y[precise])
    lr_c = LogisticRegression(C=C_COMMIT, class_weight="balanced", max_iter=5000)
    lr_c.fit(X[known], y_c[known])
    lr_b = LogisticRegression(C=C_BROAD, class_weight="balanced", max_iter=5000)
    lr_b.fit(X, y)
    names = vec.get_feature_names_out()
    weights = {
        str(n): (float(idf), float(wr), float(wc), float(wb))
        for n, idf, wr, wc, wb in zip(
            names, vec.idf_, lr_r.coef_[0], lr_c.coef_[0], lr_b.coef_[0], strict=True
        )
    }
    return IntentModel(
        weights=weights,
        bias=(float(lr_r.intercept_[0]), float(lr_c.intercept_[0]), float(lr_b.intercept_[0])),
        thresholds=thresholds or {},
        meta={"rows": len(rows)},
    )


def group_key(text: str) -> str:
    return " ".join(text.split()).lower()


def oof_scores(
    featured: Sequence[tuple[list[str], list]], rows: Sequence[dict], folds: int = 5
) -> list[tuple[float, float, float]]:
    """Out-of-fold (p_request, p_commitment, p_broad) for every row; the copies of one
    sentence (a public sentence appears once per annotation) always share a fold."""
    y = [int(r["request"]) * 2 + int(r.get("commitment") or 0) for r in rows]
    groups = [group_key(str(r["text"])) for r in rows]
    out: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * len(rows)
    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_idx, test_idx in cv.split(np.zeros(len(rows)), y, groups):
        model = fit([featured[i][0] for i in train_idx], [rows[i] for i in train_idx])
        for i in test_idx:
            out[i] = model.all_scores(featured[i][0])
    return out


def _f1(tp: int, fp: int, fn: int, beta: float = 1.0) -> float:
    b2 = beta * beta
    return (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp) if tp else 0.0


def _best_pair(
    kind: str,
    items: Sequence[tuple[list[str], float, int]],
    grid2: Sequence[float],
    beta: float = 1.0,
) -> tuple[float, float]:
    """``(<kind>_rule, <kind>_model)`` with the best F-beta of ``decide_flags`` on ``items``."""
    top = (-1.0, 0.5, 0.5)
    for t_rule in RULE_GRID:
        for t_model in grid2:
            th = {f"{kind}_rule": t_rule, f"{kind}_model": t_model}
            tp = fp = fn = 0
            for feats, p, gold in items:
                pred = decide_flags(kind, feats, p, th)
                tp += pred and gold
                fp += pred and not gold
                fn += gold and not pred
            f = _f1(tp, fp, fn, beta)
            if f > top[0] + 1e-9:
                top = (f, t_rule, t_model)
    return float(top[1]), float(top[2])


def calibrate(
    featured: Sequence[tuple[list[str], list]],
    rows: Sequence[dict],
    scores: Sequence[tuple[float, float, float]],
) -> dict[str, float]:
    """Grid-search the thresholds of ``decide_flags`` / ``demoted`` for F1 on ``rows``.

    Commitments: veto and model-only thresholds for per-kind F1. Requests, in two steps: the
    veto of the rules' asks (``request_rule``) for F0.5 of the precise decision on the precise
    rows (explicit asks are what the product acts on: precision first); then, with it fixed, the broad model's
    thresholds (``request_model`` for asks without a rule, ``request_demote`` for a vetoed
    rule ask kept as a weak ask) for F1 of "any request" on every row (both annotations)."""
    best: dict[str, float] = {}
    commit = [
        (f, p[1], int(r["commitment"]))
        for (f, _h), p, r in zip(featured, scores, rows, strict=True)
        if r.get("commitment") is not None
    ]
    best["commitment_rule"], best["commitment_model"] = _best_pair("commitment", commit, MODEL_GRID)
    # Step 1: the veto, on rule hits of the precise rows (model-only asks are the broad
    # model's, so request_model is not chosen here).
    precise = [
        (f, p[0], int(r["request"]))
        for (f, _h), p, r in zip(featured, scores, rows, strict=True)
        if r["source"] != BROAD_ONLY and "RULE:request" in f
    ]
    best["request_rule"], _ = _best_pair("request", precise, [1.0], VETO_BETA)
    # Step 2: the broad model's two thresholds on every row.
    items = [
        (f, p, int(r["request"])) for (f, _h), p, r in zip(featured, scores, rows, strict=True)
    ]
    top = (-1.0, 0.5, 0.5)
    for t_model in MODEL_GRID:
        for t_demote in DEMOTE_GRID:
            th = {**best, "request_model": t_model, "request_demote": t_demote}
            tp = fp = fn = 0
            for feats, (p_r, _p_c, p_b), gold in items:
                if "RULE:request" in feats:
                    pred = decide_flags("request", feats, p_r, th) or demoted(p_b, th)
                else:
                    pred = decide_flags("request", feats, p_b, th)
                tp += pred and gold
                fp += pred and not gold
                fn += gold and not pred
            f = _f1(tp, fp, fn)
            if f > top[0] + 1e-9:
                top = (f, t_model, t_demote)
    best["request_model"], best["request_demote"] = float(top[1]), float(top[2])
    return best


def train(rows: Sequence[dict]) -> IntentModel:
    """The full recipe: out-of-fold calibration of thresholds, then a fit on all rows."""
    featured = featurize(rows)
    thresholds = calibrate(featured, rows, oof_scores(featured, rows))
    return fit([f for f, _ in featured], rows, thresholds)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(MODEL_PATH))
    ap.add_argument("--data", default=str(TRAIN))
    args = ap.parse_args()
    rows = load_rows(Path(args.data))
    model = train(rows)
    data = model.to_json()
    data["meta"] = {
        "rows": len(rows),
        "data": "benchmarks/data/intent_train.jsonl (see benchmarks/data/NOTICE.md)",
        "trainer": "benchmarks/train_intent.py",
    }
    Path(args.out).write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"wrote {args.out}: {len(model.weights)} features, thresholds {model.thresholds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
