"""Benchmark of the commitment / request detector.

1. The project's own set (benchmarks/data/detect_eval.jsonl, 315 hand-labelled emails with
   quoted history and signatures): precision / recall / F1 per kind and due-date accuracy,
   separately for the dev half (looked at while writing the rules) and the held-out half.
2. Public data in ../shared/data/email-intent (skipped with a message when absent):
   - enron-intent-verified sentences: F1 of the rules as they are (no training), and 5-fold
     cross-validated F1 of a logistic regression over the rule outputs + word n-grams;
   - the Parakweet test split (TEST ONLY: nothing is trained or tuned on it): F1 of the rules,
     and of the same logistic regression trained on the verified sentences.
   Mapping onto their "Yes": any request, or a commitment with a due date.

Run: .venv/bin/python benchmarks/detect.py [--errors dev] [--data PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from rapportd.agent.inference.commitments import classify_sentence, detect

HERE = Path(__file__).resolve().parent
EVAL = HERE / "data" / "detect_eval.jsonl"
PUBLIC = HERE.parent.parent / "shared" / "data" / "email-intent"
KINDS = ("commitment", "request")


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score_own(rows: list[dict], show_errors: bool = False) -> dict[str, object]:
    counts = {k: Counter() for k in KINDS}
    due_ok = due_matched = due_total = 0
    for row in rows:
        sent_at = datetime.fromisoformat(row["sent_at"])
        items = detect(
            row["text"], sent_at=sent_at, tz=row["tz"], sender=row["from"], recipients=row["to"]
        )
        errors = []
        for kind in KINDS:
            preds = [i.due.date().isoformat() if i.due else None for i in items if i.kind == kind]
            golds = [g["due"] for g in row["gold"] if g["kind"] == kind]
            tp = min(len(preds), len(golds))
            counts[kind].update(tp=tp, fp=len(preds) - tp, fn=len(golds) - tp)
            if len(preds) != len(golds):
                errors.append(f"{kind}: gold {len(golds)} got {len(preds)}")
            # due dates: pair exact matches first, then the rest
            remaining = list(preds)
            stated = [g for g in golds if g]
            due_total += len(stated)
            unmatched_gold = []
            for g in stated:
                if g in remaining:
                    remaining.remove(g)
                    due_ok += 1
                    due_matched += 1
                else:
                    unmatched_gold.append(g)
            for g in unmatched_gold:
                if remaining:
                    got = remaining.pop(0)
                    due_matched += 1
                    errors.append(f"{kind} due: gold {g} got {got}")
        if show_errors and errors:
            print(f"--- {row['id']}: {'; '.join(errors)}")
            for i in items:
                print(f"    got {i.kind} {i.reasons.get('rule')} due={i.due_text!r}: {i.text}")
            print("    " + row["text"].split("\n\n")[0][:60].replace("\n", " ") + " | ...")
    out: dict[str, object] = {}
    for kind in KINDS:
        c = counts[kind]
        out[kind] = prf(c["tp"], c["fp"], c["fn"])
    out["due_exact_matched"] = (due_ok / due_matched if due_matched else 0.0, due_ok, due_matched)
    out["due_exact_all"] = (due_ok / due_total if due_total else 0.0, due_ok, due_total)
    return out


def print_own(name: str, res: dict[str, object], n: int) -> None:
    print(f"\n[{name}] {n} emails")
    for kind in KINDS:
        p, r, f = res[kind]  # type: ignore[misc]
        print(f"  {kind:<11} P {p:.3f}  R {r:.3f}  F1 {f:.3f}")
    acc, ok, tot = res["due_exact_matched"]  # type: ignore[misc]
    print(f"  due exact (detected items whose gold states a date): {acc:.3f} ({ok}/{tot})")
    acc, ok, tot = res["due_exact_all"]  # type: ignore[misc]
    print(f"  due exact end-to-end (all gold items that state a date): {acc:.3f} ({ok}/{tot})")


# --- public data -----------------------------------------------------------------------

ANCHOR = datetime(2001, 5, 9, 10, 0, tzinfo=UTC)


def sentence_yes(sentence: str) -> tuple[bool, list[str]]:
    """rapportd's mapping onto the public "Yes": a request, or a dated commitment."""
    from rapportd.agent.inference.dates import resolve_due

    feats = []
    yes = False
    for kind, rule, clause in classify_sentence(sentence):
        feats.append(f"{kind}:{rule}")
        dated = resolve_due(clause, ANCHOR, "UTC") is not None
        if dated:
            feats.append(f"{kind}:dated")
        if kind == "request" or dated:
            yes = True
    return yes, feats


def load_verified() -> tuple[list[str], list[int]]:
    base = PUBLIC / "enron-intent-verified"
    pos = (base / "intent_pos").read_text(encoding="utf-8", errors="replace").splitlines()
    neg = (base / "intent_neg").read_text(encoding="utf-8", errors="replace").splitlines()
    texts = [s for s in pos if s.strip()] + [s for s in neg if s.strip()]
    labels = [1] * len([s for s in pos if s.strip()]) + [0] * len([s for s in neg if s.strip()])
    return texts, labels


def load_parakweet_test() -> tuple[list[str], list[int]]:
    path = PUBLIC / "parakweet" / "testSet-qualifiedBatch-fixed.txt"
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        label, _, text = line.partition("\t")
        if label.strip() in ("Yes", "No") and text.strip():
            texts.append(text.strip())
            labels.append(1 if label.strip() == "Yes" else 0)
    return texts, labels


def binary_f1(gold: list[int], pred: list[int]) -> tuple[float, float, float]:
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g and p)
    fp = sum(1 for g, p in zip(gold, pred, strict=True) if not g and p)
    fn = sum(1 for g, p in zip(gold, pred, strict=True) if g and not p)
    return prf(tp, fp, fn)


def model(feats_train: list[str], y: list[int]):  # type: ignore[no-untyped-def]
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=r"[\w:']+"),
        LogisticRegression(max_iter=2000, C=3.0, class_weight="balanced"),
    )
    pipe.fit(feats_train, y)
    return pipe


def doc(sentence: str, feats: list[str]) -> str:
    return sentence.lower() + " " + " ".join("RULE:" + f for f in feats)


def public_benchmark() -> None:
    if not (PUBLIC / "enron-intent-verified" / "intent_pos").exists():
        print(f"\n[public] skipped: {PUBLIC} is absent")
        return
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    texts, labels = load_verified()
    feats = [sentence_yes(t) for t in texts]
    rules_pred = [1 if y else 0 for y, _ in feats]
    p, r, f = binary_f1(labels, rules_pred)
    print(f"\n[enron-intent-verified] {len(texts)} sentences ({sum(labels)} positive)")
    print(f"  rules only (no training):        P {p:.3f}  R {r:.3f}  F1 {f:.3f}")
    docs = [doc(t, fs) for t, (_, fs) in zip(texts, feats, strict=True)]
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=r"[\w:']+"),
        LogisticRegression(max_iter=2000, C=3.0, class_weight="balanced"),
    )
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    cv_pred = cross_val_predict(pipe, docs, labels, cv=cv)
    p, r, f = binary_f1(labels, list(cv_pred))
    print(f"  rules + n-gram LR, 5-fold CV:    P {p:.3f}  R {r:.3f}  F1 {f:.3f}")

    test_path = PUBLIC / "parakweet" / "testSet-qualifiedBatch-fixed.txt"
    if not test_path.exists():
        print("[parakweet test] skipped: test split absent")
        return
    t_texts, t_labels = load_parakweet_test()
    test_set = {t.strip().lower() for t in t_texts}
    overlap = sum(1 for t in texts if t.strip().lower() in test_set)
    t_feats = [sentence_yes(t) for t in t_texts]
    p, r, f = binary_f1(t_labels, [1 if y else 0 for y, _ in t_feats])
    print(f"\n[parakweet test split] {len(t_texts)} sentences ({sum(t_labels)} Yes); TEST ONLY")
    print(f"  rules only (no training):        P {p:.3f}  R {r:.3f}  F1 {f:.3f}")
    keep = [i for i, t in enumerate(texts) if t.strip().lower() not in test_set]
    fitted = model([docs[i] for i in keep], [labels[i] for i in keep])
    t_docs = [doc(t, fs) for t, (_, fs) in zip(t_texts, t_feats, strict=True)]
    p, r, f = binary_f1(t_labels, list(fitted.predict(t_docs)))
    print(
        f"  rules + LR trained on verified:  P {p:.3f}  R {r:.3f}  F1 {f:.3f}"
        f"  ({overlap} overlapping sentences removed from training)"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(EVAL))
    ap.add_argument(
        "--errors",
        choices=["dev", "heldout", "fresh", "all"],
        default=None,
        help="print the emails the detector gets wrong in that split",
    )
    ap.add_argument("--no-public", action="store_true")
    args = ap.parse_args()
    path = Path(args.data)
    if not path.exists():
        print(f"no evaluation set at {path}")
        return 1
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    t0 = time.perf_counter()
    for split in ("dev", "heldout", "fresh", "all"):
        subset = [r for r in rows if split == "all" or r.get("split") == split]
        res = score_own(subset, show_errors=(args.errors == split))
        print_own(f"own set: {split}", res, len(subset))
    print(f"\n(own set scored 3x in {time.perf_counter() - t0:.1f}s)")
    if not args.no_public:
        public_benchmark()
    return 0


if __name__ == "__main__":
    sys.exit(main())
