"""How well the author's own text is cut out of real mail (agent/core/segment.py).

Sets (real mail nobody on the project wrote):

- ``asf`` and ``enron``: ../shared/data/email-zones (Repke & Krestel, ECIR 2018; GPL-3.0, read
  from there, never copied): 358 Apache mailing-list and 800 Enron messages with their zones
  marked by hand, split train/eval/test. Tune on train, choose on eval, quote test once.
- ``enron-lines``: email-zones/enron/lines, 169 Enron messages whose body lines are marked
  ``B>`` (body) or ``H>`` (header of an embedded message); not used for tuning.
- ``kean``: benchmarks/data/kean_zones.jsonl, 100 messages of the Kean mailbox labelled by the
  project (benchmarks/data/kean/README.md): ``dev`` half looked at while building, ``test``
  half not.

Gold own text (docs/BENCHMARKS.md says why): the text from the start of the message to the
first ``Header`` zone (when the message starts with a header block and the next body holds
``>`` lines, that body: the author answered between the quotes), without ``>`` lines,
attachment markers and (for "own") the ``Body/Signature`` zones; "own+sig" keeps the
signature. A message that starts with a header block and no ``>`` quote has no own text (a
forward without comment).

Metrics per set: **exact** = share of messages whose predicted own text equals the gold after
whitespace normalisation; **F1** = mean character-level F1 (matching characters of the
normalised texts: each shared word counts its length); both for own text without and with the signature.

Systems: ``segment`` (this branch), ``main`` (split_reply of agent/core/mailtext.py at git ref
``--baseline``, default main), and with ``--libs`` the libraries installed in this venv
(quotequail, mail-parser-reply, email-reply-parser, talon).

Run: .venv/bin/python benchmarks/segment.py [--split train|eval|test] [--libs] [--show N]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import types
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from rapportd.agent.core.segment import segment

SHOW_SIG_MISSES_ONLY = False
ROOT = Path(__file__).resolve().parent.parent
ZONES = ROOT.parent / "shared" / "data" / "email-zones"
KEAN = ROOT / "benchmarks" / "data" / "kean_zones.jsonl"


@dataclass
class Case:
    set: str
    id: str
    text: str
    own: str  # gold own text without signature
    own_sig: str  # gold own text with signature


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _drop_quote_lines(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith(">"))


def _cut(text: str, start: int, end: int, holes: Iterable[tuple[int, int]]) -> str:
    keep = [True] * (end - start)
    for a, b in holes:
        for k in range(max(a, start), min(b, end)):
            keep[k - start] = False
    return "".join(ch if keep[k] else " " for k, ch in enumerate(text[start:end]))


def zones_gold(text: str, den: list[dict]) -> tuple[str, str]:
    """(own, own+signature) of one email-zones message (see the module doc)."""
    bodies = sorted((d for d in den if d["type"] == "Body"), key=lambda d: d["start"])
    headers = sorted((d for d in den if d["type"] == "Header"), key=lambda d: d["start"])
    first_header = headers[0]["start"] if headers else len(text)
    if text[:first_header].strip():
        start, end = 0, first_header
        # Notes letterhead/sender lines the annotators sometimes left above the Header zone
        # (indented with a tab right above it) belong to the header block.
        lines = text[:end].rstrip(" \t\n").split("\n")
        while lines and lines[-1].startswith("\t") and len(lines) > 1:
            lines.pop()
        if len(lines) < len(text[:end].rstrip(" \t\n").split("\n")):
            end = len("\n".join(lines))
    else:
        after = [b for b in bodies if b["start"] >= first_header]
        if not after or not re.search(r"(?m)^\s*>", text[after[0]["start"] : after[0]["end"]]):
            return "", ""
        start = after[0]["start"]
        nxt = [h["start"] for h in headers if h["start"] > start]
        end = min([after[0]["end"], *nxt])
    attach = [(d["start"], d["end"]) for d in den if d["type"] == "Body/Attachments"]
    sigs = [(d["start"], d["end"]) for d in den if d["type"] == "Body/Signature"]
    with_sig = _drop_quote_lines(_cut(text, start, end, attach))
    own = _drop_quote_lines(_cut(text, start, end, attach + sigs))
    return own, with_sig


def load_zones(name: str, split: str) -> list[Case]:
    folder = ZONES / ("asf" if name == "asf" else "enron/zones") / split
    out = []
    for ann in sorted(folder.glob("*.ann")):
        data = json.loads(ann.read_text(encoding="utf-8"))
        own, with_sig = zones_gold(data["text"], data["denotations"])
        out.append(Case(f"{name}-{split}", ann.stem, data["text"], own, with_sig))
    return out


def load_lines() -> list[Case]:
    out = []
    for path in sorted((ZONES / "enron" / "lines").iterdir()):
        raw = path.read_text(encoding="utf-8", errors="replace")
        body = raw.split("\n\n", 1)[1] if "\n\n" in raw else raw
        text_lines, own, in_own = [], [], True
        for line in body.split("\n"):
            tag, rest = line[:2], line[2:]
            if tag not in ("B>", "H>"):
                tag, rest = "B>", line
            text_lines.append(rest)
            if tag == "H>":
                in_own = False
            elif in_own and not rest.lstrip().startswith(">"):
                own.append(rest)
        gold = "\n".join(own)
        out.append(Case("enron-lines", path.name, "\n".join(text_lines), gold, gold))
    return out


def load_kean(half: str) -> list[Case]:
    out = []
    for raw in KEAN.read_text(encoding="utf-8").splitlines():
        row = json.loads(raw)
        if half != "all" and row["split"] != half:
            continue
        own_sig = row["own"] + ("\n" + row["signature"] if row["signature"] else "")
        out.append(Case(f"kean-{row['split']}", row["file"], row["body"], row["own"], own_sig))
    return out


# --- systems -------------------------------------------------------------------------------

System = Callable[[str], tuple[str, str]]  # text -> (own, signature)


def sys_segment(text: str) -> tuple[str, str]:
    seg = segment(text)
    return seg.own, seg.joined("signature", "footer")


def sys_main(ref: str) -> System | None:
    try:
        src = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{ref}:agent/core/mailtext.py"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    mod = types.ModuleType("mailtext_baseline")
    exec(compile(src, f"{ref}:agent/core/mailtext.py", "exec"), mod.__dict__)

    def run(text: str) -> tuple[str, str]:
        return mod.split_reply(text)[0], ""

    return run


def lib_systems() -> dict[str, System]:
    out: dict[str, System] = {}
    try:
        import quotequail

        def qq(text: str) -> tuple[str, str]:
            parts = []
            for is_new, chunk in quotequail.quote(text):
                if not is_new:
                    break
                parts.append(chunk)
            return "\n".join(parts), ""

        out["quotequail"] = qq
    except ImportError:
        pass
    try:
        from mailparser_reply import EmailReplyParser as MPR

        parser = MPR(languages=["en", "de", "fr", "es"])

        def mpr(text: str) -> tuple[str, str]:
            replies = parser.read(text).replies
            if not replies:
                return "", ""
            first = replies[0]
            return first.body or "", first.signatures or ""

        out["mail-parser-reply"] = mpr
    except ImportError:
        pass
    try:
        from email_reply_parser import EmailReplyParser as ERP

        out["email-reply-parser"] = lambda text: (ERP.parse_reply(text), "")
    except ImportError:
        pass
    try:
        import talon
        from talon import quotations
        from talon.signature.bruteforce import extract_signature

        talon.init()

        def tal(text: str) -> tuple[str, str]:
            reply = quotations.extract_from_plain(text)
            body, sig = extract_signature(reply)
            return body or "", sig or ""

        out["talon"] = tal
    except Exception:  # talon needs old scikit-learn pickles; absent or broken = skipped
        pass
    return out


# --- scoring -------------------------------------------------------------------------------


def f1(gold: str, pred: str) -> float:
    """Character-level F1 of two texts: the characters of the words they share (a word shared
    k times counts k times) over the characters of each; whitespace does not count."""
    g, p = Counter(norm(gold).split()), Counter(norm(pred).split())
    if not g and not p:
        return 1.0
    match = sum(min(c, p[w]) * len(w) for w, c in g.items() if w in p)
    if not match:
        return 0.0
    prec = match / sum(c * len(w) for w, c in p.items())
    rec = match / sum(c * len(w) for w, c in g.items())
    return 2 * prec * rec / (prec + rec)


@dataclass
class Score:
    n: int = 0
    exact: int = 0
    exact_sig: int = 0
    f1: float = 0.0
    f1_sig: float = 0.0
    seconds: float = 0.0

    def row(self) -> str:
        n = max(self.n, 1)
        return (
            f"{self.n:4d}  {100 * self.exact / n:6.1f}%  {self.f1 / n:6.3f}  "
            f"{100 * self.exact_sig / n:6.1f}%  {self.f1_sig / n:6.3f}  {1000 * self.seconds / n:7.2f}"
        )


def score(cases: list[Case], system: System, misses: list[tuple[Case, str]] | None = None) -> Score:
    out = Score()
    for case in cases:
        t0 = time.perf_counter()
        own, sig = system(case.text)
        out.seconds += time.perf_counter() - t0
        out.n += 1
        hit = norm(own) == norm(case.own)
        out.exact += hit
        out.exact_sig += norm(own + " " + sig) == norm(case.own_sig)
        out.f1 += f1(case.own, own)
        out.f1_sig += f1(case.own_sig, own + "\n" + sig)
        if (
            misses is not None
            and not hit
            and (not SHOW_SIG_MISSES_ONLY or norm(own + " " + sig) != norm(case.own_sig))
        ):
            misses.append((case, own))
    return out


def _diff(gold: str, pred: str) -> str:
    """Where gold and prediction part: the common prefix's tail and both remainders."""
    k = 0
    while k < min(len(gold), len(pred)) and gold[k] == pred[k]:
        k += 1
    return f"...{gold[max(0, k - 60) : k]!r}\n    gold+ {gold[k : k + 200]!r}\n    pred+ {pred[k : k + 200]!r}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=["train", "eval", "test"], default="eval")
    ap.add_argument("--libs", action="store_true", help="also measure the installed libraries")
    ap.add_argument("--baseline", default="main", help="git ref of the split_reply baseline")
    ap.add_argument("--sets", default="asf,enron,enron-lines,kean")
    ap.add_argument("--show", type=int, default=0, help="print N misses of segment per set")
    ap.add_argument(
        "--show-hard", action="store_true", help="show only misses with and without signature"
    )
    args = ap.parse_args(argv)
    global SHOW_SIG_MISSES_ONLY
    SHOW_SIG_MISSES_ONLY = args.show_hard

    sets: dict[str, list[Case]] = {}
    wanted = args.sets.split(",")
    if ZONES.is_dir():
        for name in ("asf", "enron"):
            if name in wanted:
                sets[f"{name}-{args.split}"] = load_zones(name, args.split)
        if "enron-lines" in wanted:
            sets["enron-lines"] = load_lines()
    else:
        print(f"skipped email-zones: {ZONES} is absent (public data, see docs/BENCHMARKS.md)")
    if "kean" in wanted:
        half = "test" if args.split == "test" else "dev"
        sets[f"kean-{half}"] = load_kean(half)

    systems: dict[str, System] = {"segment": sys_segment}
    base = sys_main(args.baseline)
    if base is not None:
        systems[f"{args.baseline}:split_reply"] = base
    if args.libs:
        systems.update(lib_systems())

    print(f"split={args.split}   exact/F1 = own text without signature; +sig = with it")
    print(f"{'set':14s} {'system':22s}    n   exact      F1   exact+sig  F1+sig   ms/msg")
    for set_name, cases in sets.items():
        for sys_name, system in systems.items():
            misses: list[tuple[Case, str]] | None = [] if sys_name == "segment" else None
            sc = score(cases, system, misses)
            print(f"{set_name:14s} {sys_name:22s} {sc.row()}")
            for case, own in (misses or [])[: args.show]:
                print(f"  --- miss {case.id}: {_diff(norm(case.own), norm(own))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
