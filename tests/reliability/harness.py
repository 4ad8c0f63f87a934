"""A whole rapportd cycle (sync -> analysis -> plan -> outbox) against a sandbox, and what to
compare afterwards: the store's content (ids and wall-clock columns left out), the drafts and
holds in the mailboxes, and whether a cursor ran ahead of its data.

The cycle calls the same parts the daemon's actors call (``rapportd.jobs.tasks``), with a
fixed ``now`` so two runs of one scenario can be compared row by row.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.errors import ProviderError, RapportdError
from rapportd.agent.core.settings import Settings
from rapportd.agent.store.db import make_engine, session_factory, transaction, upgrade
from rapportd.agent.store.models import (
    Account,
    CalendarEvent,
    Commitment,
    Contact,
    Message,
    OutboxOperation,
    Owner,
    SkippedItem,
    Suggestion,
    SyncCursor,
)

# Columns that hold wall-clock times, row ids or per-attempt bookkeeping: they differ between
# two correct runs, so the comparison leaves them out.
VOLATILE = {
    "id",
    "created_at",
    "updated_at",
    "seen_at",
    "analysed_at",
    "written_at",
    "ready_at",
    "lease_owner",
    "lease_until",
    "attempts",
    "last_error",
    "provider_item_id",
    "provider_thread_id",
    "web_link",  # carries the provider's item id (a Gmail message id differs per run)
    "first_seen_at",
    "last_seen_at",
}
KEEP_IDS = {"provider_id", "thread_id", "rfc822_id", "series_id", "ical_uid"}
COMPARED = (Message, CalendarEvent, SkippedItem, Contact, Commitment, Suggestion, OutboxOperation)


def scenario(seed: int, days: int = 30, owners: int = 1) -> tuple[dict[str, Any], dict[str, Any]]:
    """A generated scenario whose "now" is the real now (the connectors' text window and
    the sandbox clock then agree)."""
    from rapportd.connectors.sandbox.generator import generate

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return generate(owners, days, seed, now=now)


@dataclass
class Rig:
    sandbox: Any
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    owners: list[int] = field(default_factory=list)
    accounts: list[int] = field(default_factory=list)
    handles: list[Any] = field(default_factory=list)


def store(url: str) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(url)
    upgrade(engine)
    return engine, session_factory(engine)


@contextmanager
def rig(
    tmp_path: Path,
    data: dict[str, Any],
    truth: dict[str, Any],
    *,
    microsoft: bool = False,
    database_url: str = "",
    oauth: bool = False,
    sandbox: Any = None,
    **overrides: Any,
) -> Iterator[Rig]:
    """A sandbox serving ``data`` (or the given ``sandbox``), a migrated store, every owner's
    Google account (and the Outlook one with ``microsoft``) connected. ``oauth`` runs the
    real consent flows."""
    from rapportd.agent.demo.world import (
        add_owner,
        connect_google_with_tokens,
        connect_with_oauth,
        sandbox_settings,
    )
    from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
    from rapportd.connectors.sandbox.server import start_sandbox

    if sandbox is None:
        sandbox = sandbox_from_scenario(data, "reliability")
    handles = [start_sandbox(sandbox)]
    if microsoft:
        handles.append(start_sandbox(sandbox, tls=True))
    try:
        url = database_url or f"sqlite:///{tmp_path / 'store.sqlite3'}"
        settings = sandbox_settings(
            handles[0].base_url,
            handles[-1].ca_file if microsoft else None,
            tmp_path / "data",
            database_url=url,
            **overrides,
        )
        if microsoft:
            ms_url = handles[1].base_url
            ms = settings.microsoft.model_copy(
                update={"authority_host": ms_url, "graph_base_url": ms_url + "/v1.0"}
            )
            settings = settings.model_copy(update={"microsoft": ms})
        engine, factory = store(url)
        r = Rig(sandbox, settings, engine, factory, handles=handles)
        for owner in truth["owners"]:
            oid = add_owner(factory, owner)
            r.owners.append(oid)
            address = owner["accounts"]["google"]
            if oauth:
                r.accounts.append(connect_with_oauth(factory, settings, oid, "google", address))
            else:
                r.accounts.append(
                    connect_google_with_tokens(sandbox, factory, settings, oid, address)
                )
            if microsoft:
                ms_address = owner["accounts"]["microsoft"]
                r.accounts.append(
                    connect_with_oauth(factory, settings, oid, "microsoft", ms_address)
                )
        yield r
        engine.dispose()
    finally:
        for h in handles:
            h.stop()


# The limits a replay lifts (rapportd.agent.replay.run): every suggestion is written at once, and
# neither the sandbox nor rapportd waits for Gmail's per-minute quota.
ARCHIVE_LIMITS: dict[str, Any] = {
    "suggestions": {"drafts_per_account_per_day": 100_000},
    "google": {"quota_units_per_minute": 10_000_000},
}
ARCHIVE_ENV = {
    "RAPPORTD_SUGGESTIONS__DRAFTS_PER_ACCOUNT_PER_DAY": "100000",
    "RAPPORTD_GOOGLE__QUOTA_UNITS_PER_MINUTE": "10000000",
}


@contextmanager
def archive_rig(
    tmp_path: Path, messages: list[Any], owner: dict[str, Any], as_of: datetime
) -> Iterator[Rig]:
    """:func:`rig` for a real archive: ``messages`` (:class:`ArchiveMessage`, as
    ``rapportd replay`` reads them) in the Gmail account of ``owner`` (a truth owner: name,
    timezone, org_domains, accounts.google), with the clock held at ``as_of`` as the replay
    holds it. This process, its sandbox and the processes given the rig's settings (the
    ``clock`` section: ``as_of`` and its wall-clock ``anchor``) agree on the time."""
    from rapportd.agent.core import clock
    from rapportd.agent.core.clock import HeldClock
    from rapportd.connectors.sandbox.archive import Archive, load_archive
    from rapportd.connectors.sandbox.state import Sandbox

    anchor = clock.wall_now()
    held = HeldClock(as_of, anchor=anchor)
    previous = clock.use(held)
    try:
        sandbox = Sandbox(clock=held)
        sandbox.quota.update({"gmail_units_per_minute": 10_000_000})
        account = sandbox.add_account(
            "google",
            owner["accounts"]["google"],
            display_name=owner["name"],
            timezone=owner["timezone"],
        )
        refused = load_archive(sandbox, account, Archive(messages=list(messages)))
        assert refused == [], refused
        times = {"as_of": as_of.isoformat(), "anchor": anchor.isoformat()}
        with rig(
            tmp_path, {}, {"owners": [owner]}, sandbox=sandbox, clock=times, **ARCHIVE_LIMITS
        ) as r:
            yield r
    finally:
        clock.use(previous)


@dataclass
class CycleReport:
    errors: list[str] = field(default_factory=list)
    ops: Counter[str] = field(default_factory=Counter)
    failed_accounts: set[int] = field(default_factory=set)


class Connectors:
    """Builds one connector per account for a cycle and closes them afterwards."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.built: dict[int, Any] = {}

    def __call__(self, account: Account) -> Any:
        from rapportd.connectors.factory import connector_for

        if account.id not in self.built:
            self.built[account.id] = connector_for(account, self.settings)
        return self.built[account.id]

    def close(self) -> None:
        for c in self.built.values():
            with suppress(Exception):
                c.close()


Point = Callable[[str], None]


def _nothing(_name: str) -> None:
    return None


def sync_all(
    r: Rig, report: CycleReport, settings: Settings | None = None, point: Point = _nothing
) -> None:
    """Sync every account once; ``point("sync_batch")`` after each committed batch."""
    from rapportd.connectors.sync.account import sync_account

    for aid in r.accounts:
        try:
            report.failed_accounts.discard(aid)
            sync_account(
                r.factory, aid, settings or r.settings, progress=lambda *_a: point("sync_batch")
            )
        except (RapportdError, ProviderError, OSError) as exc:
            report.errors.append(f"sync {aid}: {type(exc).__name__}: {exc}"[:300])
            report.failed_accounts.add(aid)


def analyse_and_plan(
    r: Rig, now: datetime, point: Point = _nothing, skip: set[int] | None = None
) -> None:
    """Analyse and plan every owner, except those in ``skip``."""
    from rapportd.agent.analysis.analyse import analyse_owner
    from rapportd.agent.suggest.planner import plan_owner

    for oid in r.owners:
        if skip and oid in skip:
            continue
        with transaction(r.factory) as session:
            analyse_owner(session, oid, now=now, settings=r.settings)
        point("analysed")
        with transaction(r.factory) as session:
            plan_owner(session, oid, now=now, settings=r.settings)
        point("planned")


def write_all(
    r: Rig,
    now: datetime,
    report: CycleReport,
    *,
    on_step: Callable[[str], None] | None = None,
    rounds: int = 3,
) -> None:
    """Write every ready outbox item. Items are taken at ``now + 1 day`` (past quiet hours and
    the daily cap's day) and again in each of ``rounds`` rounds, each a day later: past any
    back-off and past the lease of an item whose writer was killed mid-write."""
    from rapportd.agent.outbox.operations import process_operation, ready_operations

    connectors = Connectors(r.settings)
    try:
        for round_ in range(rounds):
            at = now + timedelta(days=1 + round_)
            with r.factory() as session:
                ready = ready_operations(session, now=at, limit=10_000)
            for op_id in ready:
                try:
                    state = process_operation(
                        r.factory, op_id, connectors, now=at, worker="cycle", on_step=on_step
                    )
                    report.ops[state] += 1
                except (RapportdError, ProviderError, OSError) as exc:
                    report.errors.append(f"op {op_id}: {type(exc).__name__}: {exc}"[:300])
    finally:
        connectors.close()


def run_cycle(r: Rig, now: datetime, point: Point = _nothing) -> CycleReport:
    """One whole cycle; ``point(name)`` is called at every step a crash test may kill at."""
    report = CycleReport()
    sync_all(r, report, point=point)
    # As the daemon: a failed sync does not lead to an analysis (the owner waits for the
    # next complete one), so nothing is planned on half a mailbox.
    analyse_and_plan(r, now, point, skip=owners_of(r, report.failed_accounts))
    write_all(r, now, report, on_step=lambda step: point("op_" + step))
    return report


def owners_of(r: Rig, account_ids: set[int]) -> set[int]:
    if not account_ids:
        return set()
    with r.factory() as session:
        return set(session.scalars(select(Account.owner_id).where(Account.id.in_(account_ids))))


# --------------------------------------------------------------------------- comparing
def _plain(value: Any, messages: Mapping[int, str] | None = None) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict | list):
        return json.dumps(_stable_ids(value, messages or {}), sort_keys=True, default=str)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _stable_ids(value: Any, messages: Mapping[int, str]) -> Any:
    """JSON with each message row id (a ``message_id`` key) replaced by the message's
    provider identity: row ids follow the order rows were inserted in, which a fault that
    stops one account's sync for a round changes without anything being wrong."""
    if isinstance(value, dict):
        return {
            k: (
                messages.get(v, f"unknown message {v}")
                if k == "message_id" and isinstance(v, int)
                else _stable_ids(v, messages)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_stable_ids(v, messages) for v in value]
    return value


def _columns(model: Any) -> list[str]:
    names = []
    for col in model.__table__.columns:
        name = col.name
        if name in VOLATILE or (name.endswith("_id") and name not in KEEP_IDS):
            continue
        names.append(name)
    return names


def fingerprint(factory: sessionmaker[Session]) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every compared table as a multiset of rows (volatile columns left out)."""
    out: dict[str, Counter[tuple[Any, ...]]] = {}
    with factory() as session:
        # ids the provider chose for items rapportd wrote (Graph event ids) differ between
        # two correct runs: such rows are compared without them
        written = set(
            session.scalars(
                select(OutboxOperation.provider_item_id).where(
                    OutboxOperation.provider_item_id != ""
                )
            )
        )
        messages = {
            row.id: f"{row.account_id}:{row.provider_id}"
            for row in session.execute(select(Message.id, Message.account_id, Message.provider_id))
        }
        for model in COMPARED:
            cols = _columns(model)
            rows = session.execute(select(*[model.__table__.c[c] for c in cols])).all()
            blank = (
                [i for i, c in enumerate(cols) if c in ("provider_id", "ical_uid", "web_link")]
                if model is CalendarEvent
                else []
            )
            table: Counter[tuple[Any, ...]] = Counter()
            for row in rows:
                values = [_plain(v, messages) for v in row]
                if blank and values[cols.index("provider_id")] in written:
                    for i in blank:
                        values[i] = "(written by rapportd)"
                table[tuple(values)] += 1
            out[model.__tablename__] = table
    return out


def differences(a: dict[str, Counter[Any]], b: dict[str, Counter[Any]]) -> dict[str, Any]:
    """Per table: rows only in ``a`` and only in ``b`` (a few of each, for the message)."""
    diff: dict[str, Any] = {}
    for table in a:
        only_a, only_b = a[table] - b[table], b[table] - a[table]
        if only_a or only_b:
            diff[table] = {
                "only_first": len(only_a),
                "only_second": len(only_b),
                "sample_first": list(only_a)[:2],
                "sample_second": list(only_b)[:2],
            }
    return diff


def _prop_tag(extra: dict[str, Any] | None) -> str:
    props = (extra or {}).get("props") or {}
    return next((v for k, v in props.items() if "rapportd" in k.lower() and isinstance(v, str)), "")


def mailbox_items(sandbox: Any) -> Counter[str]:
    """How many live drafts / holds carry each rapportd tag, over every mailbox (Gmail and
    Calendar carry it in a header / private property, Graph in an extended property)."""
    tags: Counter[str] = Counter()
    with sandbox.lock:
        for account in sandbox.accounts.values():
            mb = account.mailbox
            for draft in mb.drafts.values():
                message = mb.messages[draft.message_id]
                tag = message.header("X-Rapportd-Id") or _prop_tag(message.extra)
                if tag:
                    tags[f"{account.address} draft:{tag}"] += 1
            for event in mb.events.values():
                tag = event.private_props.get("rapportd") or _prop_tag(event.extra)
                if tag and not event.deleted and event.status != "cancelled":
                    tags[f"{account.address} hold:{tag}"] += 1
    return tags


def duplicates(sandbox: Any) -> dict[str, int]:
    return {k: n for k, n in mailbox_items(sandbox).items() if n > 1}


def cursor_ahead(r: Rig) -> list[str]:
    """Streams whose cursor says "delta" (backfill done) while a message the provider has had
    since before the run is missing from the store (neither stored nor recorded as skipped
    with its reason, e.g. older than the sync window): the cursor ran ahead of its data."""
    problems: list[str] = []
    with r.factory() as session:
        for account in session.scalars(select(Account)):
            cursors = {
                c.stream: c.phase
                for c in session.scalars(
                    select(SyncCursor).where(SyncCursor.account_id == account.id)
                )
            }
            if account.provider != "google" or cursors.get("gmail") != "delta":
                continue
            stored = set(
                session.scalars(select(Message.provider_id).where(Message.account_id == account.id))
            ) | set(
                session.scalars(
                    select(SkippedItem.provider_id).where(
                        SkippedItem.account_id == account.id, SkippedItem.stream == "gmail"
                    )
                )
            )
            with r.sandbox.lock:
                mb = r.sandbox.mailbox(account.address)
                expected = {
                    m.id
                    for m in mb.messages.values()
                    if not ({"DRAFT", "SPAM", "TRASH"} & set(m.labels))
                }
            missing = expected - stored
            if missing:
                problems.append(f"{account.address}: gmail delta cursor, {len(missing)} missing")
    return problems


def owner_ids(factory: sessionmaker[Session]) -> list[int]:
    with factory() as session:
        return list(session.scalars(select(Owner.id)))


def record(suite: str, **figures: Any) -> None:
    """Append one line of figures to ``$RAPPORTD_TEST_FIGURES`` (a JSON-lines file),
    so `make reliability` runs can be summarised for docs/RELIABILITY.md."""
    import os

    path = os.environ.get("RAPPORTD_TEST_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"suite": suite, **figures}, default=str) + "\n")
