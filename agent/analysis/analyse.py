"""The impure edge of inference: load one owner's mail and meetings from the store, run the
pure functions of ``agent/inference`` and write contacts, identities and commitments back.

Re-analysis is incremental: the sync's store writer calls :func:`.dirty.mark_dirty` with the
addresses a batch touched, and :func:`analyse_owner` re-analyses only the people something
happened to since the last analysis (new or changed messages and events, dirty contacts,
everyone in a thread that changed), reading only their threads and events; what the
whole-history steps need of everyone else (the clustering, the pooled prior's sufficient
statistics, names, reply-as pairs) comes from the state kept in ``analysis_states``
(agent/analysis/state.py), and everyone else's overdue score is aged from it. Pass
``full=True`` (e.g. once a day) to read everything and refresh every row; it gives the rows
an incremental run gives (tests/inference/test_incremental_analysis.py).

Every query is filtered by ``owner_id``.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from rapportd.agent.analysis.state import (
    FULL_EVERY,
    PRIOR_TOLERANCE,
    State,
    dirty_addresses,
    load_delta,
    load_state,
    pack_ids,
    save_state,
)
from rapportd.agent.analysis.store import (
    assign_contacts,
    load_decisions,
    load_meetings,
    load_messages,
    load_owner_decisions,
    settle_acknowledged,
    store_commitments,
    store_duplicates,
)
from rapportd.agent.core import clock
from rapportd.agent.core.gc_pause import paused_gc
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.settings import Settings, get_settings
from rapportd.agent.inference.bulk import bulk_messages, sender_signals
from rapportd.agent.inference.cadence import (
    GapPrior,
    overdue_from,
    prior_from_samples,
    prior_sample,
    to_days,
)
from rapportd.agent.inference.duplicates import duplicate_copies
from rapportd.agent.inference.names import (
    greeting_name,
    learn_greetings,
    learn_signatures,
    readable_name,
)
from rapportd.agent.inference.owner_identity import (
    PUBLIC_DOMAINS,
    OwnerIdentity,
    infer_owner_identity,
)
from rapportd.agent.inference.people import (
    Identities,
    classify_senders,
    domain_of,
    is_internal,
    is_owner,
    merge_identities,
    reply_as_pairs,
)
from rapportd.agent.inference.relationship import ContactAnalysis, analyse_contact, personal_times
from rapportd.agent.inference.threads import group_threads, reply_latencies, thread_states
from rapportd.agent.inference.timeline import Interaction, build_timeline, personal
from rapportd.agent.inference.types import Meeting, Msg, OwnerProfile
from rapportd.agent.store.models import (
    Account,
    CalendarEvent,
    Commitment,
    Contact,
    ContactDecision,
    ContactIdentity,
    Message,
    Owner,
)

log = get_logger(__name__)
Detector = Callable[..., list[Any]]


def _default_detector() -> Detector | None:
    """The real commitment detector, or None while that module is not installed."""
    try:
        from rapportd.agent.inference.commitments import detect
    except ImportError:
        return None
    return detect


@dataclass
class AnalysisSummary:
    owner_id: int
    contacts_total: int = 0
    contacts_analysed: int = 0
    contacts_created: int = 0
    contacts_merged: int = 0
    automated: int = 0
    commitments_upserted: int = 0
    waiting_for_owner: int = 0
    owner_waiting: int = 0
    skipped: bool = False
    incremental: bool = False  # only the people something happened to were re-analysed
    seconds: float = 0.0


def owner_identity(session: Session, owner: Owner, msgs: Sequence[Msg]) -> OwnerIdentity:
    """Who the owner is (addresses with reasons, name, sign-off), from their accounts, the
    provider's send-as list, their sent mail, look-alikes with evidence and their decisions."""
    accounts = session.scalars(select(Account).where(Account.owner_id == owner.id)).all()
    mine, not_mine = load_owner_decisions(session, owner.id)
    return infer_owner_identity(
        msgs,
        accounts=[owner.email, *(a.address for a in accounts)],
        provider_aliases=[str(x) for a in accounts for x in (a.aliases or [])],
        display_name=owner.display_name
        or next((a.display_name for a in accounts if a.display_name), ""),
        mine=mine,
        not_mine=not_mine,
    )


def build_profile(owner: Owner, identity: OwnerIdentity, settings: Settings) -> OwnerProfile:
    """The owner as inference sees them. Without configured organisation domains, the
    owner's own non-public account domains are the organisation (colleagues are internal)."""
    configured = [*(owner.org_domains or []), *settings.owner_domains]
    own = {domain_of(owner.email)} - PUBLIC_DOMAINS
    return OwnerProfile(
        addresses=identity.addresses,
        org_domains=frozenset(
            d.strip().lower().lstrip("@") for d in (configured or sorted(own)) if d.strip()
        ),
        timezone=owner.timezone or settings.default_timezone,
    )


def _nothing_new(session: Session, owner: Owner) -> bool:
    """True when no contact is dirty, nobody asked for an analysis (``analysis_due_at``) and
    nothing was stored or decided since the last analysis started (on the one clock)."""
    if owner.analysed_at is None or owner.analysis_due_at is not None:
        return False
    oid, since = owner.id, owner.analysed_at
    checks = [
        select(func.count()).select_from(Contact).where(Contact.owner_id == oid, Contact.dirty),
        select(func.count())
        .select_from(Message)
        .where(Message.owner_id == oid, Message.updated_at > since),
        select(func.count())
        .select_from(CalendarEvent)
        .where(CalendarEvent.owner_id == oid, CalendarEvent.updated_at > since),
        select(func.count())
        .select_from(ContactDecision)
        .where(ContactDecision.owner_id == oid, ContactDecision.created_at > since),
    ]
    return all(session.scalar(q) == 0 for q in checks)


def _names(msgs: Sequence[Msg], recipient_names: dict[str, Counter[str]]) -> dict[str, str]:
    """Each address's readable display name: what its own mail says, else what the owner's
    mail calls it."""
    names: dict[str, Counter[str]] = defaultdict(Counter)
    for a, c in recipient_names.items():
        for n, k in c.items():
            names[a][readable_name(n, a)] += k
    for m in msgs:
        if m.sender_name and m.direction == "in":
            names[m.sender][readable_name(m.sender_name, m.sender)] += 3
    for c in names.values():
        c.pop("", None)
    return {a: c.most_common(1)[0][0] for a, c in names.items() if c}


class _Widen(Exception):
    """The people of an incremental run reach beyond what it read: read these too."""

    def __init__(self, addresses: set[str]) -> None:
        super().__init__(f"{len(addresses)} more addresses")
        self.addresses = addresses


@dataclass
class _Derived:
    """What the analysis derives from a set of messages before it writes anything."""

    msgs: list[Msg]
    copies: dict[int, int]
    profile: OwnerProfile
    personal: list[Msg]
    verdicts: dict[str, Any]
    names: dict[str, str]
    identities: Identities
    members: dict[str, list[str]]
    automated_keys: set[str]
    timelines: dict[str, list[Any]]
    samples: dict[str, list[float]]
    reply_as: set[tuple[str, str]]
    ids: dict[str, list[int]]
    events: dict[str, list[int]]
    keys: set[str]  # the people this run (re)analyses: all, or those in scope


def _attendees(meetings: Sequence[Meeting], profile: OwnerProfile) -> set[str]:
    return {
        p.email.lower()
        for mt in meetings
        for p in mt.attendees
        if p.email and not p.is_self and not is_owner(p.email, profile)
    }


def _thread_ids(stored: Sequence[Msg], cluster_of: dict[str, str]) -> dict[str, list[int]]:
    """Per person: the ids of every stored message (copies included) of every thread they
    are in: what a later incremental run reads to re-analyse them."""
    out: dict[str, set[int]] = defaultdict(set)
    by_rfc = {m.rfc822_id: m.id for m in stored if m.rfc822_id}
    for items in group_threads(stored).values():
        keys = {cluster_of[a] for m in items for a in (m.sender, *m.recipients) if a in cluster_of}
        # and the messages they answer, should a provider have filed those in another thread
        answered = {by_rfc[m.in_reply_to] for m in items if m.in_reply_to in by_rfc}
        for k in keys:
            out[k].update(m.id for m in items)
            out[k].update(answered)
    return {k: sorted(v) for k, v in out.items()}


def _derive(
    session: Session,
    owner_id: int,
    stored: Sequence[Msg],
    recipient_names: dict[str, Counter[str]],
    meetings: Sequence[Meeting],
    profile: OwnerProfile,
    *,
    now: datetime,
    state: State | None = None,
    scope: set[str] | None = None,
    copies: dict[int, int] | None = None,
) -> _Derived:
    """Identities, automated people, timelines and the prior's statistics. With ``scope``
    (an incremental run: ``stored`` holds every message of these addresses' threads), what
    concerns addresses outside it comes from ``state``; raises :class:`_Widen` when the
    people it finds reach outside the scope."""
    copies = duplicate_copies(stored) if copies is None else copies
    msgs = [m for m in stored if m.id not in copies]
    bulk = bulk_messages(msgs, profile.addresses)
    personal = [m for m in msgs if m.id not in bulk]
    verdicts = classify_senders(
        msgs, profile, meetings, flagged={i: sender_signals(r) for i, r in bulk.items()}
    )
    addresses = {a for a in verdicts if not is_owner(a, profile)} | _attendees(meetings, profile)
    names = _names(msgs, recipient_names)
    reply_as = reply_as_pairs(msgs, profile)
    if state is not None and scope is not None:
        names = {a: n for a, n in state.names.items() if a not in scope} | {
            a: n for a, n in names.items() if a in scope
        }
        reply_as = {p for p in state.reply_as if p[1] not in scope} | {
            p for p in reply_as if p[1] in scope
        }
        addresses |= {a for addrs in state.members.values() for a in addrs}
    identities: Identities = merge_identities(
        addresses,
        names,
        reply_as=reply_as,
        decisions=load_decisions(session, owner_id),
    )
    members = identities.members()
    if state is not None and scope is not None:
        before = state.key_of()
        keys = set()
        for k, addrs in members.items():
            if not any(a in scope for a in addrs):
                continue
            outside = {a for a in addrs if a not in scope}
            # a person who gained or lost an address outside the scope: read them too
            outside |= {
                b
                for a in addrs
                if a in before
                for b in state.members[before[a]]
                if b not in scope and b not in addrs
            }
            if outside:
                raise _Widen(outside)
            keys.add(k)
        stale = {
            b for k, addrs in state.members.items() for b in addrs if b not in members.get(k, [])
        }
        if stale - scope:
            raise _Widen(stale - scope)
    else:
        keys = set(members)
    automated_keys = {
        k
        for k, addrs in members.items()
        if k in keys and all(verdicts.get(a) is not None and verdicts[a].automated for a in addrs)
    }
    if state is not None and scope is not None:
        automated_keys |= {k for k in state.automated if k in members and k not in keys}
    timelines = build_timeline(
        personal, meetings, profile, identities.cluster_of, now=now, excluded=automated_keys
    )
    samples = {k: prior_sample(personal_times(t)) for k, t in timelines.items() if k in keys}
    if state is not None and scope is not None:
        samples = {
            k: v for k, v in state.samples.items() if k not in keys and k in members
        } | samples
    ids = _thread_ids(stored, identities.cluster_of)
    events: dict[str, set[int]] = defaultdict(set)
    for mt in meetings:
        for a in {mt.organizer, *(p.email.lower() for p in mt.attendees)}:
            if a in identities.cluster_of:
                events[identities.cluster_of[a]].add(mt.id)
    return _Derived(
        msgs=msgs,
        copies=copies,
        profile=profile,
        personal=personal,
        verdicts=verdicts,
        names=names,
        identities=identities,
        members=members,
        automated_keys=automated_keys,
        timelines=timelines,
        samples=samples,
        reply_as=reply_as,
        ids={k: v for k, v in ids.items() if k in keys},
        events={k: sorted(v) for k, v in events.items() if k in keys},
        keys=keys,
    )


def _next_state(
    d: _Derived, prior: list[float], old: State | None, aging: dict[str, list[Any]]
) -> State:
    """The state after this run: this run's people as derived, everyone else as before."""
    keep = set() if old is None else {k for k in old.members if k in d.members and k not in d.keys}
    scope = {a for k in d.keys for a in d.members[k]}
    return State(
        members={k: d.members[k] for k in sorted(d.members)},
        ids={k: old.ids[k] for k in keep if old is not None and k in old.ids}
        | {k: pack_ids(v) for k, v in d.ids.items()},
        events={k: old.events[k] for k in keep if old is not None and k in old.events}
        | {k: pack_ids(v) for k, v in d.events.items()},
        samples=dict(sorted(d.samples.items())),
        prior=prior,
        names=dict(sorted(d.names.items())),
        reply_as=d.reply_as
        if old is None
        else {p for p in old.reply_as if p[1] not in scope} | d.reply_as,
        automated=set(d.automated_keys),
        aging=dict(sorted(aging.items())),
    )


def _incremental(
    session: Session,
    owner: Owner,
    state: State,
    identity: OwnerIdentity,
    settings: Settings,
    *,
    now: datetime,
) -> tuple[_Derived, list[Msg], list[Meeting]] | None:
    """Derive for only the people something happened to since the last analysis, reading
    only their threads; None when a full run is due instead (deletions, the owner's
    decisions, a new owner address, a prior that moved, or too wide a change)."""
    if owner.analysed_at is None:
        return None
    owner_id = owner.id
    delta = load_delta(session, owner_id, owner.analysed_at)
    if delta.removed or delta.decided:
        return None
    fresh, _ = load_messages(session, owner_id, ids=delta.message_ids)
    if not set(owner_identity(session, owner, fresh).addresses) <= identity.addresses:
        return None
    profile = build_profile(owner, identity, settings)
    key_of = state.key_of()
    touched = {
        a for a in delta.addresses | dirty_addresses(session, owner_id) if not is_owner(a, profile)
    }
    limit = max(50, len(state.members) // 4)
    for _ in range(4):
        keys = {key_of[a] for a in touched if a in key_of}
        if len(keys) > limit:
            return None
        scope = touched | {a for k in keys for a in state.members[k]}
        ids = set(delta.message_ids).union(*(state.ids_of(k) for k in keys))
        meetings = load_meetings(
            session, owner_id, ids=set(delta.event_ids).union(*(state.events_of(k) for k in keys))
        )
        stored, recipient_names = load_messages(
            session, owner_id, ids=ids, threads=delta.threads, rfc822_ids=delta.replied_to
        )
        # everyone in a thread that changed may see its waiting state change
        wider = {
            a
            for items in group_threads(stored).values()
            if any(m.id in delta.message_ids for m in items)
            for m in items
            for a in (m.sender, *m.recipients)
            if a and a not in scope and not is_owner(a, profile)
        }
        if wider:
            touched |= wider
            continue
        try:
            derived = _derive(
                session,
                owner_id,
                stored,
                recipient_names,
                meetings,
                profile,
                now=now,
                state=state,
                scope=scope,
            )
        except _Widen as w:
            touched |= w.addresses
            continue
        return derived, stored, meetings
    return None


def analyse_owner(
    session: Session,
    owner_id: int,
    *,
    now: datetime,
    settings: Settings | None = None,
    detector: Detector | bool | None = True,
    full: bool = False,
) -> AnalysisSummary:
    """Analyse one owner: identities, automated senders, timelines, rhythm, strength, stage,
    waiting threads and commitments. Unless ``full``, only the people something happened to
    since the last analysis are re-analysed, from their threads alone (see
    agent/analysis/state.py); a full run reads everything and must give the same rows.
    ``detector=True`` means the real commitment detector (skipped if absent),
    ``None``/``False`` turns detection off, or pass any function with its signature."""
    with paused_gc():  # its records hold no cycles: see agent/core/gc_pause.py
        return _analyse(session, owner_id, now=now, settings=settings, detector=detector, full=full)


def _analyse(
    session: Session,
    owner_id: int,
    *,
    now: datetime,
    settings: Settings | None,
    detector: Detector | bool | None,
    full: bool,
) -> AnalysisSummary:
    started = time.perf_counter()
    started_at = clock.now()
    settings = settings or get_settings()
    summary = AnalysisSummary(owner_id)
    owner = session.get(Owner, owner_id)
    if owner is None:
        raise LookupError(f"no owner {owner_id}")
    if not full and _nothing_new(session, owner):
        summary.skipped = True
        summary.contacts_total = int(
            session.scalar(
                select(func.count()).select_from(Contact).where(Contact.owner_id == owner_id)
            )
            or 0
        )
        return summary
    detect = _default_detector() if detector is True else (detector or None)

    state = load_state(session, owner_id)
    result = None
    if (
        not full
        and state is not None
        and owner.analysed_at is not None
        and owner.identity
        and state.full_at
        and started_at - datetime.fromisoformat(state.full_at) < FULL_EVERY  # the one clock
    ):
        identity = OwnerIdentity(
            addresses=frozenset(owner.identity.get("addresses", [])),
            reasons={a: list(r) for a, r in owner.identity.get("reasons", {}).items()},
            name=str(owner.identity.get("name", "")),
            sign_off=str(owner.identity.get("sign_off", "")),
            sign_off_by_recipient=dict(owner.identity.get("sign_off_by_recipient", {})),
        )
        result = _incremental(session, owner, state, identity, settings, now=now)
        if result is not None:
            d = result[0]
            prior = prior_from_samples(d.samples.values())
            if len(state.prior) != len(prior.centers) or any(
                abs(a - b) > PRIOR_TOLERANCE
                for a, b in zip(state.prior, prior.centers, strict=True)
            ):
                result = None  # every row's score would move: rescore everyone
    incremental = result is not None
    if result is not None:
        derived, stored, meetings = result
        store_duplicates(session, owner_id, derived.copies, among={m.id for m in stored})
        prior_kept = list(state.prior) if state is not None else []
    else:
        stored, recipient_names = load_messages(session, owner_id)
        meetings = load_meetings(session, owner_id)
        copies = duplicate_copies(stored)
        identity = owner_identity(session, owner, [m for m in stored if m.id not in copies])
        if owner.identity != identity.as_dict():
            owner.identity = identity.as_dict()
        profile = build_profile(owner, identity, settings)
        derived = _derive(
            session, owner_id, stored, recipient_names, meetings, profile, now=now, copies=copies
        )
        store_duplicates(session, owner_id, derived.copies)
        prior_kept = []
    d = derived
    profile = d.profile
    members = d.members
    prior = prior_from_samples(d.samples.values())
    if not incremental:
        prior_kept = [float(x) for x in prior.centers]
    summary.incremental = incremental
    assignment = assign_contacts(
        session,
        owner_id,
        {k: members[k] for k in d.keys} if incremental else members,
        d.names,
        full=not incremental,
        only=incremental,
    )
    contact_id_of = _contact_ids(session, owner_id)
    summary.contacts_created = assignment.created
    summary.contacts_merged = assignment.merged

    threads_of = group_threads(d.personal)
    latencies = reply_latencies(d.personal, profile, d.identities.cluster_of, threads=threads_of)
    automated_addrs = {a for k in d.automated_keys for a in members[k]}
    threads = thread_states(
        d.personal, profile, now=now, automated=automated_addrs, threads=threads_of
    )
    threads_by_key: dict[str, list[dict[str, object]]] = defaultdict(list)
    for t in threads:
        for a in t.people:
            if a in d.identities.cluster_of:
                threads_by_key[d.identities.cluster_of[a]].append(t.as_dict())
    summary.waiting_for_owner = sum(1 for t in threads if t.waiting == "owner")
    summary.owner_waiting = sum(1 for t in threads if t.waiting == "them")
    greetings = learn_greetings(d.msgs, profile.addresses)
    signatures = learn_signatures(d.personal, profile.addresses)

    # only the people this run derived; anyone else left dirty waits for the next run
    dirty_keys = set(d.keys)
    if assignment.dirty_keys - d.keys:
        owner.analysis_due_at = clock.now()
    if detect is not None and dirty_keys:
        summary.commitments_upserted = store_commitments(
            session,
            owner_id,
            d.personal,
            profile,
            detect,
            contact_id_of={
                a: contact_id_of[a]
                for k in members
                if k not in d.automated_keys
                for a in members[k]
                if a in contact_id_of
            },
            only={a for k in dirty_keys for a in members[k] if k not in d.automated_keys},
            since=now - timedelta(days=settings.sync.text_days),
            now=now,
            meetings=meetings,
        )
    settle_acknowledged(session, owner_id, now=now)
    promise_counts = _promise_counts(session, owner_id)
    aging: dict[str, list[Any]] = {}
    for key in sorted(dirty_keys):
        record = _write_contact(
            assignment.contacts[key],
            key,
            d,
            now=now,
            prior=prior,
            latencies=latencies,
            promise_counts=promise_counts,
            threads=threads_by_key.get(key, []),
            greetings=greetings,
            signatures=signatures,
            summary=summary,
        )
        if record is not None:
            aging[key] = record
    if incremental and state is not None:
        # everyone else's overdue score ages from what the state keeps (issue 18)
        scores: dict[int, float | None] = dict(
            session.execute(
                select(Contact.id, Contact.overdue_score).where(Contact.owner_id == owner_id)
            ).all()
        )
        changes = []
        for key, record in state.aging.items():
            if key in d.keys or key not in members or key in d.automated_keys:
                continue
            aging[key] = record
            cid = contact_id_of.get(members[key][0])
            aged = _aged_overdue(record, state.prior, now)
            if cid is not None and aged is not None and scores.get(cid) != aged:
                changes.append({"cid": cid, "score": aged})
        if changes:
            t = Contact.__table__
            session.execute(
                update(t)
                .where(t.c.owner_id == owner_id, t.c.id == bindparam("cid"))
                .values(overdue_score=bindparam("score")),
                changes,
            )
    new_state = _next_state(d, prior_kept, state if incremental else None, aging)
    new_state.full_at = (
        state.full_at if incremental and state is not None else started_at.isoformat()
    )
    save_state(session, owner_id, new_state)
    owner.analysed_at = started_at  # the one clock: compared with rows' updated_at
    if owner.analysis_due_at is not None and owner.analysis_due_at <= started_at:
        owner.analysis_due_at = None
    summary.contacts_total = len(members)
    session.flush()
    summary.seconds = time.perf_counter() - started
    log.info(
        "analysis done",
        owner_id=owner_id,
        contacts=summary.contacts_total,
        analysed=summary.contacts_analysed,
        incremental=incremental,
        seconds=round(summary.seconds, 2),
    )
    return summary


def _write_contact(
    contact: Contact,
    key: str,
    d: _Derived,
    *,
    now: datetime,
    prior: GapPrior,
    latencies: dict[str, tuple[list[float], list[float]]],
    promise_counts: dict[int, tuple[int, int]],
    threads: list[dict[str, object]],
    greetings: dict[str, Counter[str]],
    signatures: dict[str, Counter[str]],
    summary: AnalysisSummary,
) -> list[Any] | None:
    """Write one person's row; returns what refreshing its overdue score later needs."""
    addrs = d.members[key]
    profile = d.profile
    contact.is_internal = any(is_internal(a, profile) for a in addrs)
    contact.analysed_at = now
    contact.dirty = False
    if key in d.automated_keys:
        contact.is_automated = True
        contact.automated_reasons = sorted({r for a in addrs for r in d.verdicts[a].reasons})
        contact.strength = contact.typical_gap_days = contact.overdue_score = None
        contact.stage = ""
        contact.next_expected_at = None
        contact.analysis = {"automated": contact.automated_reasons, "addresses": addrs}
        summary.automated += 1
        return None
    own, theirs = latencies.get(key, ([], []))
    kept, late = promise_counts.get(contact.id, (0, 0))
    result = analyse_contact(
        d.timelines.get(key, []),
        now=now,
        prior=prior,
        owner_reply_hours=own,
        their_reply_hours=theirs,
        promises_kept=kept,
        promises_late=late,
    )
    contact.is_automated = False
    contact.automated_reasons = []
    contact.strength = result.strength
    contact.stage = result.stage
    contact.typical_gap_days, contact.overdue_score = card_figures(result)
    contact.next_expected_at = result.next_expected_at
    contact.first_interaction_at = result.first_at
    contact.last_interaction_at = result.last_at
    contact.interaction_count = result.interaction_count
    greet = greeting_name(
        addrs[0],
        next((d.names[a] for a in addrs if d.names.get(a)), ""),
        greetings,
        signatures,
        addresses=addrs[1:],
    )
    contact.analysis = {
        **result.reasons,
        "greeting": {"name": greet.name, "source": greet.source},
        "p_interact_30d": None
        if result.p_interact_30d is None
        else round(result.p_interact_30d, 3),
        "addresses": addrs,
        "merged": d.identities.reasons.get(key, []),
        "threads": threads,
        "promises": {"kept": kept, "late": late},
    }
    summary.contacts_analysed += 1
    return _aging(result, d.timelines.get(key, []), now)


def _aging(
    result: ContactAnalysis, timeline: Sequence[Interaction], now: datetime
) -> list[Any] | None:
    """What :func:`_aged_overdue` needs to age this contact's overdue score (the figure
    :func:`card_figures` shows) without re-reading its mail: the last personal interaction
    and the drift threshold, or the fitted rhythm's own kernels."""
    drift = result.reasons.get("drift") or {}
    typical, threshold = drift.get("typical_quiet_days"), drift.get("threshold_days")
    if typical is not None and threshold:
        last = max((i.at for i in personal(timeline) if i.at <= now), default=None)
        return None if last is None else ["drift", last.isoformat(), float(threshold)]
    r = result.rhythm
    if r is None:
        return None
    n = r.n_gaps
    return [
        "rhythm",
        r.last_at,
        [float(x) for x in r.centers[:n]],
        [float(x) for x in r.weights[:n]],
        float(r.weights[n]) if r.weights.size > n else 0.0,
        float(r.bandwidths[0]) if n else 0.0,
        float(r.bandwidths[n]) if r.bandwidths.size > n else 0.0,
    ]


def _aged_overdue(aging: Sequence[Any], prior: Sequence[float], now: datetime) -> float | None:
    """The overdue score at ``now`` of a contact :func:`_aging` described (a rhythm's prior
    kernels are the last full run's: within :data:`PRIOR_TOLERANCE` of its own)."""
    if aging[0] == "drift":
        last = datetime.fromisoformat(aging[1])
        silence = max(0.0, (now - last).total_seconds() / 86400.0)
        return round(round(silence, 1) / float(aging[2]), 2)
    _, last_at, own_c, own_w, w_prior, h, h_prior = aging
    centers = [*own_c, *prior]
    weights = [*own_w, *([w_prior] * len(prior))]
    bandwidths = [*([h] * len(own_c)), *([h_prior] * len(prior))]
    return overdue_from(to_days(now), float(last_at), centers, weights, bandwidths)


def _contact_ids(session: Session, owner_id: int) -> dict[str, int]:
    """Every known address's contact row id (light: two columns)."""
    return dict(
        session.execute(
            select(ContactIdentity.address, ContactIdentity.contact_id).where(
                ContactIdentity.owner_id == owner_id
            )
        ).all()
    )


def card_figures(result: ContactAnalysis) -> tuple[float | None, float | None]:
    """(usual gap, overdue score) shown for a contact: one model with the drift verdict.
    When the drift model judged an established rhythm, the usual gap is its typical quiet
    spell between conversations and the overdue score the silence over the silence it
    calls drifting (above 1 = drifting); else the cadence model's figures."""
    drift = result.reasons.get("drift") or {}
    typical, threshold = drift.get("typical_quiet_days"), drift.get("threshold_days")
    if typical is not None and threshold:
        return float(typical), round(float(drift.get("silence_days") or 0.0) / float(threshold), 2)
    return result.typical_gap_days, result.overdue_score


def _promise_counts(session: Session, owner_id: int) -> dict[int, tuple[int, int]]:
    rows = session.execute(
        select(Commitment.contact_id, Commitment.state, func.count())
        .where(
            Commitment.owner_id == owner_id,
            Commitment.direction == "by_owner",
            Commitment.kind == "commitment",
            Commitment.contact_id.is_not(None),
        )
        .group_by(Commitment.contact_id, Commitment.state)
    ).all()
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for cid, state, n in rows:
        if state == "kept":
            out[cid][0] += n
        elif state == "late":
            out[cid][1] += n
    return {k: (v[0], v[1]) for k, v in out.items()}
