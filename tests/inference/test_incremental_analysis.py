"""Incremental analysis gives the rows a full analysis gives (issue 18): after random deltas
(new messages for random people, new addresses, meetings), a re-analysis that reads only the
threads of the people something happened to, then a full run on the same store, must leave
the same contacts, identities, commitments and scores (within float tolerance)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.analysis.analyse import analyse_owner
from rapportd.agent.analysis.dirty import mark_dirty
from rapportd.agent.analysis.state import FULL_EVERY
from rapportd.agent.core import clock
from rapportd.agent.store.db import make_engine, session_factory
from rapportd.agent.store.models import (
    Account,
    Base,
    CalendarEvent,
    Commitment,
    Contact,
    ContactIdentity,
    Message,
    Owner,
)
from tests.inference.test_analysis import fake_detect

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
ME = "me@acme.com"
PEOPLE = [
    ("ann@client.com", "Ann Lee", 7.0),
    ("bob@old.com", "Bob Stone", 20.0),
    ("carl@acme.com", "Carl Diaz", 3.0),
    ("dora@partner.org", "Dora Kim", 14.0),
    ("eve@gmail.com", "Eve Park", 30.0),
    ("fred@client.com", "Fred Moss", 10.0),
    ("gina@partner.org", "Gina Ruiz", 5.0),
    ("hal@acme.com", "Hal Wong", 45.0),
]
NEW_PEOPLE = [
    ("bob@new.com", "Bob Stone"),  # the same name and local part as bob@old.com: one person
    ("a.lee@client.com", "Ann Lee"),  # spells Ann Lee's name at her domain
    ("ivy@other.net", "Ivy Chen"),
    ("noreply@alerts.example.com", ""),
]
_pid = count(1)


def _msg(s: Session, acc: Account, at: datetime, sender: str, to: list[str], **kw: Any) -> None:
    s.add(
        Message(
            owner_id=acc.owner_id,
            account_id=acc.id,
            provider_id=f"p{next(_pid)}",
            rfc822_id=kw.pop("rfc822_id", f"<p{next(_pid)}@t>"),
            from_addr=sender,
            from_name=kw.pop("from_name", ""),
            to_addrs=[{"email": a, "name": kw.pop("to_name", "")} for a in to],
            sent_at=at,
            direction="out" if sender == ME else "in",
            word_count=40,
            **kw,
        )
    )


def _world(s: Session) -> tuple[Owner, Account]:
    owner = Owner(email=ME, org_domains=["acme.com"])
    s.add(owner)
    s.flush()
    acc = Account(owner_id=owner.id, provider="google", address=ME)
    s.add(acc)
    s.flush()
    for n, (addr, name, gap) in enumerate(PEOPLE):
        k, at = 0, NOW - timedelta(days=200 - n)
        while at < NOW - timedelta(days=2):
            k += 1
            step = timedelta(days=gap * (0.7 + 0.15 * (k % 5)))
            last = at + step >= NOW - timedelta(days=2)
            thread = f"t-{addr}-last" if last else f"t-{addr}-{k}"
            _msg(s, acc, at, addr, [ME], from_name=name, thread_id=thread, new_text="Any news?")
            if not (last and n % 2):  # half the people wait for the owner's answer
                _msg(s, acc, at + timedelta(hours=5), ME, [addr], thread_id=thread, new_text="Yes.")
            at += step
    for k in range(6):  # a newsletter
        _msg(s, acc, NOW - timedelta(days=7 * k + 1), "news@shop.com", [ME], list_unsubscribe=True)
    s.flush()
    return owner, acc


delta_step = st.one_of(
    st.tuples(
        st.just("mail"),
        st.integers(0, len(PEOPLE) - 1),  # with whom
        st.booleans(),  # from the owner
        st.floats(0.05, 1.9),  # days ago
        st.one_of(st.none(), st.integers(0, len(PEOPLE) - 1)),  # in whose old thread
        st.integers(0, len(PEOPLE) - 1),  # a second recipient (when different)
    ),
    st.tuples(st.just("new"), st.integers(0, len(NEW_PEOPLE) - 1), st.floats(0.05, 1.9)),
    st.tuples(st.just("meeting"), st.integers(0, len(PEOPLE) - 1), st.floats(0.1, 1.9)),
)


def _apply(s: Session, owner: Owner, acc: Account, steps: list[Any], mark: bool) -> None:
    touched: list[str] = []
    for step in steps:
        kind, at = step[0], NOW - timedelta(days=step[-1] if step[0] != "mail" else step[3])
        if kind == "mail":
            _, i, from_me, _, whose, j = step
            addr, name, _ = PEOPLE[i]
            thread = f"d-{next(_pid)}" if whose is None else f"t-{PEOPLE[whose][0]}-last"
            to = [addr] + ([PEOPLE[j][0]] if j != i else [])
            if from_me:
                _msg(s, acc, at, ME, to, thread_id=thread, new_text="Could you send it?")
            else:
                _msg(s, acc, at, addr, [ME], from_name=name, thread_id=thread, new_text="Thanks!")
                to = [addr]
            touched += to
        elif kind == "new":
            addr, name = NEW_PEOPLE[step[1]]
            _msg(s, acc, at, addr, [ME], from_name=name, thread_id=f"n-{next(_pid)}", new_text="Hi")
            touched.append(addr)
        else:
            addr = PEOPLE[step[1]][0]
            s.add(
                CalendarEvent(
                    owner_id=owner.id,
                    account_id=acc.id,
                    provider_id=f"e{next(_pid)}",
                    start_at=at,
                    end_at=at + timedelta(hours=1),
                    attendees=[
                        {"email": addr, "response": "accepted"},
                        {"email": ME, "response": "accepted", "self": True},
                    ],
                )
            )
            touched.append(addr)
    s.flush()
    if mark:  # as the sync's store writer does; without it, the new rows' times tell
        mark_dirty(s, owner.id, touched)


def _rows(s: Session, owner_id: int) -> dict[str, Any]:
    contacts = {
        c.id: {
            "primary": c.primary_address,
            "name": c.display_name,
            "automated": (c.is_automated, list(c.automated_reasons or [])),
            "internal": c.is_internal,
            "stage": c.stage,
            "strength": c.strength,
            "gap": c.typical_gap_days,
            "overdue": c.overdue_score,
            "next": c.next_expected_at,
            "span": (c.first_interaction_at, c.last_interaction_at, c.interaction_count),
            "dirty": c.dirty,
            "analysis": c.analysis,
        }
        for c in s.scalars(select(Contact).where(Contact.owner_id == owner_id))
    }
    identities = {
        i.address: i.contact_id
        for i in s.scalars(select(ContactIdentity).where(ContactIdentity.owner_id == owner_id))
    }
    commitments = {
        (c.dedupe_key, c.contact_id, c.kind, c.direction, c.state, c.due_at)
        for c in s.scalars(select(Commitment).where(Commitment.owner_id == owner_id))
    }
    duplicates = set(
        s.execute(
            select(Message.id, Message.duplicate_of).where(
                Message.owner_id == owner_id, Message.duplicate_of.is_not(None)
            )
        ).all()
    )
    return {
        "contacts": contacts,
        "identities": identities,
        "commitments": commitments,
        "duplicates": duplicates,
    }


def _close(a: Any, b: Any, path: str = "") -> list[str]:
    """Where ``a`` and ``b`` differ; floats within 0.02 absolute or 2 % (the pooled prior
    an unchanged person was scored with may differ by its tolerance)."""
    if isinstance(a, float) and isinstance(b, float):
        return [] if math.isclose(a, b, rel_tol=0.02, abs_tol=0.02) else [f"{path}: {a} != {b}"]
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(set(a) ^ set(b))}"]
        return [x for k in a for x in _close(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{path}: {a} != {b}"]
        return [
            x
            for i, (p, q) in enumerate(zip(a, b, strict=True))
            for x in _close(p, q, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def _store(tmp: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp / f'store{next(_pid)}.sqlite3'}")
    Base.metadata.create_all(engine)
    return session_factory(engine)


@settings(
    max_examples=25,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rounds=st.lists(st.lists(delta_step, min_size=1, max_size=4), min_size=1, max_size=3),
    mark=st.booleans(),
)
def test_incremental_analysis_gives_the_rows_of_a_full_one(
    tmp_path: Path, rounds: list[list[Any]], mark: bool
) -> None:
    sessions = _store(tmp_path)
    with sessions.begin() as s:
        owner, acc = _world(s)
        analyse_owner(s, owner.id, now=NOW, detector=fake_detect)
    now = NOW  # one moment: how scores age without a full run is tested apart
    for steps in rounds:
        with sessions.begin() as s:
            owner, acc = s.get(Owner, owner.id), s.get(Account, acc.id)
            assert owner is not None and acc is not None
            _apply(s, owner, acc, steps, mark)
        with sessions.begin() as s:
            summary = analyse_owner(s, owner.id, now=now, detector=fake_detect)
            event(f"incremental: {summary.incremental}")
    with sessions.begin() as s:
        incremental = _rows(s, owner.id)
    with sessions.begin() as s:
        analyse_owner(s, owner.id, now=now, detector=fake_detect, full=True)
    with sessions.begin() as s:
        full = _rows(s, owner.id)
    assert incremental["identities"] == full["identities"]
    assert incremental["commitments"] == full["commitments"]
    assert incremental["duplicates"] == full["duplicates"]
    assert set(incremental["contacts"]) == set(full["contacts"])
    assert _close(incremental["contacts"], full["contacts"]) == []


def test_a_small_delta_is_analysed_incrementally(tmp_path: Path) -> None:
    """The property above is not vacuous: a new message from one person of a large enough
    world takes the incremental path and re-analyses that person only; a day later (on the
    process clock) the next run is a full one."""
    sessions = _store(tmp_path)
    with clock.held(datetime(2024, 6, 2, tzinfo=UTC)) as held:
        with sessions.begin() as s:
            owner, acc = _world(s)
            first = analyse_owner(s, owner.id, now=NOW, detector=None)
        with sessions.begin() as s:
            acc = s.get(Account, acc.id)
            assert acc is not None
            _msg(s, acc, NOW + timedelta(hours=1), "gina@partner.org", [ME], thread_id="x1")
            s.flush()
            mark_dirty(s, owner.id, ["gina@partner.org"])
        with sessions.begin() as s:
            again = analyse_owner(s, owner.id, now=NOW + timedelta(hours=2), detector=None)
        assert not first.incremental and again.incremental
        assert again.contacts_analysed == 1
        held.advance(FULL_EVERY)
        with sessions.begin() as s:
            acc = s.get(Account, acc.id)
            assert acc is not None
            _msg(s, acc, NOW + timedelta(hours=3), "gina@partner.org", [ME], thread_id="x2")
            s.flush()
            daily = analyse_owner(s, owner.id, now=NOW + timedelta(hours=4), detector=None)
        assert not daily.incremental and daily.contacts_analysed == 8


def test_overdue_scores_age_without_a_full_run(tmp_path: Path) -> None:
    """Ten days later, one person writes: everyone's overdue score is what a full run at
    that moment gives, though only that person was re-analysed."""
    later = NOW + timedelta(days=10)
    sessions = _store(tmp_path)
    with sessions.begin() as s:
        owner, acc = _world(s)
        analyse_owner(s, owner.id, now=NOW, detector=None)
        at_now = {c.primary_address: c.overdue_score for c in s.scalars(select(Contact))}
    with sessions.begin() as s:
        acc = s.get(Account, acc.id)
        assert acc is not None
        _msg(s, acc, later - timedelta(hours=1), "gina@partner.org", [ME], thread_id="x1")
        s.flush()
        mark_dirty(s, owner.id, ["gina@partner.org"])
    with sessions.begin() as s:
        summary = analyse_owner(s, owner.id, now=later, detector=None)
        assert summary.incremental and summary.contacts_analysed == 1
        aged = {c.primary_address: c.overdue_score for c in s.scalars(select(Contact))}
        before = {c.primary_address: c.analysed_at for c in s.scalars(select(Contact))}
    with sessions.begin() as s:
        analyse_owner(s, owner.id, now=later, detector=None, full=True)
        full = {c.primary_address: c.overdue_score for c in s.scalars(select(Contact))}
    assert sum(1 for a in before.values() if a == NOW) == len(before) - 1  # not re-analysed
    assert set(aged) == set(full)
    assert sum(1 for a, x in full.items() if x is not None and x != at_now[a]) >= 6  # aged
    for address, score in full.items():
        if score is None:
            assert aged[address] is None
        else:
            assert aged[address] is not None
            assert math.isclose(aged[address], score, rel_tol=0.02, abs_tol=0.02), address


def test_the_detector_reads_each_text_once(tmp_path: Path) -> None:
    """A re-analysis does not run the detector again on a text it has seen."""
    seen: list[str] = []

    def counting(text: str, **kw: Any) -> list[Any]:
        seen.append(text)
        return fake_detect(text, **kw)

    sessions = _store(tmp_path)
    with sessions.begin() as s:
        owner, _ = _world(s)
        analyse_owner(s, owner.id, now=NOW, detector=counting)
    first = len(seen)
    with sessions.begin() as s:
        analyse_owner(s, owner.id, now=NOW, detector=counting, full=True)
        rows = s.scalars(select(Commitment).where(Commitment.owner_id == owner.id)).all()
    assert first > 0 and len(seen) == first  # the full run re-judged, but detected nothing anew
    assert rows and all(r.contact_id is not None for r in rows)
