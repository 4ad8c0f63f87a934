"""A reply owed turned into a promise (issue 15): the acknowledgement draft says "I'll come
back to you by Friday"; on the owner's word that date becomes a promise of theirs, which the
next plan protects with a hold, and which is kept only by an answer written after it, not by
the acknowledgement itself."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.analysis.store import settle_acknowledged
from rapportd.agent.core.errors import Conflict
from rapportd.agent.core.settings import Settings
from rapportd.agent.outbox.queue import tag_of
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, Commitment, Message, Owner, Suggestion
from rapportd.agent.suggest import actions
from rapportd.agent.suggest.planner import plan_owner

from .builders import NOW
from .test_outbox import plan_hold, plan_reply

H = timedelta(hours=1)
D = timedelta(days=1)


def reply_owed(factory: sessionmaker[Session], settings: Settings) -> tuple[int, int]:
    _op, owner_id = plan_reply(factory, settings)
    with factory() as s:
        sid = s.scalars(select(Suggestion.id).where(Suggestion.kind == "reply_needed")).one()
    return owner_id, sid


def test_the_acknowledgement_names_the_date_it_stores(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    _owner, sid = reply_owed(factory, settings)
    with factory() as s:
        row = s.get(Suggestion, sid)
        assert row is not None
        reply_by = datetime.fromisoformat(row.reasons["reply_by_at"])
    # NOW is a Wednesday 10:00 UTC: two working days on is Friday, at the end of the day
    assert (reply_by.weekday(), reply_by.date()) == (4, (NOW + 2 * D).date())
    assert reply_by.hour >= 17
    assert "Friday" in row.body


def test_promising_the_answer_places_a_hold_before_the_date(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    owner_id, sid = reply_owed(factory, settings)
    with transaction(factory) as s:
        made = actions.promise_to_answer(s, owner_id, sid, now=NOW + H)
        again = actions.promise_to_answer(s, owner_id, sid, now=NOW + 2 * H)
        assert again.id == made.id  # asked twice: one promise
        ask = s.scalars(select(Commitment).where(Commitment.kind == "request")).one()
        assert (made.kind, made.direction, made.state) == ("commitment", "by_owner", "open")
        assert made.to_addr == "max@client.test" and made.thread_id == ask.thread_id
        assert made.text == "I'll come back to you about the slides by Friday."
        row = s.get(Suggestion, sid)
        assert row is not None and row.reasons["promise_id"] == made.id
        assert made.due_at == datetime.fromisoformat(row.reasons["reply_by_at"])
        owner = s.get(Owner, owner_id)
        assert owner is not None and owner.analysis_due_at == NOW + H
        due = made.due_at
    with transaction(factory) as s:
        plan_owner(s, owner_id, now=NOW + 2 * H, settings=settings)
        hold = s.scalars(select(Suggestion).where(Suggestion.kind == "promise_hold")).one()
        assert hold.commitment_id == made.id
        assert hold.hold_start is not None and hold.hold_end is not None
        assert NOW + 2 * H < hold.hold_start < hold.hold_end <= due


def test_only_an_answer_after_the_acknowledgement_keeps_the_promise(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    owner_id, sid = reply_owed(factory, settings)
    with transaction(factory) as s:
        made_id = actions.promise_to_answer(s, owner_id, sid, now=NOW + H).id
        ack_tag = tag_of(s.get(Suggestion, sid))  # type: ignore[arg-type]
    with transaction(factory) as s:
        account = s.scalars(select(Account).where(Account.owner_id == owner_id)).one()

        def sent(at: datetime, tag: str, pid: str) -> None:
            s.add(
                Message(
                    owner_id=owner_id,
                    account_id=account.id,
                    provider_id=pid,
                    thread_id="ts",
                    from_addr=account.address,
                    to_addrs=["max@client.test"],
                    sent_at=at,
                    direction="out",
                    rapportd_tag=tag,
                )
            )
            s.flush()

        sent(NOW + 2 * H, ack_tag, "ack")  # the acknowledgement, sent from its draft
        assert settle_acknowledged(s, owner_id, now=NOW + 3 * H) == 0
        assert s.get(Commitment, made_id).state == "open"  # type: ignore[union-attr]
        sent(NOW + D, "", "answer")  # the answer, written by hand
        assert settle_acknowledged(s, owner_id, now=NOW + D + H) == 1
        kept = s.get(Commitment, made_id)
        assert kept is not None and kept.state == "kept" and kept.resolved_by_message_id


def test_an_unkept_promise_turns_late_after_its_date(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    owner_id, sid = reply_owed(factory, settings)
    with transaction(factory) as s:
        made = actions.promise_to_answer(s, owner_id, sid, now=NOW + H)
        assert made.due_at is not None
        assert settle_acknowledged(s, owner_id, now=made.due_at - H) == 0
        assert settle_acknowledged(s, owner_id, now=made.due_at + H) == 1
        assert made.state == "late"


def test_only_a_live_reply_owed_can_become_a_promise(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    _op, owner_id = plan_hold(factory, settings)
    with factory() as s:
        hold = s.scalars(select(Suggestion.id).where(Suggestion.kind == "promise_hold")).one()
    with transaction(factory) as s, pytest.raises(Conflict, match="not a reply owed"):
        actions.promise_to_answer(s, owner_id, hold, now=NOW)


def test_a_date_already_passed_is_not_promised(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    owner_id, sid = reply_owed(factory, settings)
    with transaction(factory) as s, pytest.raises(Conflict, match="has passed"):
        actions.promise_to_answer(s, owner_id, sid, now=NOW + 5 * D)
    with transaction(factory) as s:
        actions.dismiss(s, owner_id, sid, now=NOW + H)
    with transaction(factory) as s, pytest.raises(Conflict, match="already dismissed"):
        actions.promise_to_answer(s, owner_id, sid, now=NOW + 2 * H)
