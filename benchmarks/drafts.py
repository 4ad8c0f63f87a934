"""Draft benchmark: would a person send rapportd's drafts as written, and do its
suggestions agree with each other?

    .venv/bin/python benchmarks/drafts.py [--seeds 7 8] [--replay kean:2001-03-14T18:00Z ...]
                                          [--store PATH ...] [--show] [--json]

Runs the demo world (``rapportd demo --once``, generated mailbox of each ``--seeds``) and real-mail
replays (``benchmarks/realmail.py --mailbox M --as-of T``, public Enron mail), each in a
fresh folder, or reads stores given with ``--store`` (a ``rapportd.sqlite3`` file or a replay
folder). Over every open suggestion of each store it counts:

- ``drafts``: email drafts (holds are not drafts, but count in the contradictions);
- ``placeholders``: drafts with a blank to fill ("[your answer]", "[attach or paste]");
- ``local-part names``: drafts greeting or addressing someone by an address's local part, or
  with a To name left empty although the person's readable name is known;
- ``quoted first-person``: drafts quoting a first-person sentence ("I promised you 'I'll …'");
- ``subject-as-topic``: drafts that mention, as a topic, a subject line of mail with that
  person which is no topic (a greeting, small talk, a logistics question);
- ``repeated sentences``: sentences (other than greeting and sign-off) that two drafts of
  one store share;
- ``contradictions``: people with two open suggestions at once, and "drifting" suggestions
  (check-in, reconnect hold) whose silence is below the person's usual gap or under a week.

The checks are :mod:`rapportd.agent.suggest.draft_checks` (the LLM drafter's too). Targets:
all zero. ``--show`` prints every failing draft.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rapportd.agent.inference.names import readable_name  # noqa: E402
from rapportd.agent.store.models import Contact, ContactIdentity, Message, Suggestion  # noqa: E402
from rapportd.agent.suggest.coherence import PERSONAL_KINDS, person_key  # noqa: E402
from rapportd.agent.suggest.config import HOLD_KINDS  # noqa: E402
from rapportd.agent.suggest.draft_checks import (  # noqa: E402
    local_part_names,
    placeholders,
    quoted_first_person,
    sentences,
    subject_as_topic,
)
from rapportd.agent.suggest.phrasing import meeting_title, topic_of  # noqa: E402

OPEN = ("proposed", "pending", "written", "snoozed")
DRIFT_KINDS = ("check_in", "reconnect_hold")
# Real-mail instants with suggestions across the three mailboxes of the sample (the busiest
# months of each); the replay of each takes ~15 s.
REPLAYS = (
    "kean:2000-09-21T18:00Z",
    "kean:2000-12-13T18:00Z",
    "kean:2001-01-17T18:00Z",
    "kean:2001-02-14T18:00Z",
    "kean:2001-03-14T18:00Z",
    "kean:2001-04-25T18:00Z",
    "kean:2001-07-18T18:00Z",
    "kaminski:2001-07-02T18:00Z",
    "dasovich:2001-04-18T18:00Z",
)
FIGURES = (
    "drafts",
    "placeholders",
    "local-part names",
    "quoted first-person",
    "subject-as-topic",
    "repeated sentences",
    "contradictions",
)


@dataclass
class Result:
    name: str
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, int, str]] = field(default_factory=list)  # (check, id, detail)
    texts: list[tuple[int, str, str, str]] = field(default_factory=list)  # (id, kind, subj, body)


def _subjects_by_address(db: Session, owner_id: int) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for sender, to, cc, subject in db.execute(
        select(Message.from_addr, Message.to_addrs, Message.cc_addrs, Message.subject).where(
            Message.owner_id == owner_id
        )
    ):
        people = [sender, *(x.get("email", "") if isinstance(x, dict) else x for x in to or [])]
        people += [x.get("email", "") if isinstance(x, dict) else x for x in cc or []]
        for a in people:
            if a and subject:
                out[str(a).lower()].add(subject)
    return out


def check_store(name: str, path: Path) -> Result:
    """Every check of the module docstring over one store's open suggestions."""
    engine = create_engine(f"sqlite:///{path}")
    result = Result(name)
    with Session(engine) as db:
        rows = list(db.scalars(select(Suggestion).where(Suggestion.status.in_(OPEN))))
        contacts = {c.id: c for c in db.scalars(select(Contact))}
        addresses: dict[int, set[str]] = defaultdict(set)
        for address, cid in db.execute(select(ContactIdentity.address, ContactIdentity.contact_id)):
            addresses[cid].add(address.lower())
        subjects = _subjects_by_address(db, rows[0].owner_id) if rows else {}
    per_person: Counter[str] = Counter()
    sentence_owners: dict[str, set[int]] = defaultdict(set)
    for s in rows:
        to = [[str(x[0]), str(x[1]) if len(x) > 1 else ""] for x in s.to_addrs or []]
        contact = contacts.get(s.contact_id) if s.contact_id is not None else None
        if s.kind in PERSONAL_KINDS:
            per_person[person_key(s.contact_id, to, s.dedupe_key)] += 1
        reasons = s.reasons or {}
        if s.kind in DRIFT_KINDS:
            silence = reasons.get("silence_days")
            usual = reasons.get("typical_gap_days")
            if isinstance(silence, int | float) and (
                silence < 7 or (isinstance(usual, int | float) and silence <= usual)
            ):
                result.counts["contradictions"] += 1
                result.failures.append(("contradictions", s.id, f"drifting: {reasons.get('why')}"))
        if s.kind in HOLD_KINDS:
            continue
        result.counts["drafts"] += 1
        body, subject = s.body or "", s.subject or ""
        result.texts.append((s.id, s.kind, subject, body))
        known = [contact.display_name] if contact is not None else []
        known += (
            [str((contact.analysis or {}).get("greeting", {}).get("name") or "")] if contact else []
        )
        checks: dict[str, list[str]] = {
            "placeholders": placeholders(subject + "\n" + body),
            "quoted first-person": quoted_first_person(body),
            "local-part names": local_part_names(body, to, known),
        }
        for address, shown in to:
            c = contacts.get(s.contact_id) if len(to) == 1 and s.contact_id else None
            if not shown and c is not None and readable_name(c.display_name, address):
                checks["local-part names"].append(f"To {address} without the known name")
        mine = set()
        for address, _ in to:
            mine |= subjects.get(address.lower(), set())
        found = subject_as_topic(body, mine)
        if s.kind in ("check_in", "thank_you"):
            shown_subject = meeting_title(subject.removeprefix("Thank you — "))
            found += [x for x in mine if meeting_title(x) == shown_subject and not topic_of(x)]
        checks["subject-as-topic"] = found
        for check, hits in checks.items():
            if hits:
                result.counts[check] += 1
                result.failures.append((check, s.id, "; ".join(hits)))
        for sentence in set(sentences(body)):
            sentence_owners[sentence].add(s.id)
    for key, n in per_person.items():
        if n > 1:
            result.counts["contradictions"] += 1
            result.failures.append(("contradictions", 0, f"{n} open suggestions for {key}"))
    for sentence, ids in sentence_owners.items():
        if len(ids) > 1:
            result.counts["repeated sentences"] += 1
            result.failures.append(
                ("repeated sentences", min(ids), f"{len(ids)} drafts: {sentence}")
            )
    engine.dispose()
    return result


def run_demo(seed: int, work: Path) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORTD_")}
    env["RAPPORTD_DATA_DIR"] = str(work)
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "rapportd"), "demo", "--once", "--seed", str(seed)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=900,
    )
    return work / "demo" / "rapportd.sqlite3"


def run_replay(spec: str, work: Path) -> Path | None:
    mailbox, _, as_of = spec.partition(":")
    out = work / f"{mailbox}-{as_of[:10]}"
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "realmail.py"), "--mailbox", mailbox]
        + (["--as-of", as_of] if as_of else [])
        + ["--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=900,
    )
    found = sorted(out.glob("**/*.sqlite3"))
    return found[0] if found else None


def _store_path(path: Path) -> Path:
    if path.is_dir():
        found = sorted(path.glob("**/*.sqlite3"))
        if not found:
            raise SystemExit(f"no rapportd store under {path}")
        return found[0]
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[7, 8], help="demo world seeds")
    parser.add_argument("--replay", nargs="*", default=list(REPLAYS), help="MAILBOX:AS_OF")
    parser.add_argument("--store", nargs="*", type=Path, default=[], help="existing stores")
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs in this folder")
    parser.add_argument("--show", action="store_true", help="print every failing draft")
    parser.add_argument("--dump", action="store_true", help="print every draft")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="rapportd-drafts-"))
    work.mkdir(parents=True, exist_ok=True)
    stores: list[tuple[str, Path]] = [(str(p), _store_path(p)) for p in args.store]
    for seed in [] if args.store else args.seeds:
        stores.append((f"demo seed {seed}", run_demo(seed, work / f"demo-{seed}")))
    if not args.store:
        for spec in args.replay:
            path = run_replay(spec, work)
            if path is not None:
                stores.append((f"real {spec}", path))
    results = [check_store(name, path) for name, path in stores]
    total: Counter[str] = Counter()
    for r in results:
        total.update(r.counts)
    if args.json:
        print(
            json.dumps(
                {r.name: {f: r.counts[f] for f in FIGURES} for r in results}
                | {"total": {f: total[f] for f in FIGURES}},
                indent=2,
            )
        )
        return 0
    width = max(len(r.name) for r in results) if results else 10
    print(f"{'store':<{width}}  " + "  ".join(f"{f:>{len(f)}}" for f in FIGURES))
    for r in [*results, Result("total", total)]:
        print(f"{r.name:<{width}}  " + "  ".join(f"{r.counts[f]:>{len(f)}}" for f in FIGURES))
    if args.show:
        for r in results:
            for check, sid, detail in r.failures:
                print(f"[{r.name}] {check} #{sid}: {detail}")
    if args.dump:
        for r in results:
            for sid, kind, subject, body in r.texts:
                print(f"\n=== [{r.name}] #{sid} {kind} — Subject: {subject}\n{body}")
    print(f"runs kept in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
