"""Trains the shipped intent model (agent/inference/intent_model.json) from in-repo data.

Deterministic: the same benchmarks/data/intent_train.jsonl gives the same JSON. Two logistic
regressions (request, commitment) over shared tf-idf features (``intent_model.features``:
word 1-2-grams, cues, rule verdicts); scikit-learn is only needed here, the product loads the
JSON with a few lines of pure Python. The decision thresholds (see ``commitments.decide``) are
chosen on 5-fold out-of-fold scores of the training rows, never on a test set.

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
from sklearn.model_selection import StratifiedKFold

from rapportd.agent.inference.commitments import classify_sentence, decide_flags
from rapportd.agent.inference.intent_model import MODEL_PATH, IntentModel, features

HERE = Path(__file__).resolve().parent
TRAIN = HERE / "data" / "intent_train.jsonl"
C_REQUEST = 2.0
C_COMMIT = 2.0
# A rule hit is vetoed only when the model leans "no" (p < 0.5 at most); the model alone adds
# an item only when it leans "yes" (p >= 0.5 at least).
RULE_GRID = [round(0.05 * i, 2) for i in range(1, 11)]
MODEL_GRID = [round(0.05 * i, 2) for i in range(10, 20)]


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
    """Fit both regressions on ``rows`` (commitment only on rows whose label is known)."""
    vec = TfidfVectorizer(analyzer=lambda x: x, min_df=2, sublinear_tf=True, norm="l2")
    X = vec.fit_transform(feats)
    y_r = np.array([int(r["request"]) for r in rows])
    known = np.array([r.get("commitment") is not None for r in rows])
    y_c = np.array([int(r.get("commitment") or 0) for r in rows])
    lr_r = LogisticRegression(C=C_REQUEST, class_weight="balanced", max_iter=5000)
    lr_r.fit(X, y_r)
    lr_c = LogisticRegression(C=C_COMMIT, class_weight="balanced", max_iter=5000)
    lr_c.fit(X[known], y_c[known])
    names = vec.get_feature_names_out()
    weights = {
        str(n): (float(idf), float(wr), float(wc))
        for n, idf, wr, wc in zip(names, vec.idf_, lr_r.coef_[0], lr_c.coef_[0], strict=True)
    }
    return IntentModel(
        weights=weights,
        bias=(float(lr_r.intercept_[0]), float(lr_c.intercept_[0])),
        thresholds=thresholds or {},
        meta={"rows": len(rows)},
    )


def oof_scores(
    featured: Sequence[tuple[list[str], list]], rows: Sequence[dict], folds: int = 5
) -> list[tuple[float, float]]:
    """Out-of-fold (p_request, p_commitment) for every row."""
    y = [int(r["request"]) * 2 + int(r.get("commitment") or 0) for r in rows]
    out: list[tuple[float, float]] = [(0.0, 0.0)] * len(rows)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_idx, test_idx in cv.split(np.zeros(len(rows)), y):
        model = fit([featured[i][0] for i in train_idx], [rows[i] for i in train_idx])
        for i in test_idx:
            out[i] = model.scores(featured[i][0])
    return out


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def calibrate(
    featured: Sequence[tuple[list[str], list]],
    rows: Sequence[dict],
    scores: Sequence[tuple[float, float]],
) -> dict[str, float]:
    """Grid-search the four thresholds of ``decide_flags`` for per-kind F1 on ``rows``."""
    best: dict[str, float] = {}
    for kind, idx in (("request", 0), ("commitment", 1)):
        items = [
            (f, p, int(r[kind]))
            for (f, _h), p, r in zip(featured, scores, rows, strict=True)
            if r.get(kind) is not None
        ]
        top = (-1.0, 0.5, 0.5)
        for t_rule in RULE_GRID:
            for t_model in MODEL_GRID:
                th = {f"{kind}_rule": t_rule, f"{kind}_model": t_model}
                tp = fp = fn = 0
                for feats, p, gold in items:
                    pred = decide_flags(kind, feats, p[idx], th)
                    tp += pred and gold
                    fp += pred and not gold
                    fn += gold and not pred
                f = _f1(tp, fp, fn)
                if f > top[0] + 1e-9:
                    top = (f, t_rule, t_model)
        best[f"{kind}_rule"], best[f"{kind}_model"] = float(top[1]), float(top[2])
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
