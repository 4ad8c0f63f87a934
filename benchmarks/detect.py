"""Benchmark of the commitment / request detector (rules + the shipped intent model).

1. The project's own set (benchmarks/data/detect_eval.jsonl, hand-labelled emails with quoted
   history and signatures): precision / recall / F1 per kind and due-date accuracy, per split:
   ``dev`` (rules written on it AND its sentences are model training data: in-sample),
   ``heldout``, ``fresh`` (written after the rules were frozen) and ``fresh2`` (80 emails written
   before the model was built or tuned; the honest figure). Each split is scored with the
   rules alone and with rules + model.
2. Public data in ../shared/data/email-intent (skipped with a message when absent):
   - enron-intent-verified: rules alone (no training); rules + model, 5-fold CV where the
     model (and its thresholds) is retrained for each fold WITHOUT that fold's sentences
     (full recipe of benchmarks/train_intent.py); and the shipped model (IN-SAMPLE: trained
     on these sentences, shown only for contrast);
   - the Parakweet test split (TEST ONLY: never trained or tuned on; 4 sentences that also
     occur in the training data were removed from the training data): rules alone, and
     rules + the shipped model.
   Mapping onto their "Yes": any request, or a commitment with a due date.

Run: .venv/bin/python benchmarks/detect.py [--errors dev] [--splits dev,heldout] [--no-cv]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from rapportd.agent.inference.commitments import analyse_sentence, detect
from rapportd.agent.inference.intent_model import IntentModel, shipped_model

HERE = Path(__file__).resolve().parent
EVAL = HERE / "data" / "detect_eval.jsonl"
PUBLIC = HERE.parent.parent / "shared" / "data" / "email-intent"
KINDS = ("commitment", "request")
SPLITS = ("dev", "heldout", "fresh", "fresh2")


def norm_key(text: str) -> str:
    return " ".join(text.split()).lower()


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score_own(
    rows: list[dict], show_errors: bool = False, model: IntentModel | None = None
) -> dict[str, object]:
    counts = {k: Counter() for k in KINDS}
    due_ok = due_matched = due_total = 0
    for row in rows:
        sent_at = datetime.fromisoformat(row["sent_at"])
        items = detect(
            row["text"],
            sent_at=sent_at,
            tz=row["tz"],
            sender=row["from"],
            recipients=row["to"],
            model=model,
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


def sentence_yes(sentence: str, model: IntentModel | None = None) -> bool:
    """rapportd's mapping onto the public "Yes": a request, or a dated commitment."""
    from rapportd.agent.inference.dates import resolve_due

    for kind, _rule, clause, _p in analyse_sentence(sentence, model):
        if kind == "request" or resolve_due(clause, ANCHOR, "UTC") is not None:
            return True
    return False


def load_verified() -> tuple[list[str], list[int]]:
    base = PUBLIC / "enron-intent-verified"
    pos = (base / "intent_pos").read_text(encoding="utf-8", errors="replace").splitlines()
    neg = (base / "intent_neg").read_text(encoding="utf-8", errors="replace").splitlines()
    texts = [s for s in pos if s.strip()] + [s for s in neg if s.strip()]
    labels = [1] * len([s for s in pos if s.strip()]) + [0] * len([s for s in neg if s.strip()])
    return texts, labels


def binary_f1(gold: list[int], pred: list[int]) -> tuple[float, float, float]:
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g and p)
    fp = sum(1 for g, p in zip(gold, pred, strict=True) if not g and p)
    fn = sum(1 for g, p in zip(gold, pred, strict=True) if g and not p)
    return prf(tp, fp, fn)


def load_parakweet_train() -> tuple[list[str], list[int]]:
    return _load_parakweet(PUBLIC / "parakweet" / "Ask0729-fixed.txt")


def load_parakweet_test() -> tuple[list[str], list[int]]:
    return _load_parakweet(PUBLIC / "parakweet" / "testSet-qualifiedBatch-fixed.txt")


def _load_parakweet(path: Path) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        label, _, text = line.partition("\t")
        if label.strip() in ("Yes", "No") and text.strip():
            texts.append(text.strip())
            labels.append(1 if label.strip() == "Yes" else 0)
    return texts, labels


def public_benchmark(cv: bool = True, test: bool = True) -> None:
    if not (PUBLIC / "enron-intent-verified" / "intent_pos").exists():
        print(f"\n[public] skipped: {PUBLIC} is absent")
        return
    texts, labels = load_verified()
    a_texts, a_labels = load_parakweet_train()
    print(f"\n[enron-intent-verified] {len(texts)} sentences ({sum(labels)} positive)")
    show("rules only (no training)", labels, [int(sentence_yes(t)) for t in texts])
    if cv:
        pred = cross_validated(texts, labels, a_texts, a_labels)
        show("rules + model, 5-fold CV", labels, [pred[norm_key(t)][0] for t in texts])
        show_product("  product point, 5-fold CV", labels, [pred[norm_key(t)][1] for t in texts])
    model = shipped_model()
    if model is not None:
        pred_in = [int(sentence_yes(t, model)) for t in texts]
        show("rules + shipped model (IN-SAMPLE)", labels, pred_in)
    if cv:
        print(f"\n[parakweet training file] {len(a_texts)} sentences ({sum(a_labels)} Yes)")
        a_pred = [pred[norm_key(t)][0] for t in a_texts]
        show("rules + model, 5-fold CV (same folds)", a_labels, a_pred)

    test_path = PUBLIC / "parakweet" / "testSet-qualifiedBatch-fixed.txt"
    if not test:
        print("\n[parakweet test split] not scored (--no-test)")
        return
    if not test_path.exists():
        print("[parakweet test] skipped: test split absent")
        return
    t_texts, t_labels = load_parakweet_test()
    print(f"\n[parakweet test split] {len(t_texts)} sentences ({sum(t_labels)} Yes); TEST ONLY")
    show("rules only (no training)", t_labels, [int(sentence_yes(t)) for t in t_texts])
    if model is not None:
        show("rules + shipped model", t_labels, [int(sentence_yes(t, model)) for t in t_texts])
        show_product(
            "  product point", t_labels, [int(sentence_product(t, model)) for t in t_texts]
        )


def sentence_product(sentence: str, model: IntentModel | None) -> bool:
    """The product's operating point: what suggestions act on -- an explicit ask (not a weak
    one: see commitments.WEAK_ASK_RULES) or a commitment with a due date."""
    from rapportd.agent.inference.commitments import WEAK_ASK_RULES
    from rapportd.agent.inference.dates import resolve_due

    for kind, rule, clause, _p in analyse_sentence(sentence, model):
        if kind == "request" and rule not in WEAK_ASK_RULES:
            return True
        if kind == "commitment" and resolve_due(clause, ANCHOR, "UTC") is not None:
            return True
    return False


def show_product(name: str, gold: list[int], pred: list[int]) -> None:
    p, r, _f = binary_f1(gold, pred)
    print(f"  {name:<36} P {p:.3f}  R {r:.3f}  (explicit asks + dated promises)")


def timing(texts: list[str]) -> None:
    """Cost of ``detect`` per 1,000 sentences (each sentence a message; caches cleared)."""
    from rapportd.agent.inference.commitments import analyse_sentence as cached

    sent_at = ANCHOR
    for name, model in (("rules only", None), ("rules + model", "shipped")):
        cached.cache_clear()
        t0 = time.perf_counter()
        for t in texts:
            detect(t, sent_at=sent_at, already_stripped=True, model=model)  # type: ignore[arg-type]
        per_1000 = 1e6 * (time.perf_counter() - t0) / len(texts)  # ms per 1,000 sentences
        print(f"  timing {name:<14} {per_1000:.0f} ms per 1,000 sentences ({len(texts)} timed)")


def show(name: str, gold: list[int], pred: list[int]) -> None:
    p, r, f = binary_f1(gold, pred)
    print(f"  {name:<36} P {p:.3f}  R {r:.3f}  F1 {f:.3f}")


def cross_validated(
    texts: list[str], labels: list[int], a_texts: list[str], a_labels: list[int], folds: int = 5
) -> dict[str, tuple[int, int]]:
    """Out-of-fold ``(yes, product)`` per sentence of the verified set and the Parakweet
    training file (the same sentences, two annotations): the folds split the union of their
    sentences; for each fold the full training recipe runs on the in-repo training data minus
    every row (either annotation) of that fold's sentences."""
    import train_intent
    from sklearn.model_selection import StratifiedKFold

    rows = train_intent.load_rows()
    label_of: dict[str, int] = {}
    for t, y in [*zip(a_texts, a_labels, strict=True), *zip(texts, labels, strict=True)]:
        label_of[norm_key(t)] = y  # the verified label wins where both exist
    text_of = {norm_key(t): t for t in [*a_texts, *texts]}
    keys = sorted(label_of)
    pred: dict[str, tuple[int, int]] = {}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=1)
    for k, (_, test_idx) in enumerate(splitter.split(keys, [label_of[x] for x in keys]), 1):
        held = {keys[i] for i in test_idx}
        train_rows = [
            r
            for r in rows
            if not (r["source"] in ("verified", "parakweet") and norm_key(r["text"]) in held)
        ]
        fold_model = train_intent.train(train_rows)
        for key in held:
            t = text_of[key]
            pred[key] = (int(sentence_yes(t, fold_model)), int(sentence_product(t, fold_model)))
        print(f"    fold {k}: trained on {len(train_rows)} sentences", flush=True)
    return pred


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(EVAL))
    ap.add_argument("--errors", choices=[*SPLITS, "all"], default=None)
    ap.add_argument("--splits", default=",".join(SPLITS), help="comma-separated own-set splits")
    ap.add_argument("--no-public", action="store_true")
    ap.add_argument("--no-cv", action="store_true", help="skip the (slow) cross-validation")
    ap.add_argument("--no-test", action="store_true", help="do not score the Parakweet test split")
    ap.add_argument("--timing", action="store_true", help="time detect per 1,000 sentences")
    ap.add_argument("--rules-only", action="store_true", help="own set: rules alone only")
    args = ap.parse_args()
    path = Path(args.data)
    if not path.exists():
        print(f"no evaluation set at {path}")
        return 1
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE / "data"))
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    t0 = time.perf_counter()
    model = shipped_model()
    variants: list[tuple[str, IntentModel | None]] = [("rules only", None)]
    if model is not None and not args.rules_only:
        variants.append(("rules + model", model))
    for split in args.splits.split(","):
        subset = [r for r in rows if r.get("split") == split]
        for name, m in variants:
            show_errors = args.errors == split and m is variants[-1][1]
            res = score_own(subset, show_errors=show_errors, model=m)
            tag = " (IN-SAMPLE for the model)" if split == "dev" and m is not None else ""
            print_own(f"own set: {split}, {name}{tag}", res, len(subset))
    print(f"\n(own set scored in {time.perf_counter() - t0:.1f}s)")
    if args.timing:
        texts, _ = load_verified()
        timing(texts)
        return 0
    if not args.no_public:
        public_benchmark(cv=not args.no_cv, test=not args.no_test)
    return 0


if __name__ == "__main__":
    sys.exit(main())
