"""Fates seen in the mailbox become Feedback; rates shape scores; a kind gets paused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.settings import Settings, load_settings
from rapportd.agent.outbox.operations import process_operation
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Feedback, OutboxOperation, Suggestion
from rapportd.agent.suggest import actions
from rapportd.agent.suggest.feedback import (
    detect_fates,
    kind_status,
    resume_kind,
    score_factor,
    verdicts,
)
from rapportd.agent.suggest.planner import plan_owner

from .builders import NOW, Store
from .fakes import FakeConnector
from .test_outbox import conn_of, op_row, plan_hold, plan_reply

H = timedelta(hours=1)
D = timedelta(days=1)


def outcomes(factory: sessionmaker[Session]) -> list[str]:
    with factory() as s:
        return [f.outcome for f in s.scalars(select(Feedback).order_by(Feedback.id))]


@pytest.mark.parametrize(
    ("act", "outcome", "status"),
    [
        ("send", "sent", "sent"),
        ("edit_send", "sent_edited", "sent_edited"),
        ("delete", "deleted", "dismissed"),
        ("nothing", None, "written"),
        ("edit", None, "written"),
    ],
)
def test_draft_fates(
    factory: sessionmaker[Session],
    settings: Settings,
    fake: FakeConnector,
    act: str,
    outcome: str | None,
    status: str,
) -> None:
    op_id, _ = plan_reply(factory, settings)
    process_operation(factory, op_id, conn_of(fake), now=NOW)
    row = op_row(factory, op_id)
    tag = row.tag
    {
        "send": lambda: fake.person_sends(tag),
        "edit_send": lambda: fake.person_sends(tag, "My words"),
        "delete": lambda: fake.person_deletes_draft(tag),
        "nothing": lambda: None,
        "edit": lambda: fake.person_edits(tag, "draft in progress"),
    }[act]()
    summary = detect_fates(factory, row.account_id, fake, now=NOW + H)
    assert summary.checked == 1
    assert outcomes(factory) == ([outcome] if outcome else [])
    with factory() as s:
        assert s.get(Suggestion, row.suggestion_id).status == status  # type: ignore[union-attr]
    if act == "edit":
        assert op_row(factory, op_id).payload["last_state"]["edited"] is True
    # a second pass records nothing new
    detect_fates(factory, row.account_id, fake, now=NOW + 2 * H)
    assert outcomes(factory) == ([outcome] if outcome else [])


@pytest.mark.parametrize(
    ("act", "outcome"),
    [("confirm", "confirmed"), ("move", "moved"), ("delete", "deleted"), ("lapse", "ignored")],
)
def test_hold_fates(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector, act: str, outcome: str
) -> None:
    op_id, _ = plan_hold(factory, settings)
    process_operation(factory, op_id, conn_of(fake), now=NOW)
    row = op_row(factory, op_id)
    hold = fake.live_holds()[0]
    when = NOW + H
    if act == "confirm":
        fake.person_confirms(row.tag)
    elif act == "move":
        fake.person_moves(row.tag, hold.spec.start + D, hold.spec.end + D)
    elif act == "delete":
        fake.person_deletes_hold(row.tag)
    else:
        when = hold.spec.end + H
    detect_fates(factory, row.account_id, fake, now=when)
    assert outcomes(factory) == [outcome]


def _negative_history(
    factory: sessionmaker[Session], owner_id: int, n: int, kind: str = "reply_needed"
) -> None:
    with transaction(factory) as s:
        start = len(s.scalars(select(Suggestion.id)).all())
        for i in range(start, start + n):
            sug = Suggestion(owner_id=owner_id, dedupe_key=f"old{i}", kind=kind, status="dismissed")
            s.add(sug)
            s.flush()
            s.add(
                Feedback(
                    owner_id=owner_id,
                    suggestion_id=sug.id,
                    kind=kind,
                    outcome="deleted",
                    at=NOW - D + i * H,
                )
            )


def test_kind_paused_after_n_negatives_and_resumed(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(factory) as s:
        st = Store(s)
        owner_id = st.owner_id
    _negative_history(factory, owner_id, 4)
    with factory() as s:
        status = {k.kind: k for k in kind_status(s, owner_id, settings=settings)}
    assert not status["reply_needed"].paused and status["reply_needed"].negative_streak == 4
    _negative_history(factory, owner_id, 1)  # the 5th in a row
    with factory() as s:
        status = {k.kind: k for k in kind_status(s, owner_id, settings=settings)}
    rn = status["reply_needed"]
    assert rn.paused and rn.acceptance_rate == 0.0 and "paused" in rn.reason
    assert not status["thank_you"].paused
    # a paused kind is not proposed any more
    with transaction(factory) as s:
        st2 = s.get(type(st.owner), owner_id)
        assert st2 is not None
        q = Store.__new__(Store)
        q.session, q.owner, q.account = s, st2, st2.accounts[0]
        m = q.message(NOW - 6 * D, sender="max@client.test", to=[st2.email], thread="ts")
        q.commitment(m, kind="request", direction="to_owner")
        summary = plan_owner(s, owner_id, now=NOW, settings=settings)
    assert summary.paused_kinds == ["reply_needed"] and summary.created == 0
    with transaction(factory) as s:
        resume_kind(s, owner_id, "reply_needed", now=NOW)
    with transaction(factory) as s:
        assert plan_owner(s, owner_id, now=NOW + H, settings=settings).created == 1


def test_pause_threshold_is_a_setting(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        owner_id = Store(s).owner_id
    _negative_history(factory, owner_id, 2)
    with factory() as s:
        st = {
            k.kind: k
            for k in kind_status(
                s, owner_id, settings=load_settings(suggestions={"pause_after_ignored": 2})
            )
        }
    assert st["reply_needed"].paused


def test_rates_shape_scores(factory: sessionmaker[Session], settings: Settings) -> None:
    with transaction(factory) as s:
        owner_id = Store(s).owner_id
    _negative_history(factory, owner_id, 3, kind="check_in")
    with factory() as s:
        v = verdicts(s, owner_id)
    assert score_factor(v, "check_in", None) < score_factor(v, "thank_you", None) == 1.0
    assert score_factor(v, "check_in", None) == pytest.approx(0.5 + 1 / 5)


def test_feedback_from_actions_counts(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    op_id, owner_id = plan_reply(factory, settings)
    sid = op_row(factory, op_id).suggestion_id
    with transaction(factory) as s:
        actions.snooze(s, owner_id, sid, until=NOW + D, source="cli", now=NOW)
        actions.accept(s, owner_id, sid, source="cli", now=NOW + H)
    assert outcomes(factory) == ["snoozed", "accepted"]
    with factory() as s:
        [v] = verdicts(s, owner_id)
        assert v.positive
        op = s.scalars(select(OutboxOperation)).one()
        # accepting writes it once the undo window has passed, snooze notwithstanding
        assert op.ready_at == NOW + H + actions.UNDO_WINDOW + actions.UNDO_MARGIN
