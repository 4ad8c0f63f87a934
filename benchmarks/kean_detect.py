"""Item precision of the detector on real mail, graded by hand: 60 messages of one real mailbox.

Set: the messages of ``../shared/data/enron-sample`` whose ``X-Origin`` header is ``Kean-S``
(any case; steven.kean@enron.com's mailbox), de-duplicated (the archive keeps many sent
messages twice: same sender, same body), sorted by path, and 60 of them drawn with
``random.Random(SEED)``. For each: the plain body (HTML rendered by ``mailtext.html_to_text``),
the author's own text by ``mailtext.split_reply`` (as ``detect`` does), and ``detect`` with the
shipped model, sent time from the Date header, zone America/Chicago (the owner's), sender and
To/Cc recipients from the headers.

Grades live in ``benchmarks/data/kean_detect_graded.jsonl``: one line per item ever produced
(by any version of the detector): ``file``, ``kind``, ``sentence``, ``due``, ``verdict``
(``right`` / ``wrong``; a right item with a wrong due date is ``right`` with ``due_ok`` false),
``reason`` (one line), ``part`` (``own``: the author's new text; ``quoted``: text of a forwarded
or replied-to message that ``split_reply`` left in, always wrong for the owner), ``found_by``
(``before`` = the detector of commit 2556b6b, ``after`` = this branch's), graded by reading the
whole message as its owner would: is this really a promise by the writer / a request of the
reader, is the due date right. Items are matched on (file, kind, sentence); an item no grade
covers is listed as UNGRADED.

Run: .venv/bin/python benchmarks/kean_detect.py            # items + precision vs the grades
     .venv/bin/python benchmarks/kean_detect.py --dump F   # write the items to grade to F
"""

from __future__ import annotations

import argparse
import email
import json
import random
import re
import sys
import time
from email import policy
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from rapportd.agent.core.mailtext import html_to_text
from rapportd.agent.inference.commitments import WEAK_ASK_RULES, Detected, detect

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent.parent / "shared" / "data" / "enron-sample"
GRADES = HERE / "data" / "kean_detect_graded.jsonl"
SEED = 14
N = 60
TZ = "America/Chicago"


def mailbox_files(root: Path = SAMPLE) -> list[Path]:
    """The owner's messages, one per (sender, body), in path order."""
    seen: set[tuple[str, str]] = set()
    out = []
    for path in sorted(root.glob("*/*.txt")):
        raw = path.read_bytes()
        head = raw.split(b"\n\n", 1)[0]
        if not re.search(rb"(?im)^X-Origin:\s*kean-s\s*$", head):
            continue
        msg = email.message_from_bytes(raw, policy=policy.default)
        key = (str(msg.get("From", "")).lower(), " ".join(body_text(msg).split()))
        if key in seen:
            continue
        seen.add(key)
        out.append(path)
    return out


def body_text(msg: email.message.Message) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeError):
        payload = part.get_payload(decode=True) or b""
        text = payload.decode("latin-1", errors="replace")
    return html_to_text(text) if part.get_content_type() == "text/html" else str(text)


def sample(files: list[Path]) -> list[Path]:
    return sorted(random.Random(SEED).sample(files, min(N, len(files))))


def items_of(path: Path) -> list[Detected]:
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    sent_at = parsedate_to_datetime(str(msg["Date"]))
    recipients = [a for _, a in getaddresses([str(msg.get("To", "")), str(msg.get("Cc", ""))])]
    sender = next((a for _, a in getaddresses([str(msg.get("From", ""))])), "")
    return detect(body_text(msg), sent_at=sent_at, tz=TZ, sender=sender, recipients=recipients)


def rel(path: Path) -> str:
    return str(path.relative_to(SAMPLE))


def actionable(kind: str, rule: str, due: str | None) -> bool:
    """What suggestions act on: an explicit ask, or a promise with a due date."""
    return (kind == "request" and rule not in WEAK_ASK_RULES) or (
        kind == "commitment" and due is not None
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", help="write the items (JSON lines) to this file")
    ap.add_argument("--grades", default=str(GRADES))
    args = ap.parse_args()
    if not SAMPLE.exists():
        print(f"skipped: {SAMPLE} is absent")
        return 0
    files = sample(mailbox_files())
    t0 = time.perf_counter()
    rows = []
    for path in files:
        for it in items_of(path):
            due = it.due.date().isoformat() if it.due else None
            rows.append(
                {
                    "file": rel(path),
                    "kind": it.kind,
                    "sentence": it.text,
                    "due": due,
                    "rule": str(it.reasons.get("rule")),
                    "confidence": it.confidence,
                }
            )
    took = time.perf_counter() - t0
    print(f"{len(files)} messages, {len(rows)} items ({took:.2f}s)")
    if args.dump:
        Path(args.dump).write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"wrote {args.dump}")
    grades_path = Path(args.grades)
    grades = {}
    if grades_path.exists():
        for line in grades_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                g = json.loads(line)
                grades[(g["file"], g["kind"], g["sentence"])] = g
    report(rows, grades)
    return 0


def report(rows: list[dict], grades: dict[tuple[str, str, str], dict]) -> None:
    ungraded = [r for r in rows if (r["file"], r["kind"], r["sentence"]) not in grades]
    for r in ungraded:
        print(f"  UNGRADED {r['file']} {r['kind']} {r['rule']}: {r['sentence'][:100]}")

    def part(r: dict) -> str:
        g = grades.get((r["file"], r["kind"], r["sentence"]))
        return str(g.get("part")) if g else "?"

    for name, keep in (
        ("all items", lambda r: True),
        ("product point (explicit asks + dated promises)", lambda r: actionable(
            r["kind"], r["rule"], r["due"])),
        ("items from the author's own text", lambda r: part(r) == "own"),
        ("own text, product point", lambda r: part(r) == "own" and actionable(
            r["kind"], r["rule"], r["due"])),
    ):  # fmt: skip
        for kind in ("commitment", "request", None):
            sel = [r for r in rows if keep(r) and (kind is None or r["kind"] == kind)]
            graded = [grades[(r["file"], r["kind"], r["sentence"])] for r in sel
                      if (r["file"], r["kind"], r["sentence"]) in grades]  # fmt: skip
            right = sum(g["verdict"] == "right" for g in graded)
            dated = [g for g in graded if g["verdict"] == "right" and g.get("due")]
            due_ok = sum(bool(g.get("due_ok", True)) for g in dated)
            label = kind or "both"
            prec = f"{right / len(graded):.3f}" if graded else "-"
            print(
                f"  {name:<48} {label:<10} items {len(sel):>3}  graded {len(graded):>3}  "
                f"right {right:>3}  precision {prec}  due right {due_ok}/{len(dated)}"
            )


if __name__ == "__main__":
    sys.exit(main())
