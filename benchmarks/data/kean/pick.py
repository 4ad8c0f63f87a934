"""Picks the Kean messages to label by hand (benchmarks/data/kean/README.md says how).

Every message of ../shared/data/enron-sample with ``X-Origin: Kean-S`` (any case), sorted by
path, shuffled with ``random.Random(SEED)``; the first ``COUNT`` whose body is not an exact
copy of one already picked (the archive holds each sent message twice). The first half is the
``dev`` half (looked at while building the segmenter), the second half the ``test`` half
(never looked at while building it). Prints ``split<TAB>path`` lines.

Run: .venv/bin/python benchmarks/data/kean/pick.py
"""

from __future__ import annotations

import email
import email.policy
import random
import re
from pathlib import Path

SEED = 14
COUNT = 100
SAMPLE = Path(__file__).resolve().parents[4] / "shared" / "data" / "enron-sample"


def kean_paths(root: Path = SAMPLE) -> list[Path]:
    out = []
    for path in sorted(root.glob("*/*.txt")):
        head = path.read_bytes()[:4000].decode("latin-1")
        if re.search(r"(?im)^X-Origin:\s*kean-s\s*$", head):
            out.append(path)
    return out


def body_of(path: Path) -> str:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)
    payload = msg.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return payload.decode(msg.get_content_charset() or "latin-1", errors="replace")


def pick(root: Path = SAMPLE) -> list[tuple[str, Path]]:
    paths = kean_paths(root)
    random.Random(SEED).shuffle(paths)
    seen: set[str] = set()
    chosen: list[Path] = []
    for path in paths:
        key = re.sub(r"\s+", " ", body_of(path)).strip()
        if key in seen:
            continue
        seen.add(key)
        chosen.append(path)
        if len(chosen) == COUNT:
            break
    half = COUNT // 2
    return [("dev" if i < half else "test", p) for i, p in enumerate(chosen)]


if __name__ == "__main__":
    for split, path in pick():
        print(f"{split}\t{path.relative_to(SAMPLE)}")
