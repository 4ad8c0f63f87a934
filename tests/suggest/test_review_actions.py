"""The review actions' promises, against the fake connector: every action can be undone for
its window and nothing reaches the mailbox before that; a snooze takes an untouched draft
out of the mailbox and writes it again when it wakes (a touched one stays); "never for this
person" mutes the person for that kind; an edit that would lose the draft is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.errors import Conflict
from rapportd.agent.core.settings import Settings
from rapportd.agent.outbox.operations import process_operation
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Feedback, Mute, OutboxOperation, Suggestion
from rapportd.agent.suggest import actions
from rapportd.agent.suggest.planner import plan_owner

from .builders import NOW
from .fakes import FakeConnector
from .test_outbox import _process_all, _written_reply, conn_of, op_row, plan_hold, ready

H = timedelta(hours=1)
D = timedelta(days=1)
WINDOW = actions.UNDO_WINDOW
AFTER = actions.UNDO_WINDOW + actions.UNDO_MARGIN


def suggestion(factory: sessionmaker[Session], sid: int) -> Suggestion:
    with factory() as s:
        row = s.get(Suggestion, sid)
        assert row is not None
        return row


def ops(factory: sessionmaker[Session], sid: int) -> dict[str, str]:
    with factory() as s:
        rows = s.execute(
            select(OutboxOperation.op, OutboxOperation.state).where(
                OutboxOperation.suggestion_id == sid
            )
        )
        return {op: state for op, state in rows}


def feedback(factory: sessionmaker[Session], sid: int) -> list[str]:
    with factory() as s:
        return list(s.scalars(select(Feedback.outcome).where(Feedback.suggestion_id == sid)))


# --- undo -------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["dismiss", "snooze", "edit"])
def test_undo_within_the_window_puts_everything_back(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector, verb: str
) -> None:
    _op_id, owner_id, sid = _written_reply(factory, settings, fake)
    before = suggestion(factory, sid)
    before_ops = ops(factory, sid)
    with transaction(factory) as s:
        if verb == "dismiss":
            actions.dismiss(s, owner_id, sid, reason="never_for_person", now=NOW + H)
        elif verb == "snooze":
            actions.snooze(s, owner_id, sid, until=NOW + 3 * D, now=NOW + H)
        else:
            actions.edit(s, owner_id, sid, body="Other words", to="zoe@x.org", now=NOW + H)
    assert ops(factory, sid) != before_ops  # a write waits in the outbox...
    assert ready(factory, NOW + H + WINDOW) == []  # ...and no worker may take it yet
    with transaction(factory) as s:
        undone = actions.undo(s, owner_id, now=NOW + H + WINDOW)
    assert [u.id for u in undone] == [sid]
    after = suggestion(factory, sid)
    for field in ("status", "body", "subject", "to_addrs", "snoozed_until"):
        assert getattr(after, field) == getattr(before, field), field
    assert ops(factory, sid) == before_ops
    assert feedback(factory, sid) == []
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Mute)) == 0
    assert _process_all(factory, fake, NOW + 2 * H) == []  # nothing reaches the mailbox
    [draft] = fake.live_drafts()
    assert "Other words" not in draft.spec.body
    with transaction(factory) as s, pytest.raises(Conflict, match="nothing to undo"):
        actions.undo(s, owner_id, now=NOW + H + WINDOW)


def test_undo_is_refused_after_the_window_and_once_written(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    _op_id, owner_id, sid = _written_reply(factory, settings, fake)
    with transaction(factory) as s:
        actions.dismiss(s, owner_id, sid, now=NOW + H)
    with transaction(factory) as s, pytest.raises(Conflict, match="nothing to undo"):
        actions.undo(s, owner_id, now=NOW + H + WINDOW + timedelta(seconds=1))
    assert _process_all(factory, fake, NOW + H + AFTER) == ["written"]
    assert fake.live_drafts() == []


def test_undo_is_refused_once_a_write_reached_the_mailbox(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    """A write that reached the mailbox inside the window (a worker on a clock ahead):
    undo refuses rather than leave the store and the mailbox disagreeing."""
    _op2, owner2, sid2 = _written_reply(factory, settings, fake)
    with transaction(factory) as s:
        batch = actions.new_batch()
        actions.snooze(s, owner2, sid2, until=NOW + D, now=NOW + 2 * H, batch=batch)
    with factory() as s:
        delete_id = s.scalar(
            select(OutboxOperation.id).where(
                OutboxOperation.suggestion_id == sid2, OutboxOperation.op == "delete_draft"
            )
        )
    assert delete_id is not None
    process_operation(factory, delete_id, conn_of(fake), now=NOW + 2 * H + AFTER)
    with transaction(factory) as s, pytest.raises(Conflict, match="too late"):
        actions.undo(s, owner2, batch=batch, now=NOW + 2 * H + WINDOW)


def test_a_bulk_action_is_undone_as_one(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    hold_op, owner_id = plan_hold(factory, settings)
    process_operation(factory, hold_op, conn_of(fake), now=NOW)
    hold = op_row(factory, hold_op).suggestion_id
    with transaction(factory) as s:
        batch = actions.new_batch()
        actions.accept(s, owner_id, hold, now=NOW + H, batch=batch)
    with transaction(factory) as s:
        actions.undo(s, owner_id, now=NOW + H + timedelta(seconds=2))
    assert suggestion(factory, hold).status == "written"
    assert "confirm_hold" not in ops(factory, hold)
    assert feedback(factory, hold) == []
    assert _process_all(factory, fake, NOW + 2 * H) == []
    assert fake.live_holds()[0].status == "tentative"


# --- snooze removes an untouched draft and writes it again when it wakes -----------------


def test_snooze_removes_untouched_draft_and_rewrites_it_on_waking(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    op_id, owner_id, sid = _written_reply(factory, settings, fake)
    with transaction(factory) as s:
        actions.snooze(s, owner_id, sid, until=NOW + 2 * D, now=NOW + H)
    assert _process_all(factory, fake, NOW + H + AFTER) == ["written"]
    assert fake.live_drafts() == []  # out of the mailbox while snoozed
    assert op_row(factory, op_id).state == "snoozed"
    assert suggestion(factory, sid).status == "snoozed"
    with transaction(factory) as s:  # still asleep: nothing written
        plan_owner(s, owner_id, now=NOW + D, settings=settings)
    assert _process_all(factory, fake, NOW + D) == []
    with transaction(factory) as s:  # it wakes
        summary = plan_owner(s, owner_id, now=NOW + 2 * D + H, settings=settings)
    assert summary.unsnoozed == 1
    assert _process_all(factory, fake, NOW + 2 * D + 2 * H) == ["written"]
    [draft] = fake.live_drafts()
    assert draft.spec.tag == op_row(factory, op_id).tag
    assert suggestion(factory, sid).status == "written"
    assert op_row(factory, op_id).state == "written"


def test_snooze_leaves_a_touched_draft_in_the_mailbox(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    op_id, owner_id, sid = _written_reply(factory, settings, fake)
    fake.person_edits(op_row(factory, op_id).tag, "Hi Max, my own words")
    with transaction(factory) as s:
        actions.snooze(s, owner_id, sid, until=NOW + 2 * D, now=NOW + H)
    _process_all(factory, fake, NOW + H + AFTER)
    [draft] = fake.live_drafts()
    assert draft.spec.body == "Hi Max, my own words"
    with transaction(factory) as s:
        plan_owner(s, owner_id, now=NOW + 2 * D + H, settings=settings)
    assert suggestion(factory, sid).status == "written"  # awake, still the person's draft
    assert len(fake.live_drafts()) == 1


# --- dismiss reasons and "never for this person" ---------------------------------------


def test_never_for_this_person_mutes_that_person_for_that_kind(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    _op_id, owner_id, sid = _written_reply(factory, settings, fake)
    with transaction(factory) as s:
        actions.dismiss(s, owner_id, sid, reason="never_for_person", now=NOW + H)
        [mute] = actions.mutes(s, owner_id)
        assert (mute.kind, mute.address) == ("reply_needed", "max@client.test")
        reason = s.scalar(select(Feedback.details).where(Feedback.suggestion_id == sid))
        assert reason == {"reason": "never_for_person"}
        # new evidence would revive a dismissed suggestion; the mute keeps it away
        row = s.get(Suggestion, sid)
        assert row is not None
        row.evidence = "older evidence"
        summary = plan_owner(s, owner_id, now=NOW + 2 * H, settings=settings)
    assert summary.revived == 0 and summary.created == 0
    assert suggestion(factory, sid).status == "dismissed"
    with transaction(factory) as s:
        actions.unmute(s, owner_id, mute.id)
        summary = plan_owner(s, owner_id, now=NOW + 3 * H, settings=settings)
    assert summary.revived == 1  # unmuted: the same evidence brings it back


def test_dismiss_refuses_an_unknown_reason(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    _op, owner_id, sid = _written_reply(factory, settings, fake)
    with transaction(factory) as s, pytest.raises(ValueError, match="reason is one of"):
        actions.dismiss(s, owner_id, sid, reason="bored", now=NOW + H)


# --- edits never lose anything ------------------------------------------------------------


@given(st.text(alphabet=" \t\n\r\u00a0\u2003", max_size=40))
def test_a_blank_text_is_refused(blank: str) -> None:
    with pytest.raises(actions.EditRefused) as refused:
        actions.check_edit(blank, "Subject", None)
    assert refused.value.field == "body"


def test_edit_refusals_name_the_field(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    _op, owner_id, sid = _written_reply(factory, settings, fake)
    before = suggestion(factory, sid)
    cases = [
        ({"body": "   \n\t "}, "body"),
        ({"body": "x" * (actions.MAX_BODY + 1)}, "body"),
        ({"body": "ok", "subject": "s" * (actions.MAX_SUBJECT + 1)}, "subject"),
        ({"body": "ok", "to": "   "}, "to"),
        ({"body": "ok", "to": "max@client.test, not an address"}, "to"),
    ]
    for change, field in cases:
        with transaction(factory) as s, pytest.raises(actions.EditRefused) as refused:
            actions.edit(s, owner_id, sid, now=NOW + H, **change)  # type: ignore[arg-type]
        assert refused.value.field == field, change
    after = suggestion(factory, sid)
    assert (after.body, after.subject, after.to_addrs) == (
        before.body,
        before.subject,
        before.to_addrs,
    )
    assert "update_draft" not in ops(factory, sid)


def test_edit_of_recipients_and_subject_reaches_the_mailbox(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    _op, owner_id, sid = _written_reply(factory, settings, fake)
    with transaction(factory) as s:
        actions.edit(
            s,
            owner_id,
            sid,
            body="Hello Max and Zoe,\n\nHere they are.",
            subject="Re: Slides (final)",
            to='Max <max@client.test>, "Lee, Zoe" <Zoe@Partner.org>',
            now=NOW + H,
        )
    assert _process_all(factory, fake, NOW + H + AFTER) == ["written"]
    [draft] = fake.live_drafts()
    assert [a.email for a in draft.spec.to] == ["max@client.test", "zoe@partner.org"]
    assert draft.spec.subject == "Re: Slides (final)"
    assert draft.spec.body.startswith("Hello Max and Zoe,")
