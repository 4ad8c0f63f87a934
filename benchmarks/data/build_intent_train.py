"""Builds benchmarks/data/intent_train.jsonl: the training sentences of the shipped intent model.

One JSON object per sentence: {"text", "request": 0|1, "commitment": 0|1|null, "source"}
(null = not known for that source; the commitment model skips those rows). Sources:

- ``intent_sentences.tsv``: hand-written by the rapportd project (R / C / RC / N);
- ``own-dev``: the sentences of the ``dev`` split of detect_eval.jsonl only (heldout, fresh and
  fresh2 are never used). Single-sentence emails take the gold kinds; a multi-sentence email is
  used only when the rule detector's per-kind counts equal the gold counts (then its per-sentence
  verdicts are the labels); an email with no gold items makes every sentence negative;
- ``verified``: enron-intent-verified (MIT, Charlie9/enron_intent_dataset_verified). request =
  its intent label; commitment = 0 when the sentence has no first-person future, else unknown;
- ``parakweet``: the Parakweet training file Ask0729-fixed.txt (Apache-2.0, ParakweetLabs/
  EmailIntentDataSet): the same Enron sentences as ``verified`` with their first annotation
  (spam calls to action and third parties' tasks count as "Yes"). request = its label;
  commitment = unknown (the ``verified`` copy carries it). Only the ``broad`` head of the model
  trains on these rows: both annotations of a sentence, so a sentence the two annotators
  disagree on counts half;
- ``mailex``: MailEx trigger_train_data.json (CC BY-SA 4.0, Srivastava et al., EMNLP 2023):
  sentences of the labelled email only; request = a Request_* trigger; commitment = a
  Deliver_Action_Data trigger in a sentence with a first-person future, else 0.

Decontamination: any sentence that also occurs in the Parakweet test split
(testSet-qualifiedBatch-fixed.txt, test-only) is dropped; that file is read for nothing else.
Needs ../shared/data/email-intent (the public data); see NOTICE.md for the licences.
Run: .venv/bin/python benchmarks/data/build_intent_train.py
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from rapportd.agent.core.mailtext import split_reply, strip_greeting
from rapportd.agent.inference import detect_rules as rules
from rapportd.agent.inference.commitments import classify_sentence
from rapportd.agent.inference.sentences import split_sentences

HERE = Path(__file__).resolve().parent
PUBLIC = HERE.parent.parent.parent / "shared" / "data" / "email-intent"
OUT = HERE / "intent_train.jsonl"
FP_FUTURE = re.compile(
    r"\b(?:i|we)\s*(?:'ll|will|shall|'m going to|am going to|are going to|'re going to)\b"
    r"|\blet me (?!know)\w"
)


def norm_key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def handwritten() -> list[dict[str, object]]:
    rows = []
    for line in (HERE / "intent_sentences.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, _, text = line.partition("\t")
        rows.append(
            {
                "text": text.strip(),
                "request": int("R" in label),
                "commitment": int("C" in label),
                "source": "handwritten",
            }
        )
    return rows


def own_dev() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for line in (HERE / "detect_eval.jsonl").read_text(encoding="utf-8").splitlines():
        email = json.loads(line)
        if email.get("split") != "dev":
            continue
        body = strip_greeting(split_reply(email["text"])[0])
        sentences = split_sentences(body)
        gold = Counter(g["kind"] for g in email["gold"])
        if not gold:
            labels = [(0, 0)] * len(sentences)
        elif len(sentences) == 1:
            labels = [(int(gold["request"] > 0), int(gold["commitment"] > 0))]
        else:
            verdicts = [{k for k, _, _ in classify_sentence(s)} for s in sentences]
            got = Counter(k for v in verdicts for k in v)
            if got != gold:
                continue
            labels = [(int("request" in v), int("commitment" in v)) for v in verdicts]
        for s, (req, com) in zip(sentences, labels, strict=True):
            rows.append({"text": s, "request": req, "commitment": com, "source": "own-dev"})
    return rows


def verified() -> list[dict[str, object]]:
    base = PUBLIC / "enron-intent-verified"
    rows = []
    for name, label in (("intent_pos", 1), ("intent_neg", 0)):
        for line in (base / name).read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            text = line.strip()
            com = None if FP_FUTURE.search(rules.normalise(text)) else 0
            rows.append({"text": text, "request": label, "commitment": com, "source": "verified"})
    return rows


def parakweet() -> list[dict[str, object]]:
    path = PUBLIC / "parakweet" / "Ask0729-fixed.txt"
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        label, _, text = line.partition("\t")
        if label.strip() in ("Yes", "No") and text.strip():
            rows.append(
                {
                    "text": text.strip(),
                    "request": int(label.strip() == "Yes"),
                    "commitment": None,
                    "source": "parakweet",
                }
            )
    return rows


def _detok(tokens: list[str]) -> str:
    s = " ".join(tokens)
    s = re.sub(r" ([.,!?;:)%])", r"\1", s)
    s = re.sub(r"([($]) ", r"\1", s)
    s = re.sub(r" (n't|'ll|'s|'re|'ve|'d|'m)\b", r"\1", s)
    return s.replace("`` ", '"').replace(" ''", '"')


def mailex() -> list[dict[str, object]]:
    data = json.loads(
        (PUBLIC / "mailex-train-partial" / "trigger_train_data.json").read_text(encoding="utf-8")
    )
    rows = []
    for email in data:
        cur: list[str] = []
        labs: list[object] = []
        pairs = list(zip(email["text"], email["trigger_labels"], strict=True))
        for i, (tok, lab) in enumerate(pairs):
            cur.append(tok)
            labs.append(lab)
            if tok in (".", "?", "!") or i == len(pairs) - 1:
                if cur and all(isinstance(x, str) for x in labs):
                    types = {str(x)[2:] for x in labs if str(x).startswith("B_")}
                    text = _detok(cur)
                    req = int(any(t.startswith("Request_") for t in types))
                    com = int(
                        "Deliver_Action_Data" in types and bool(FP_FUTURE.search(text.lower()))
                    )
                    if re.search(r"[a-z]", text, re.I) and len(text) <= 600:
                        rows.append(
                            {"text": text, "request": req, "commitment": com, "source": "mailex"}
                        )
                cur, labs = [], []
    return rows


def test_sentences() -> set[str]:
    path = PUBLIC / "parakweet" / "testSet-qualifiedBatch-fixed.txt"
    if not path.exists():
        return set()
    out = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        _, _, text = line.partition("\t")
        if text.strip():
            out.add(norm_key(text))
    return out


def build() -> list[dict[str, object]]:
    rows = handwritten() + own_dev()
    if (PUBLIC / "enron-intent-verified" / "intent_pos").exists():
        rows += verified()
    if (PUBLIC / "parakweet" / "Ask0729-fixed.txt").exists():
        rows += parakweet()
    if (PUBLIC / "mailex-train-partial" / "trigger_train_data.json").exists():
        rows += mailex()
    banned = test_sentences()
    seen: set[tuple[str, str]] = set()
    out = []
    for r in rows:
        key = norm_key(str(r["text"]))
        if key in banned or (key, str(r["source"])) in seen:
            continue
        seen.add((key, str(r["source"])))
        out.append(r)
    return out


def main() -> None:
    rows = build()
    with OUT.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    by_source = Counter(str(r["source"]) for r in rows)
    print(f"wrote {len(rows)} sentences to {OUT}: {dict(by_source)}")


if __name__ == "__main__":
    main()
