"""The outbox with the fake connector: exactly one item per suggestion across retries,
crashes at every step and racing workers; removal only of untouched items."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.errors import BadData, Conflict, PermanentError, RetryLater
from rapportd.agent.core.records import draft_hash
from rapportd.agent.core.settings import Settings
from rapportd.agent.outbox.operations import (
    LEASE,
    MAX_ATTEMPTS,
    process_operation,
    ready_operations,
)
from rapportd.agent.outbox.queue import draft_spec
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, OutboxOperation, Suggestion
from rapportd.agent.suggest import actions
from rapportd.agent.suggest.planner import plan_owner

from .builders import NOW, Store
from .fakes import Crash, FakeConnector

H = timedelta(hours=1)
D = timedelta(days=1)
UNDONE = actions.UNDO_WINDOW + actions.UNDO_MARGIN  # an action's writes wait out its undo
LATER = NOW + LEASE + timedelta(seconds=1)


def plan_reply(factory: sessionmaker[Session], settings: Settings) -> tuple[int, int]:
    """One owner, one unanswered request -> one suggestion with one pending create_draft."""
    with transaction(factory) as session:
        st = Store(session)
        q = st.message(
            NOW - 6 * D,
            sender="max@client.test",
            to=[st.owner.email],
            subject="Slides?",
            thread="ts",
        )
        st.commitment(q, kind="request", direction="to_owner", text="Could you share the slides?")
        plan_owner(session, st.owner_id, now=NOW, settings=settings)
        op = session.scalars(select(OutboxOperation)).one()
        return op.id, st.owner_id


def plan_hold(factory: sessionmaker[Session], settings: Settings) -> tuple[int, int]:
    with transaction(factory) as session:
        st = Store(session)
        m = st.message(NOW - D, sender=st.owner.email, to=["jane@client.test"], thread="tq")
        st.commitment(m, due=NOW + 2 * D)
        plan_owner(session, st.owner_id, now=NOW, settings=settings)
        op = session.scalars(select(OutboxOperation)).one()
        assert op.op == "create_hold"
        return op.id, st.owner_id


def ready(factory: sessionmaker[Session], now: datetime) -> list[int]:
    with factory() as s:
        return ready_operations(s, now=now)


def conn_of(fake: FakeConnector) -> Callable[[Account], FakeConnector]:
    return lambda _account: fake


def op_row(factory: sessionmaker[Session], op_id: int) -> OutboxOperation:
    with factory() as s:
        row = s.get(OutboxOperation, op_id)
        assert row is not None
        return row


def test_create_draft_records_item_and_hash(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    op_id, _ = plan_reply(factory, settings)
    assert ready(factory, NOW) == [op_id]
    assert process_operation(factory, op_id, conn_of(fake), now=NOW) == "written"
    [d] = fake.live_drafts()
    row = op_row(factory, op_id)
    assert row.provider_item_id == d.id and row.written_hash == draft_hash(d.spec)
    assert d.spec.in_reply_to and d.spec.thread_id == "ts" and d.spec.subject == "Re: Slides?"
    with factory() as s:
        assert s.get(Suggestion, row.suggestion_id).status == "written"  # type: ignore[union-attr]
    # running it again does nothing
    assert process_operation(factory, op_id, conn_of(fake), now=LATER) == "written"
    assert len(fake.drafts) == 1 and fake.calls.count("create_draft") == 1


STEPS = ["claimed", "before_write", "after_write", "recorded"]
FAKE_POINTS = ["before_create", "after_create"]


@pytest.mark.parametrize("point", STEPS + FAKE_POINTS)
@pytest.mark.parametrize("plan", [plan_reply, plan_hold], ids=["draft", "hold"])
def test_crash_at_every_step_leaves_exactly_one_item(
    factory: sessionmaker[Session],
    settings: Settings,
    fake: FakeConnector,
    point: str,
    plan: Callable[..., tuple[int, int]],
) -> None:
    op_id, _ = plan(factory, settings)
    crashed = set()

    def hook(name: str) -> None:
        if name == point and name not in crashed:
            crashed.add(name)
            raise Crash(name)

    if point in FAKE_POINTS:
        fake.crash_at.add(point)
    with pytest.raises(Crash):
        process_operation(factory, op_id, conn_of(fake), now=NOW, on_step=hook)
    # a worker that comes by before the lease runs out leaves it alone
    if point != "recorded":
        assert (
            process_operation(factory, op_id, conn_of(fake), now=NOW + timedelta(seconds=5))
            == "writing"
        )
    # after the lease, another worker finishes the job (or finds it finished)
    assert op_id in ready(factory, LATER) or point == "recorded"
    assert process_operation(factory, op_id, conn_of(fake), now=LATER) == "written"
    assert process_operation(factory, op_id, conn_of(fake), now=LATER + LEASE * 2) == "written"
    items = fake.live_drafts() if plan is plan_reply else fake.live_holds()
    assert len(items) == 1
    assert op_row(factory, op_id).provider_item_id == items[0].id


def test_repeated_crashes_then_success(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    op_id, _ = plan_reply(factory, settings)
    t = NOW
    for point in ["before_create", "before_create", "after_create"]:
        fake.crash_at.add(point)
        with pytest.raises(Crash):
            process_operation(factory, op_id, conn_of(fake), now=t)
        assert len(fake.live_drafts()) <= 1
        t += LEASE + timedelta(seconds=1)
    assert process_operation(factory, op_id, conn_of(fake), now=t) == "written"
    assert len(fake.live_drafts()) == 1


def test_retry_later_backs_off_then_succeeds(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    op_id, _ = plan_reply(factory, settings)
    fake.fail_next.append(RetryLater("429", status=429, retry_after=120))
    assert process_operation(factory, op_id, conn_of(fake), now=NOW) == "failed"
    row = op_row(factory, op_id)
    assert (
        row.attempts == 1
        and "429" in row.last_error
        and row.ready_at == NOW + timedelta(seconds=120)
    )
    assert ready(factory, NOW + timedelta(seconds=60)) == []
    assert (
        process_operation(factory, op_id, conn_of(fake), now=NOW + timedelta(seconds=60))
        == "failed"
    )
    assert (
        process_operation(factory, op_id, conn_of(fake), now=NOW + timedelta(seconds=121))
        == "written"
    )
    assert len(fake.live_drafts()) == 1


def test_permanent_error_is_not_retried(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    op_id, _ = plan_reply(factory, settings)
    fake.fail_next.append(PermanentError("400 bad request", status=400))
    assert process_operation(factory, op_id, conn_of(fake), now=NOW) == "failed"
    assert op_row(factory, op_id).attempts >= MAX_ATTEMPTS
    assert ready(factory, NOW + 30 * D) == []


def test_an_address_the_mail_library_refuses_fails_the_op_with_its_reason(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    """Found on real mail: the email library raised InvalidHeaderDefect for a recipient
    ``j..kean@enron.com`` inside the write; the row stayed in ``writing`` with no error."""
    from email.errors import InvalidHeaderDefect

    op_id, _ = plan_reply(factory, settings)
    fake.fail_next.append(InvalidHeaderDefect("local-part is not dot-atom"))
    assert process_operation(factory, op_id, conn_of(fake), now=NOW) == "failed"
    row = op_row(factory, op_id)
    assert row.state == "failed" and row.lease_owner is None
    assert "InvalidHeaderDefect" in row.last_error and "dot-atom" in row.last_error
    # and it is not taken again and again: a writing row with an expired lease would be
    assert ready(factory, LATER) == []


def test_bad_data_from_the_connector_is_not_retried(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    op_id, _ = plan_reply(factory, settings)
    fake.fail_next.append(BadData("To address 'j..kean@enron.com' is refused"))
    assert process_operation(factory, op_id, conn_of(fake), now=NOW) == "failed"
    row = op_row(factory, op_id)
    assert row.attempts >= MAX_ATTEMPTS and "j..kean@enron.com" in row.last_error
    assert ready(factory, NOW + 30 * D) == []


def test_racing_workers_write_one_draft(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    op_id, _ = plan_reply(sessions, settings)
    fake = FakeConnector(create_delay=0.3)
    results: list[str] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        results.append(process_operation(sessions, op_id, conn_of(fake), now=NOW))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count("written") == 1 and set(results) <= {"written", "writing"}
    assert len(fake.drafts) == 1


# --- removal, edits, holds ---------------------------------------------------------------


def _written_reply(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> tuple[int, int, int]:
    op_id, owner_id = plan_reply(factory, settings)
    process_operation(factory, op_id, conn_of(fake), now=NOW)
    return op_id, owner_id, op_row(factory, op_id).suggestion_id


def _process_all(factory: sessionmaker[Session], fake: FakeConnector, now: object) -> list[str]:
    with factory() as s:
        ids = ready_operations(s, now=now)  # type: ignore[arg-type]
    return [process_operation(factory, i, conn_of(fake), now=now) for i in ids]  # type: ignore[arg-type]


def test_an_edit_made_between_the_look_and_the_delete_is_left_alone(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    """The outbox looks, finds the draft untouched, and the person edits it right then:
    the connector's hash check at write time refuses, and the person's words stay."""
    op_id, owner_id, sid = _written_reply(factory, settings, fake)
    tag = op_row(factory, op_id).tag
    fake.before_write.append(lambda: fake.person_edits(tag, "Hi Max, typed just now"))
    with transaction(factory) as s:
        actions.dismiss(s, owner_id, sid, now=NOW + H)
    _process_all(factory, fake, NOW + H + UNDONE)
    draft = next(iter(fake.drafts.values()))
    assert draft.status == "draft"
    assert draft.spec.body == "Hi Max, typed just now"


@pytest.mark.parametrize("touched", ["untouched", "edited", "sent"])
def test_dismiss_removes_only_untouched_draft(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector, touched: str
) -> None:
    op_id, owner_id, sid = _written_reply(factory, settings, fake)
    tag = op_row(factory, op_id).tag
    if touched == "edited":
        fake.person_edits(tag, "Hi Max, my own words")
    elif touched == "sent":
        fake.person_sends(tag)
    with transaction(factory) as s:
        actions.dismiss(s, owner_id, sid, now=NOW + H)
    _process_all(factory, fake, NOW + H + UNDONE)
    draft = next(iter(fake.drafts.values()))
    expected = {"untouched": "deleted", "edited": "draft", "sent": "sent"}[touched]
    assert draft.status == expected
    with factory() as s:
        sug = s.get(Suggestion, sid)
        assert sug is not None
        assert sug.status == ("sent" if touched == "sent" else "dismissed")


def test_moot_removal_respects_person_edits(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    op_id, _owner_id, sid = _written_reply(factory, settings, fake)
    tag = op_row(factory, op_id).tag
    fake.person_edits(tag, "Hi Max, I am on it")
    with transaction(factory) as s:
        sug = s.get(Suggestion, sid)
        st_owner = sug.owner_id  # type: ignore[union-attr]
        from rapportd.agent.store.models import Commitment

        c = s.scalars(select(Commitment)).one()
        c.state = "answered"
        plan_owner(s, st_owner, now=NOW + H, settings=settings)
    assert _process_all(factory, fake, NOW + H) == ["skipped"]
    assert fake.live_drafts()[0].spec.body == "Hi Max, I am on it"
    assert op_row(factory, op_id).payload["last_state"]["edited"] is True


def test_edit_updates_draft_then_conflict_after_person_edit(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    op_id, owner_id, sid = _written_reply(factory, settings, fake)
    with transaction(factory) as s:
        actions.edit(
            s,
            owner_id,
            sid,
            body="Hello Max,\n\nHere they are.\n",
            subject="Re: Slides",
            now=NOW + H,
        )
    assert _process_all(factory, fake, NOW + H + UNDONE) == ["written"]
    [d] = fake.live_drafts()
    assert d.spec.body.startswith("Hello Max,\n\nHere they are.") and d.spec.subject == "Re: Slides"
    assert op_row(factory, op_id).written_hash == draft_hash(d.spec)
    # now the person edits in the mailbox; a second edit here is refused after the outbox notices
    fake.person_edits(d.spec.tag, "mine")
    with transaction(factory) as s:
        actions.edit(s, owner_id, sid, body="Again", now=NOW + 2 * H)
    assert _process_all(factory, fake, NOW + 2 * H + UNDONE) == ["skipped"]
    assert fake.live_drafts()[0].spec.body == "mine"
    with transaction(factory) as s, pytest.raises(Conflict):
        actions.edit(s, owner_id, sid, body="Third", now=NOW + 3 * H)


def test_accept_hold_confirms_and_dismiss_hold_deletes(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    op_id, owner_id = plan_hold(factory, settings)
    process_operation(factory, op_id, conn_of(fake), now=NOW)
    sid = op_row(factory, op_id).suggestion_id
    with transaction(factory) as s:
        actions.accept(s, owner_id, sid, now=NOW + H)
    assert _process_all(factory, fake, NOW + H + UNDONE) == ["written"]
    assert fake.live_holds()[0].status == "confirmed"
    with factory() as s:
        assert s.get(Suggestion, sid).status == "accepted"  # type: ignore[union-attr]


def test_dismiss_before_write_cancels(
    factory: sessionmaker[Session], settings: Settings, fake: FakeConnector
) -> None:
    op_id, owner_id = plan_hold(factory, settings)
    sid = op_row(factory, op_id).suggestion_id
    with transaction(factory) as s:
        actions.dismiss(s, owner_id, sid, now=NOW)
    assert _process_all(factory, fake, NOW + H) == []
    assert fake.holds == {} and op_row(factory, op_id).state == "dismissed"


def test_hold_spec_from_payload_round_trips(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    op_id, _ = plan_reply(factory, settings)
    row = op_row(factory, op_id)
    spec = draft_spec(row.tag, row.payload)
    assert spec.to[0].email == "max@client.test" and spec.references
