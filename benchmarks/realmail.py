"""Real-mail benchmark: ``rapportd replay`` on Steven Kean's mailbox as of 2001-07-30.

    .venv/bin/python benchmarks/realmail.py [--out DIR] [--as-of 2001-07-30T18:00Z] [--mailbox M] [--pool]

The archive is built from ``../shared/data/enron-sample`` (public Enron corpus, FERC
release): every message whose ``X-Origin`` is ``Kean-S`` (any case) or that names
steven.kean@enron.com in From, To or Cc, copied into a temporary folder as it is, except
that a copy taken from another person's mailbox loses its ``X-Folder`` (that folder is the
other person's: their "Sent Items" is not the owner's sent mail). The
replay runs the whole product on it with the clock held at the as-of instant (the owner
is steven.kean@enron.com, provider Google, nothing else told), and this prints:

- messages loaded and not loaded, with the reasons; sync skip records and the problems
  noted on stored messages, grouped by reason;
- suggestions by kind and the outbox states; the run time (wall clock of the replay);
- the mechanical checks of :mod:`rapportd.agent.replay.checks`: suggestions to the owner's
  own addresses (the ones rapportd learned plus this benchmark's truth list below, which
  rapportd is never given), duplicate suggestions, greetings made from an address local
  part (or a name in no display name or signature), quoted evidence outside the author's
  own text of its message, outbox rows left in ``writing``.

Owner truth (other addresses Steven Kean's mail is addressed to in the archive, and the
one the issue found): skean@enron.com, steven.j.kean@enron.com, j..kean@enron.com.

It skips with a message when ``../shared/data`` is absent. The replay's own outputs
(``suggestions.jsonl``, ``report.html`` to grade by hand) are in ``--out``.
"""

from __future__ import annotations

import argparse
import email
import json
import re
import sys
import tempfile
import time
from email.utils import getaddresses
from pathlib import Path

from rich.console import Console

from rapportd.agent.core.settings import parse_instant
from rapportd.agent.replay.checks import CHECKS
from rapportd.agent.replay.run import ReplayOptions, ReplayResult, grouped_reasons, run_replay

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "enron-sample"
OWNER = "steven.kean@enron.com"
ORIGIN = "kean-s"
AS_OF = "2001-07-30T18:00Z"
OWNER_TRUTH = ("skean@enron.com", "steven.j.kean@enron.com", "j..kean@enron.com")
# More mailboxes of the sample, as checks that nothing was built for Kean alone: their
# owner, their X-Origin, an as-of instant just after their last busy month. Only their
# primary address is known to the benchmark (no truth list).
MAILBOXES = {
    "kean": (OWNER, ORIGIN, AS_OF),
    "kaminski": ("vince.kaminski@enron.com", "kaminski-v", "2001-07-02T18:00Z"),
    "dasovich": ("jeff.dasovich@enron.com", "dasovich-j", "2001-07-25T18:00Z"),
    # six small mailboxes (12-233 messages, mostly received mail), added 2026-12-04: the day
    # after each one's last message, chosen before any of them was replayed
    "shapiro": ("richard.shapiro@enron.com", "shapiro-r", "2001-11-28T18:00Z"),
    "sanders": ("richard.sanders@enron.com", "sanders-r", "2001-09-07T18:00Z"),
    "cash": ("michelle.cash@enron.com", "cash-m", "2001-11-10T18:00Z"),
    "skilling": ("jeff.skilling@enron.com", "skilling-j", "2001-07-21T18:00Z"),
    "steffes": ("james.steffes@enron.com", "steffes-j", "2001-11-16T18:00Z"),
    "hayslett": ("rod.hayslett@enron.com", "hayslett-r", "2001-11-22T18:00Z"),
}


def kean_messages(data: Path = DATA, owner: str = OWNER, origin: str = ORIGIN) -> list[Path]:
    """A mailbox's files in the sample (see the module docstring; Kean's by default)."""
    chosen = []
    for path in sorted(data.glob("*/*.txt")):
        with path.open("rb") as fh:
            msg = email.message_from_binary_file(fh)
        people = getaddresses(
            [str(v) for h in ("From", "To", "Cc") for v in (msg.get_all(h) or [])]
        )
        if str(msg.get("X-Origin") or "").strip().lower() == origin or any(
            a.lower() == owner for _n, a in people
        ):
            chosen.append(path)
    return chosen


def build_archive(target: Path, data: Path = DATA, owner: str = OWNER, origin: str = ORIGIN) -> int:
    """Copy a mailbox's messages into ``target`` (keeping their genre folders); their count."""
    files = kean_messages(data, owner, origin)
    for path in files:
        dest = target / path.parent.name / path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        raw = path.read_bytes()
        if _origin(raw) != origin:
            # a copy from another person's mailbox that names the owner: it reached the owner
            # as mail, so it keeps no folder of that other mailbox ("Sent Items" there is not
            # the owner's sent mail)
            raw = re.sub(rb"(?im)^X-Folder:[^\r\n]*\r?\n", b"", raw, count=1)
        dest.write_bytes(raw)
    return len(files)


def _origin(raw: bytes) -> str:
    m = re.search(rb"(?im)^X-Origin:\s*([^\r\n]*)", raw)
    return m.group(1).decode("ascii", "replace").strip().lower() if m else ""


# The pooled run: every mailbox at several instants (each just after a busy month), so the
# hand grade reads more than one day's few suggestions. Chosen from the months' message
# counts alone, before any of these replays was read (the last seven were added 2026-12-04).
POOL = (
    ("kean", "2000-08-31T18:00Z"),
    ("kean", "2000-09-29T18:00Z"),
    ("kean", "2001-03-30T18:00Z"),
    ("kean", "2001-05-31T18:00Z"),
    ("kean", AS_OF),
    ("kaminski", "2001-06-20T18:00Z"),
    ("kaminski", MAILBOXES["kaminski"][2]),
    ("dasovich", "2000-09-29T18:00Z"),
    ("dasovich", "2001-04-30T18:00Z"),
    ("dasovich", MAILBOXES["dasovich"][2]),
    ("shapiro", "2001-07-31T18:00Z"),
    *(
        (m, MAILBOXES[m][2])
        for m in ("shapiro", "sanders", "cash", "skilling", "steffes", "hayslett")
    ),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="replay output folder")
    parser.add_argument("--as-of", default=None, help="default: the mailbox's own")
    parser.add_argument(
        "--mailbox",
        choices=sorted(MAILBOXES),
        default="kean",
        help="kean (the issue's); the others are checks of the general case",
    )
    parser.add_argument(
        "--pool",
        action="store_true",
        help="replay every mailbox at the instants of POOL; OUT/pool.jsonl holds them all",
    )
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (the real-mail data lives in ../shared/data)")
        return 0
    out = args.out or Path(tempfile.mkdtemp(prefix="rapportd-realmail-"))
    if not args.pool:
        replay_one(args.mailbox, args.as_of or MAILBOXES[args.mailbox][2], out, verbose=True)
        return 0
    pooled: list[dict] = []
    rows = []
    for mailbox, as_of in POOL:
        sub = out / f"{mailbox}_{as_of[:10]}"
        result = replay_one(mailbox, as_of, sub, verbose=False)
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(result.by_kind.items())) or "-"
        failed = sum(result.checks.count(name) for name in CHECKS)
        rows.append((mailbox, as_of[:10], result.suggestions, failed, kinds))
        for line in (sub / "suggestions.jsonl").read_text(encoding="utf-8").splitlines():
            if line:
                pooled.append({"replay": f"{mailbox} as of {as_of}", **json.loads(line)})
    (out / "pool.jsonl").write_text(
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pooled), encoding="utf-8"
    )
    print(f"\n{'mailbox':10} {'as of':10} {'suggestions':>11} {'checks failed':>13}  kinds")
    for mailbox, day, n, failed, kinds in rows:
        print(f"{mailbox:10} {day:10} {n:11d} {failed:13d}  {kinds}")
    print(f"{'total':21} {sum(r[2] for r in rows):11d} {sum(r[3] for r in rows):13d}")
    print(f"outputs: {out / 'pool.jsonl'} and one folder per replay")
    return 0


def replay_one(mailbox: str, as_of: str, out: Path, *, verbose: bool) -> ReplayResult:
    owner, origin, _default = MAILBOXES[mailbox]
    with tempfile.TemporaryDirectory(prefix="kean-archive-") as tmp:
        archive = Path(tmp)
        count = build_archive(archive, DATA, owner, origin)
        print(f"archive: {count} messages of the {mailbox} mailbox from {DATA}")
        started = time.perf_counter()
        result = run_replay(
            ReplayOptions(
                archives=[archive],
                owner=owner,
                as_of=parse_instant(as_of),
                out=out,
                owner_truth=OWNER_TRUTH if mailbox == "kean" else (),
            ),
            console=Console(stderr=True),
        )
        wall = time.perf_counter() - started
    if not verbose:
        return result
    print(f"\nreplay of {owner} as of {as_of} (provider google, zone {result.timezone})")
    print(f"messages loaded: {result.loaded} ({result.loaded_sent} as sent mail)")
    print(f"archive items not loaded: {len(result.archive_skips)}")
    for reason, n in grouped_reasons(result.archive_skips):
        print(f"  {n:5d}  {reason}")
    print(f"sync skip records: {len(result.sync_skips)}")
    for reason, n in grouped_reasons(result.sync_skips):
        print(f"  {n:5d}  {reason}")
    print(f"stored messages with problems noted: {sum(result.message_problems.values())}")
    for reason, n in grouped_reasons([("", p) for p in result.message_problems.elements()]):
        print(f"  {n:5d}  {reason}")
    print(f"\nsuggestions: {result.suggestions}")
    for kind, n in sorted(result.by_kind.items()):
        print(f"  {n:5d}  {kind}")
    print("outbox: " + ", ".join(f"{k} {v}" for k, v in sorted(result.outbox.items())))
    if result.task_errors:
        print("task errors:")
        for line in result.task_errors:
            print(f"  {line}")
    print(f"owner addresses rapportd learned: {', '.join(result.learned_owner_addresses)}")
    print("\nmechanical checks:")
    for line in result.checks.lines():
        print(f"  {line}")
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    print(f"\nruntime: {wall:.1f}s wall ({stages})")
    print(f"outputs: {out / 'suggestions.jsonl'}, {out / 'report.html'}")
    return result


if __name__ == "__main__":
    sys.exit(main())
