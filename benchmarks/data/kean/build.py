"""Builds benchmarks/data/kean_zones.jsonl from the hand labels in labels.tsv.

labels.tsv gives, per picked message (pick.py), the body lines (1-based, inclusive) of the
author's own text and of the signature. This script reads each raw message from
../shared/data/enron-sample, takes those lines and writes one JSON object per message:
``{"file", "message_id", "split", "body", "own", "signature", "note"}`` where ``body`` is the
decoded message body (the segmenter's input) and ``own`` and ``signature`` are the exact
text of the labelled lines ("" when none). The jsonl is what the
benchmark and the default-suite test read (they need no ../shared/data).

Run: .venv/bin/python benchmarks/data/kean/build.py
"""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

from pick import SAMPLE, body_of, pick

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "kean_zones.jsonl"


def _lines(spec: str, lines: list[str]) -> str:
    if spec.strip() == "-":
        return ""
    out: list[str] = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.extend(lines[int(a) - 1 : int(b or a)])
    return "\n".join(out)


def main() -> None:
    splits = {str(path.relative_to(SAMPLE)): split for split, path in pick()}
    rows = []
    for raw in (HERE / "labels.tsv").read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        _idx, rel, own, sig, note = raw.split("\t")
        path = SAMPLE / rel
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)
        body = body_of(path)
        lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        rows.append(
            {
                "file": rel,
                "message_id": str(msg["Message-ID"] or "").strip(),
                "split": splits[rel],
                "body": body,
                "own": _lines(own, lines),
                "signature": _lines(sig, lines),
                "note": note,
            }
        )
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} messages -> {OUT}")


if __name__ == "__main__":
    main()
