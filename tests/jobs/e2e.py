"""Helpers of the end-to-end tests: a generated sandbox world, a store, and what to read
back from both (drafts and holds in the mailboxes, outbox rows in the store)."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.store.models import (
    Account,
    CalendarEvent,
    Contact,
    Message,
    OutboxOperation,
    Owner,
    Suggestion,
    SyncCursor,
    SyncRun,
)

T = TypeVar("T")


def mailbox_items(sandbox: Any) -> dict[str, Counter[str]]:
    """Per account address: how many drafts / live holds carry each rapportd tag."""
    out: dict[str, Counter[str]] = {}
    with sandbox.lock:
        for account in sandbox.accounts.values():
            mb = account.mailbox
            tags: Counter[str] = Counter()
            for draft in mb.drafts.values():
                tag = mb.messages[draft.message_id].header("X-Rapportd-Id") or ""
                if tag:
                    tags[f"draft:{tag}"] += 1
            for event in mb.events.values():
                tag = event.private_props.get("rapportd") or ""
                if tag and not event.deleted and event.status != "cancelled":
                    tags[f"hold:{tag}"] += 1
            out[account.address] = tags
    return out


def outbox_summary(factory: sessionmaker[Session]) -> Counter[str]:
    with factory() as s:
        return Counter(
            {
                f"{op}:{state}": n
                for op, state, n in s.execute(
                    select(OutboxOperation.op, OutboxOperation.state, func.count()).group_by(
                        OutboxOperation.op, OutboxOperation.state
                    )
                )
            }
        )


STREAMS = {"google": {"gmail", "gcal"}, "microsoft": {"graph_inbox", "graph_calendar"}}


def settled(factory: sessionmaker[Session]) -> bool:
    """:func:`settle_state` says nothing is left to do."""
    st = settle_state(factory)
    return (
        st["unsynced"] == 0
        and st["behind"] == 0
        and st["writing"] == 0
        and st["ready"] == 0
        and st["written"] > 0
        and st["suggestions"] > 0
    )


def settle_state(factory: sessionmaker[Session]) -> dict[str, int]:
    """What :func:`settled` checks, as counts (printed when a run does not settle). Every
    account synced completely at least once (every stream), every owner analysed with nothing
    left to analyse, something written, and no outbox item ready now or being written (items
    deferred on purpose, e.g. to the owner's quiet hours or a daily cap, wait for their
    time)."""
    from rapportd.agent.core import clock
    from rapportd.agent.outbox.operations import ready_operations

    with factory() as s:
        unsynced = s.scalar(
            select(func.count()).select_from(Account).where(Account.last_sync_at.is_(None))
        )
        accounts = {a: p for a, p in s.execute(select(Account.id, Account.provider))}
        complete: dict[int, set[str]] = {}
        for account_id, stream in s.execute(  # a full pass, not only the recent window
            select(SyncCursor.account_id, SyncCursor.stream).where(
                SyncCursor.last_verified_complete_at.is_not(None)
            )
        ):
            complete.setdefault(account_id, set()).add(stream)
        unsynced += sum(
            1 for a, provider in accounts.items() if not STREAMS[provider] <= complete.get(a, set())
        )
        writing = s.scalar(
            select(func.count())
            .select_from(OutboxOperation)
            .where(OutboxOperation.state == "writing")
        )
        ready = ready_operations(s, now=clock.now())  # the product's time
        written = s.scalar(
            select(func.count())
            .select_from(OutboxOperation)
            .where(OutboxOperation.state == "written")
        )
        suggestions = s.scalar(select(func.count()).select_from(Suggestion))
        # every owner analysed since the last message or event was stored, and no analysis
        # waiting (storing anything marks one due; a quiet sync, e.g. a second sync message
        # the scheduler sent while the first waited in the queue, needs none). The time a
        # row was stored, not the end of its sync: an analysis may begin while a sync
        # finishes, after the sync's last data.
        stored = {
            owner: max(at for at in times if at is not None)
            for owner, *times in s.execute(
                select(
                    Owner.id,
                    select(func.max(Message.created_at))
                    .where(Message.owner_id == Owner.id)
                    .scalar_subquery(),
                    select(func.max(CalendarEvent.updated_at))
                    .where(CalendarEvent.owner_id == Owner.id)
                    .scalar_subquery(),
                )
            )
            if any(at is not None for at in times)
        }
        dirty = set(s.scalars(select(Contact.owner_id).where(Contact.dirty).distinct()))
        reasons: Counter[str] = Counter()
        for owner_id, due, analysed, planned in s.execute(
            select(Owner.id, Owner.analysis_due_at, Owner.analysed_at, Owner.planned_at).where(
                select(Account.id).where(Account.owner_id == Owner.id).exists()
            )
        ):
            if analysed is None:
                reasons["never_analysed"] += 1
            elif due is not None:
                reasons["analysis_due"] += 1
            elif owner_id in dirty:
                reasons["dirty_contacts"] += 1
            elif owner_id in stored and analysed < stored[owner_id]:
                reasons["stored_since_analysis"] += 1
            elif planned is None or planned < analysed:  # the plan after it is still to run
                reasons["not_planned_since_analysis"] += 1
        behind = sum(reasons.values())
    return {
        "unsynced": int(unsynced or 0),
        "behind": behind,
        **{f"behind_{k}": v for k, v in sorted(reasons.items())},
        "writing": int(writing or 0),
        "ready": len(ready),
        "written": int(written or 0),
        "suggestions": int(suggestions or 0),
    }


def wait_settled(factory: sessionmaker[Session], timeout: float, what: str) -> None:
    """:func:`settled`, and still so (same suggestions and outbox) 1.5 s later: a plan
    enqueued after the last analysis has had its turn."""

    def snapshot() -> tuple[int, Counter[str]]:
        with factory() as s:
            n = int(s.scalar(select(func.count()).select_from(Suggestion)) or 0)
        return n, outbox_summary(factory)

    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            wait_for(lambda: settled(factory), max(remaining, 0.1), what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; {settle_state(factory)}") from None
        before = snapshot()
        time.sleep(1.5)
        if settled(factory) and snapshot() == before:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (not stable)")


def wait_for(predicate: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll ``predicate`` until it gives a true value, and return that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def overlapping_calls(entries: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Pairs of API calls of one account that overlap in time but come from two different
    syncs is hard to tell from one log; calls overlapping at all is the strict test used
    where every sync is sequential (connectors make one call at a time per account)."""
    by_account: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_account.setdefault(e["account"], []).append(e)
    bad = []
    for calls in by_account.values():
        calls.sort(key=lambda e: e["start"])
        for a, b in itertools.pairwise(calls):
            if b["start"] < a["end"] - 1e-3:
                bad.append((a, b))
    return bad


# --------------------------------------------------------------------------- outcomes
@dataclass
class Outcome:
    """What one run left behind, in the store and in the sandbox's mailboxes."""

    messages: set[tuple[str, str]]  # (account address, provider id), not deleted
    events: set[tuple[str, str]]
    dedupe_keys: set[str]
    items: dict[str, Counter[str]]  # per address: tag -> live drafts/holds carrying it
    created: int  # create_* outbox operations written
    duplicate_ids: int  # provider ids stored more than once per account (never expected)
    person_of: dict[str, str] = field(default_factory=dict)  # dedupe key -> its person

    def items_by_kind(self) -> Counter[str]:
        return Counter(tag.split(":", 1)[0] for c in self.items.values() for tag in c.elements())


def suggestion_people(factory: sessionmaker[Session]) -> dict[str, str]:
    """Each suggestion's person (its first recipient's name, else address), by dedupe key:
    the same in two runs of one world, where contact ids are not."""
    with factory() as s:
        return {
            key: (str(to[0][1] or to[0][0]).lower() if to else "")
            for key, to in s.execute(select(Suggestion.dedupe_key, Suggestion.to_addrs))
        }


def outcome(sandbox: Any, factory: sessionmaker[Session]) -> Outcome:
    with factory() as s:
        messages = [
            (a, p)
            for a, p in s.execute(
                select(Account.address, Message.provider_id)
                .join(Account, Account.id == Message.account_id)
                .where(Message.deleted.is_(False))
            )
        ]
        events = [
            (a, p)
            for a, p in s.execute(
                select(Account.address, CalendarEvent.provider_id)
                .join(Account, Account.id == CalendarEvent.account_id)
                .where(CalendarEvent.deleted.is_(False))
            )
        ]
    person_of = suggestion_people(factory)
    summary = outbox_summary(factory)
    created = sum(
        n for k, n in summary.items() if k.startswith("create_") and k.endswith(":written")
    )
    dupes = len(messages) - len(set(messages)) + len(events) - len(set(events))
    return Outcome(
        set(messages),
        set(events),
        set(person_of),
        mailbox_items(sandbox),
        created,
        dupes,
        person_of,
    )


def original_message_ids(sandbox: Any, addresses: Iterable[str]) -> set[tuple[str, str]]:
    """The messages of these (connected) accounts before any run wrote a draft: what a
    sync must store."""
    wanted = {a.lower() for a in addresses}
    with sandbox.lock:
        return {
            (account.address, message_id)
            for account in sandbox.accounts.values()
            if account.address in wanted
            for message_id, message in account.mailbox.messages.items()
            if not message.labels & {"SPAM", "TRASH", "DRAFT"}
        }


def original_event_ids(sandbox: Any, addresses: Iterable[str]) -> set[tuple[str, str]]:
    """The events of these accounts before any run wrote a hold."""
    wanted = {a.lower() for a in addresses}
    with sandbox.lock:
        return {
            (account.address, event_id)
            for account in sandbox.accounts.values()
            if account.address in wanted
            for event_id, event in account.mailbox.events.items()
            if not event.deleted
        }


def assert_one_item_per_tag(out: Outcome) -> None:
    """Every written draft/hold is in its mailbox exactly once, and nothing else is."""
    assert out.created > 0, out
    assert all(n == 1 for c in out.items.values() for n in c.values()), out.items
    assert sum(sum(c.values()) for c in out.items.values()) == out.created, out
    assert out.duplicate_ids == 0


# --------------------------------------------------------------------------- sync overlaps
# Calls only a sync makes: each must fall inside a SyncRun. Message reads and lists are
# also made by the outbox (reply context) and fate detection, outside the sync lease: they
# are attributed to the run they fall in, if any. calendar.events.list is left out (the
# planner and the outbox list events too; the log does not keep the query).
SYNC_ONLY = frozenset({"gmail.users.history.list", "gmail.users.getProfile"})
SYNC_TOO = frozenset({"gmail.users.messages.list", "gmail.users.messages.get"})


def sync_overlaps(
    entries: list[dict[str, Any]],
    runs: list[tuple[str, float, float | None]],
    *,
    killed_at: float | None = None,
    slack: float = 0.05,
) -> list[str]:
    """Problems showing two syncs of one account at once, from the sandbox's request log
    (``entries``) and the store's SyncRun rows (``runs``: address, started, finished).

    Each sync call is attributed to the stream run (a SyncRun) it happened in; every call
    must fall in one; the runs of one account must not overlap (a run killed with its worker
    has no finish: it ended when the worker died, ``killed_at``); and, from the log alone,
    the calls of consecutive runs must not interleave (calls within one run may overlap:
    batches). An empty list means none."""
    problems: list[str] = []
    spans: dict[str, list[tuple[float, float]]] = {}
    for address, started, finished in runs:
        end = finished if finished is not None else (killed_at or float("inf"))
        spans.setdefault(address, []).append((started, end))
    for address, account_spans in spans.items():
        account_spans.sort()
        for (s1, e1), (s2, e2) in itertools.pairwise(account_spans):
            if s2 < e1 - slack:
                problems.append(f"{address}: sync runs overlap {(s1, e1)} and {(s2, e2)}")
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for e in entries:
        if e["endpoint"] not in SYNC_ONLY | SYNC_TOO:
            continue
        account_spans = spans.get(e["account"], [])
        inside = [i for i, (s, end) in enumerate(account_spans) if s <= e["start"] <= end]
        if not inside:  # timestamps of two processes: allow a little rounding
            inside = [
                i
                for i, (s, end) in enumerate(account_spans)
                if s - slack <= e["start"] <= end + slack
            ]
        if not inside and e["endpoint"] in SYNC_TOO:
            continue
        if len(inside) != 1:
            problems.append(f"{e['account']}: {e['endpoint']} at {e['start']} in runs {inside}")
            continue
        groups.setdefault((e["account"], inside[0]), []).append(e)
    by_account: dict[str, list[tuple[float, float]]] = {}
    for (address, _i), calls in groups.items():
        first = min(c["start"] for c in calls)
        last = max(c["end"] for c in calls)
        by_account.setdefault(address, []).append((first, last))
    for address, intervals in by_account.items():
        intervals.sort()
        for (s1, e1), (s2, e2) in itertools.pairwise(intervals):
            if s2 < e1 - 1e-3:
                problems.append(f"{address}: calls of two syncs interleave {(s1, e1)} {(s2, e2)}")
    return problems


def sync_runs(factory: sessionmaker[Session]) -> list[tuple[str, float, float | None]]:
    with factory() as s:
        return [
            (a, _ts(started), _ts(finished) if finished else None)
            for a, started, finished in s.execute(
                select(Account.address, SyncRun.started_at, SyncRun.finished_at).join(
                    Account, Account.id == SyncRun.account_id
                )
            )
        ]


def _ts(value: Any) -> float:
    from datetime import UTC

    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


def log_entries(sandbox: Any) -> list[dict[str, Any]]:
    with sandbox.lock:
        return [e.as_json() for e in sandbox.log]
