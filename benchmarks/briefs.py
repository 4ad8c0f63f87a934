"""Meeting briefs on real mail: ``rapportd replay`` of Steven Kean's mailbox as of
2001-07-30 18:00 UTC with ten meetings added (benchmarks/data/kean-meetings-2001-07-31.ics),
then the briefs of 31 July and 1 August 2001 as ``rapportd brief`` builds them.

    .venv/bin/python benchmarks/briefs.py [--out DIR]

The ICS holds ten meetings of the owner with correspondents outside Enron that his own
mail of May-July 2001 names (Kevin Scott, Dan Watkiss, Mike Day, Scott and Hedy Govenar,
Gary Fergus, Irwin Stelzer, Wendy Gramm, the research desk of First Union, the lawyers of
the Kirby thread, an IBM correspondent), and three controls that must get no brief: an
internal staff meeting, a cancelled meeting and one the owner declined. Display names are
given only where the owner's own mail writes them.

It prints each brief (the text of a prep hold) and the mechanical checks: every external
meeting of the next day has a brief; every piece of evidence names a stored message and
its sentence lies in that message's author's own words (0 facts from quoted or forwarded
text); the controls have none. ``DIR/briefs.json`` and ``DIR/briefs.txt`` are written.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from realmail import DATA, OWNER, OWNER_TRUTH, build_archive  # noqa: E402

ICS = ROOT / "benchmarks" / "data" / "kean-meetings-2001-07-31.ics"
AS_OF = "2001-07-30T18:00Z"
DAYS = (date(2001, 7, 31), date(2001, 8, 1))
CONTROLS = {"keanmeeting11", "keanmeeting12", "keanmeeting13"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="use the store of a previous run")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    from sqlalchemy import select

    from rapportd.agent.brief.build import in_own_words
    from rapportd.agent.brief.load import load_briefs
    from rapportd.agent.brief.prep import PrepHoldSettings, prep_targets
    from rapportd.agent.brief.text import as_text
    from rapportd.agent.core import clock
    from rapportd.agent.core.settings import load_settings, parse_instant
    from rapportd.agent.replay.run import ReplayOptions, run_replay
    from rapportd.agent.store.db import make_engine, session_factory
    from rapportd.agent.store.models import CalendarEvent, Message, Owner
    from rapportd.agent.suggest.config import effective_config
    from rapportd.agent.suggest.rules import busy_intervals
    from rapportd.agent.suggest.snapshot import _message, load_snapshot

    out = args.out or Path(tempfile.mkdtemp(prefix="rapportd-briefs-"))
    as_of = parse_instant(AS_OF)
    if not args.reuse:
        with tempfile.TemporaryDirectory(prefix="kean-archive-") as tmp:
            archive = Path(tmp)
            count = build_archive(archive, DATA)
            shutil.copy(ICS, archive / ICS.name)
            print(f"archive: {count} messages of the kean mailbox + {ICS.name}")
            run_replay(
                ReplayOptions(
                    archives=[archive],
                    owner=OWNER,
                    as_of=as_of,
                    out=out,
                    owner_truth=OWNER_TRUTH,
                    timezone="America/Chicago",  # Houston, as the owner would set it
                ),
                console=Console(stderr=True),
            )
    engine = make_engine(f"sqlite:///{out / 'store' / 'rapportd.sqlite3'}")
    factory = session_factory(engine)
    settings = load_settings()
    texts, dumps = [], []
    problems: list[str] = []
    with factory() as session, clock.held(as_of):
        owner = session.scalars(select(Owner)).one()
        events = session.scalars(
            select(CalendarEvent).where(CalendarEvent.owner_id == owner.id)
        ).all()
        uid_of = {e.id: e.ical_uid[:13] for e in events}  # "keanmeeting01..."
        briefs = [b for d in DAYS for b in load_briefs(session, owner, settings, now=as_of, day=d)]
        briefed = {uid_of.get(b.meeting_id, "") for b in briefs}
        expected = {f"keanmeeting{i:02d}" for i in range(1, 11)}
        missing = sorted(expected - briefed)
        controls = sorted(briefed & CONTROLS)
        facts = quoted = unknown = unlinked = 0
        for b in briefs:
            for e in b.evidence():
                row = session.get(Message, e.message_id)
                snap = _message(row) if row is not None else None
                if snap is None:
                    unknown += 1
                    continue
                if not e.link:
                    unlinked += 1
                if e.sentence and not in_own_words(snap, e.sentence):
                    quoted += 1
                    problems.append(f"not in own words: meeting {b.meeting_id}: {e.sentence!r}")
            facts += len(b.facts)
            texts.append(as_text(b))
            dumps.append(b.as_dict())
        # prep holds, switched on, as the planner would place them the evening before
        cfg = effective_config(
            settings,
            preferences=owner.preferences,
            timezone=owner.timezone,
            org_domains=owner.org_domains,
        )
        snap = load_snapshot(session, owner, cfg, now=as_of)
        targets = prep_targets(snap, as_of, PrepHoldSettings(enabled=True))
        busy = busy_intervals(snap)
        overlaps = [
            t.meeting.id
            for t in targets
            if any(b0 < t.slot[1] and t.slot[0] < b1 for b0, b1 in busy)
        ]
        prep_uids = {uid_of.get(t.meeting.id, "") for t in targets}
    (out / "briefs.txt").write_text("\n\n" + ("\n\n" + "=" * 78 + "\n\n").join(texts) + "\n")
    (out / "briefs.json").write_text(json.dumps(dumps, indent=2))
    print("\n\n".join(texts))
    print("\nchecks:")
    print(f"  briefs: {len(briefs)} ({', '.join(d.isoformat() for d in DAYS)})")
    print(f"  external meetings without a brief: {len(missing)} {missing}")
    print(f"  controls briefed (must be 0): {len(controls)} {controls}")
    print(
        f"  facts shown: {facts}; evidence not in its author's own words: {quoted}; "
        f"evidence naming no stored message: {unknown}; evidence without a link: {unlinked}"
    )
    print(
        f"  prep holds (switched on, as of {AS_OF}): {len(targets)} for the meetings up to "
        f"36 h ahead; overlapping busy time: {len(overlaps)}; for controls: "
        f"{len(prep_uids & CONTROLS)}"
    )
    for p in problems:
        print(f"  {p}")
    print(f"outputs: {out / 'briefs.txt'}, {out / 'briefs.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
