"""plan_owner: suggestions deduplicated, ops enqueued under caps / quiet hours / kinds,
moot suggestions retired, and a second run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapportd.agent.core.settings import Settings, load_settings
from rapportd.agent.store.models import Feedback, OutboxOperation, Suggestion
from rapportd.agent.suggest import actions
from rapportd.agent.suggest.planner import plan_owner

from .builders import NOW, Store

H = timedelta(hours=1)
D = timedelta(days=1)


def rows(session: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    sugg = [
        (s.dedupe_key, s.status, s.evidence, s.subject, s.body, s.hold_start)
        for s in session.scalars(select(Suggestion).order_by(Suggestion.id))
    ]
    ops = [
        (o.suggestion_id, o.op, o.tag, o.state, o.ready_at, o.payload)
        for o in session.scalars(select(OutboxOperation).order_by(OutboxOperation.id))
    ]
    return sugg, ops


def scenario(store: Store) -> None:
    store.contact("jane@client.test", "Jane Doe", stage="trust")
    store.event(NOW - 5 * H, attendees=["jane@client.test"], summary="Quote review")
    m = store.message(
        NOW - 2 * D,
        sender=store.owner.email,
        to=["jane@client.test"],
        subject="Quote",
        thread="tq",
        text="Hello Jane,\n\nI'll send you the revised quote by Friday.\n\nCheers,\nOlivia\nAcme",
    )
    store.commitment(m, due=NOW + 2 * D)
    q = store.message(
        NOW - 6 * D,
        sender="max@client.test",
        to=[store.owner.email],
        subject="Slides?",
        thread="ts",
    )
    store.commitment(q, kind="request", direction="to_owner", text="Could you share the slides?")
    store.contact(
        "ann@old.test", "Ann", stage="trust", strength=0.9, overdue=2.0, last=NOW - 60 * D
    )
    store.session.commit()


def test_plan_creates_suggestions_and_ops_and_is_idempotent(
    store: Store, settings: Settings
) -> None:
    scenario(store)
    summary = plan_owner(store.session, store.owner_id, now=NOW, settings=settings)
    store.session.commit()
    kinds = {s.kind for s in store.session.scalars(select(Suggestion))}
    # Ann is drifting: the reconnect hold absorbs the check-in (one suggestion per person)
    assert kinds == {"thank_you", "promise_hold", "reply_needed", "reconnect_hold"}
    assert summary.created == 4 and summary.enqueued == 4
    before = rows(store.session)
    assert all(
        state == "pending"
        for *_, state, _r, _p in [(o[0], o[1], o[2], o[3], o[4], o[5]) for o in before[1]]
    )
    again = plan_owner(store.session, store.owner_id, now=NOW, settings=settings)
    store.session.commit()
    assert again.created == 0 and again.enqueued == 0 and again.revived == 0
    assert rows(store.session) == before
    # an hour later nothing new either
    plan_owner(store.session, store.owner_id, now=NOW + H, settings=settings)
    assert rows(store.session)[1] == before[1]


def test_draft_uses_owner_style_and_reply_threading(store: Store, settings: Settings) -> None:
    scenario(store)
    plan_owner(store.session, store.owner_id, now=NOW, settings=settings)
    reply = store.session.scalars(select(Suggestion).where(Suggestion.kind == "reply_needed")).one()
    assert reply.subject == "Re: Slides?"
    assert reply.body.startswith("Hello Max,")
    assert "Cheers,\nOlivia\nAcme" in reply.body
    op = store.session.scalars(
        select(OutboxOperation).where(OutboxOperation.suggestion_id == reply.id)
    ).one()
    assert op.op == "create_draft" and op.payload["thread_id"] == "ts" and op.payload["in_reply_to"]
    hold = store.session.scalars(select(Suggestion).where(Suggestion.kind == "promise_hold")).one()
    hop = store.session.scalars(
        select(OutboxOperation).where(OutboxOperation.suggestion_id == hold.id)
    ).one()
    assert hop.op == "create_hold" and hop.payload["start"] == hold.hold_start.isoformat()  # type: ignore[union-attr]


def test_dismissed_returns_only_on_new_evidence(store: Store, settings: Settings) -> None:
    q = store.message(
        NOW - 6 * D,
        sender="max@client.test",
        to=[store.owner.email],
        subject="Slides?",
        thread="ts",
    )
    store.commitment(q, kind="request", direction="to_owner", text="Could you share the slides?")
    plan_owner(store.session, store.owner_id, now=NOW, settings=settings)
    s = store.session.scalars(select(Suggestion)).one()
    actions.dismiss(store.session, store.owner_id, s.id, now=NOW)
    plan_owner(store.session, store.owner_id, now=NOW + H, settings=settings)
    assert s.status == "dismissed"
    # Max writes again in the thread: new evidence, the suggestion comes back
    store.message(
        NOW + 2 * H,
        sender="max@client.test",
        to=[store.owner.email],
        subject="Re: Slides?",
        thread="ts",
    )
    summary = plan_owner(store.session, store.owner_id, now=NOW + 3 * H, settings=settings)
    assert summary.revived == 1 and s.status == "pending"
    tags = {
        o.tag
        for o in store.session.scalars(
            select(OutboxOperation).where(OutboxOperation.op == "create_draft")
        )
    }
    assert len(tags) == 2  # the revived one is written under a new tag


def test_daily_cap_defers_the_rest(store: Store) -> None:
    settings = load_settings(suggestions={"drafts_per_account_per_day": 2})
    for i in range(4):
        q = store.message(
            NOW - 6 * D, sender=f"p{i}@client.test", to=[store.owner.email], thread=f"t{i}"
        )
        store.commitment(q, kind="request", direction="to_owner")
    summary = plan_owner(store.session, store.owner_id, now=NOW, settings=settings)
    assert summary.enqueued == 2 and summary.deferred == 2
    statuses = sorted(s.status for s in store.session.scalars(select(Suggestion)))
    assert statuses == ["pending", "pending", "proposed", "proposed"]
    assert plan_owner(store.session, store.owner_id, now=NOW + H, settings=settings).enqueued == 0
    assert plan_owner(store.session, store.owner_id, now=NOW + D, settings=settings).enqueued == 2


def test_a_retry_pushed_past_midnight_frees_no_slot_under_the_cap(store: Store) -> None:
    """A write that fails and backs off into tomorrow still counts for the day it was planned
    for: today's cap is not re-opened (found by the fault storm, at 22:29 UTC)."""
    settings = load_settings(suggestions={"drafts_per_account_per_day": 2})
    for i in range(3):
        q = store.message(
            NOW - 6 * D, sender=f"p{i}@client.test", to=[store.owner.email], thread=f"t{i}"
        )
        store.commitment(q, kind="request", direction="to_owner")
    assert plan_owner(store.session, store.owner_id, now=NOW, settings=settings).deferred == 1
    op = store.session.scalars(select(OutboxOperation)).first()
    assert op is not None and op.scheduled_at == op.ready_at
    op.state, op.ready_at = "failed", NOW + D  # what the outbox's back-off does
    store.session.flush()
    again = plan_owner(store.session, store.owner_id, now=NOW + H, settings=settings)
    assert again.enqueued == 0 and again.deferred == 1


def test_quiet_hours_delay_writes(store: Store, settings: Settings) -> None:
    late = datetime(2024, 6, 12, 22, 30, tzinfo=UTC)
    q = store.message(late - 6 * D, sender="max@client.test", to=[store.owner.email], thread="ts")
    store.commitment(q, kind="request", direction="to_owner")
    plan_owner(store.session, store.owner_id, now=late, settings=settings)
    op = store.session.scalars(select(OutboxOperation)).one()
    assert op.ready_at == datetime(2024, 6, 13, 7, 0, tzinfo=UTC)


def test_kinds_switched_off_globally_and_per_owner(store: Store) -> None:
    scenario(store)
    settings = load_settings(suggestions={"kinds": ["thank_you", "reply_needed"]})
    store.owner.preferences = {"suggestions": {"kinds": ["reply_needed"]}}
    plan_owner(store.session, store.owner_id, now=NOW, settings=settings)
    assert {s.kind for s in store.session.scalars(select(Suggestion))} == {"reply_needed"}


def test_moot_unwritten_is_cancelled_and_written_is_removed(
    store: Store, settings: Settings
) -> None:
    q = store.message(NOW - 6 * D, sender="max@client.test", to=[store.owner.email], thread="ts")
    c = store.commitment(q, kind="request", direction="to_owner")
    ev = store.event(NOW - 5 * H, attendees=["jane@client.test"])
    plan_owner(store.session, store.owner_id, now=NOW, settings=settings)
    thank = store.session.scalars(select(Suggestion).where(Suggestion.kind == "thank_you")).one()
    top = store.session.scalars(
        select(OutboxOperation).where(OutboxOperation.suggestion_id == thank.id)
    ).one()
    top.state, top.provider_item_id, top.written_hash = "written", "d1", "h"
    thank.status = "written"
    # the owner answered by hand, and the meeting turns out cancelled
    store.message(NOW + H, sender=store.owner.email, to=["max@client.test"], thread="ts")
    c.state = "answered"
    ev.status = "cancelled"
    summary = plan_owner(store.session, store.owner_id, now=NOW + 2 * H, settings=settings)
    assert summary.moot == 2
    reply = store.session.scalars(select(Suggestion).where(Suggestion.kind == "reply_needed")).one()
    assert reply.status == "moot" and "answered" in reply.reasons["moot"]
    rop = store.session.scalars(
        select(OutboxOperation).where(OutboxOperation.suggestion_id == reply.id)
    ).one()
    assert rop.state == "expired"  # never written: simply cancelled
    ops = {
        o.op: o.state
        for o in store.session.scalars(
            select(OutboxOperation).where(OutboxOperation.suggestion_id == thank.id)
        )
    }
    assert ops == {"create_draft": "written", "delete_draft": "pending"}


def test_written_draft_expires_as_ignored(store: Store, settings: Settings) -> None:
    q = store.message(NOW - 6 * D, sender="max@client.test", to=[store.owner.email], thread="ts")
    store.commitment(q, kind="request", direction="to_owner")
    plan_owner(store.session, store.owner_id, now=NOW, settings=settings)
    s = store.session.scalars(select(Suggestion)).one()
    op = store.session.scalars(select(OutboxOperation)).one()
    op.state, op.provider_item_id = "written", "d9"
    s.status = "written"
    plan_owner(store.session, store.owner_id, now=NOW + 15 * D, settings=settings)
    assert s.status == "expired"
    assert [f.outcome for f in store.session.scalars(select(Feedback))] == ["ignored"]


def test_a_recent_window_plans_its_kinds_only_and_says_so(store: Store, settings: Settings) -> None:
    """Recent first (issue 18): with only the last 14 days synced, the reconnect hold (which
    needs Ann's history) waits; the rest is planned and says what it is based on. Once the
    whole history is in, the reconnect hold comes and the window's suggestions stay as made."""
    from rapportd.agent.store.review import basis_text
    from rapportd.agent.store.sync_status import WINDOW_KINDS

    scenario(store)
    plan_owner(store.session, store.owner_id, now=NOW, settings=settings, window_days=14)
    store.session.commit()
    first = list(store.session.scalars(select(Suggestion)))
    assert {s.kind for s in first} == {"thank_you", "promise_hold", "reply_needed"}
    assert {s.kind for s in first} <= set(WINDOW_KINDS)
    for s in first:
        assert s.reasons["window_days"] == 14
        assert basis_text(s.reasons) == "Based on the last 14 days: older mail was still syncing."
    plan_owner(store.session, store.owner_id, now=NOW + H, settings=settings)
    store.session.commit()
    later = {s.kind: s for s in store.session.scalars(select(Suggestion))}
    assert set(later) == {"thank_you", "promise_hold", "reply_needed", "reconnect_hold"}
    assert "window_days" not in later["reconnect_hold"].reasons
    assert basis_text(later["reconnect_hold"].reasons) == ""
    assert all(later[s.kind].reasons["window_days"] == 14 for s in first)


def test_a_recent_window_plans_nothing_that_rests_on_mail_older_than_it(
    store: Store, settings: Settings
) -> None:
    """The answer to a six-day-old question may be in sent mail that is still syncing when
    only four days are in: no reply owed for it yet (it would be written, then withdrawn as
    answered); the meeting of this morning and this week's promise are inside the window.
    Once the whole history is in, the reply owed comes."""
    scenario(store)
    plan_owner(store.session, store.owner_id, now=NOW, settings=settings, window_days=4)
    store.session.commit()
    assert {s.kind for s in store.session.scalars(select(Suggestion))} == {
        "thank_you",
        "promise_hold",
    }
    plan_owner(store.session, store.owner_id, now=NOW + H, settings=settings)
    store.session.commit()
    assert "reply_needed" in {s.kind for s in store.session.scalars(select(Suggestion))}
