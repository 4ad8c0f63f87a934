"""The impure edge of inference: load one owner's mail and meetings from the store, run the
pure functions of ``agent/inference`` and write contacts, identities and commitments back.

Re-analysis is incremental: the sync's store writer calls :func:`.dirty.mark_dirty` with the
addresses a batch touched, and :func:`analyse_owner` recomputes and rewrites only dirty
(or new, or re-clustered) contacts; every other contact row is left as it is. The owner's
pooled gap prior is rebuilt from all contacts each time (cheap), but only dirty rows change.
Pass ``full=True`` (e.g. once a day) to refresh every contact's overdue score as time passes.

Every query is filtered by ``owner_id``.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.settings import Settings, get_settings
from rapportd.agent.inference.bulk import bulk_messages, sender_signals
from rapportd.agent.inference.cadence import pooled_prior
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
from rapportd.agent.inference.threads import reply_latencies, thread_states
from rapportd.agent.inference.timeline import build_timeline
from rapportd.agent.inference.types import Msg, OwnerProfile
from rapportd.agent.store.models import (
    Account,
    CalendarEvent,
    Commitment,
    Contact,
    ContactDecision,
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
    waiting threads and commitments. Only dirty or new contacts are recomputed unless
    ``full``. ``detector=True`` means the real commitment detector (skipped if absent),
    ``None``/``False`` turns detection off, or pass any function with its signature."""
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

    stored, recipient_names = load_messages(session, owner_id)
    copies = duplicate_copies(stored)
    store_duplicates(session, owner_id, copies)
    msgs = [m for m in stored if m.id not in copies]
    meetings = load_meetings(session, owner_id)
    identity = owner_identity(session, owner, msgs)
    if owner.identity != identity.as_dict():
        owner.identity = identity.as_dict()
    profile = build_profile(owner, identity, settings)
    bulk = bulk_messages(msgs, profile.addresses)
    personal = [m for m in msgs if m.id not in bulk]
    verdicts = classify_senders(
        msgs, profile, meetings, flagged={i: sender_signals(r) for i, r in bulk.items()}
    )
    addresses = {a for a in verdicts if not is_owner(a, profile)}
    addresses |= {
        p.email.lower()
        for mt in meetings
        for p in mt.attendees
        if p.email and not p.is_self and not is_owner(p.email, profile)
    }
    names = _names(msgs, recipient_names)
    identities: Identities = merge_identities(
        addresses,
        names,
        reply_as=reply_as_pairs(msgs, profile),
        decisions=load_decisions(session, owner_id),
    )
    greetings = learn_greetings(msgs, profile.addresses)
    signatures = learn_signatures(personal, profile.addresses)
    members = identities.members()
    automated_keys = {
        k
        for k, addrs in members.items()
        if all(verdicts.get(a) is not None and verdicts[a].automated for a in addrs)
    }
    assignment = assign_contacts(session, owner_id, members, names, full=full)
    summary.contacts_created = assignment.created
    summary.contacts_merged = assignment.merged

    timelines = build_timeline(
        personal, meetings, profile, identities.cluster_of, now=now, excluded=automated_keys
    )
    prior = pooled_prior(personal_times(t) for t in timelines.values())
    latencies = reply_latencies(personal, profile, identities.cluster_of)
    automated_addrs = {a for k in automated_keys for a in members[k]}
    threads = thread_states(personal, profile, now=now, automated=automated_addrs)
    threads_by_key: dict[str, list[dict[str, object]]] = defaultdict(list)
    for t in threads:
        for a in t.people:
            if a in identities.cluster_of:
                threads_by_key[identities.cluster_of[a]].append(t.as_dict())
    summary.waiting_for_owner = sum(1 for t in threads if t.waiting == "owner")
    summary.owner_waiting = sum(1 for t in threads if t.waiting == "them")

    dirty_keys = assignment.dirty_keys
    if detect is not None and dirty_keys:
        summary.commitments_upserted = store_commitments(
            session,
            owner_id,
            personal,
            profile,
            detect,
            contact_id_of={
                a: assignment.contact_ids[k]
                for k in dirty_keys
                for a in members[k]
                if k not in automated_keys
            },
            since=now - timedelta(days=settings.sync.text_days),
            now=now,
            meetings=meetings,
        )
    settle_acknowledged(session, owner_id, now=now)
    promise_counts = _promise_counts(session, owner_id)
    for key in sorted(dirty_keys):
        contact = assignment.contacts[key]
        addrs = members[key]
        contact.is_internal = any(is_internal(a, profile) for a in addrs)
        contact.analysed_at = now
        contact.dirty = False
        if key in automated_keys:
            contact.is_automated = True
            contact.automated_reasons = sorted({r for a in addrs for r in verdicts[a].reasons})
            contact.strength = contact.typical_gap_days = contact.overdue_score = None
            contact.stage = ""
            contact.next_expected_at = None
            contact.analysis = {"automated": contact.automated_reasons, "addresses": addrs}
            summary.automated += 1
            continue
        own, theirs = latencies.get(key, ([], []))
        kept, late = promise_counts.get(contact.id, (0, 0))
        result = analyse_contact(
            timelines.get(key, []),
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
            next((names[a] for a in addrs if names.get(a)), ""),
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
            "merged": identities.reasons.get(key, []),
            "threads": threads_by_key.get(key, []),
            "promises": {"kept": kept, "late": late},
        }
        summary.contacts_analysed += 1
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
        seconds=round(summary.seconds, 2),
    )
    return summary


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
