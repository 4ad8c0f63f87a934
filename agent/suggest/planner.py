"""Planning: rules -> Suggestion rows (deduplicated) -> OutboxOperation rows.

``plan_owner`` is idempotent: running it twice with the same store and ``now`` changes
nothing the second time. It never talks to a provider; the outbox does the writing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapportd.agent.core.errors import NotFound
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.settings import Settings
from rapportd.agent.outbox.queue import (
    DELETE_OP,
    create_op,
    create_op_name,
    draft_payload,
    enqueue,
    hold_payload,
    tag_of,
)
from rapportd.agent.store.models import Message, Mute, OutboxOperation, Owner, Suggestion
from rapportd.agent.store.sync_status import WINDOW_KINDS
from rapportd.agent.suggest import promise_rules, rules
from rapportd.agent.suggest.coherence import PERSONAL_KINDS, coherent, person_key
from rapportd.agent.suggest.config import HOLD_KINDS, SuggestConfig, effective_config
from rapportd.agent.suggest.drafting import LLMDrafter, compose
from rapportd.agent.suggest.feedback import (
    MIN_SCORE,
    add_feedback,
    kind_status,
    score_factor,
    verdicts,
)
from rapportd.agent.suggest.moot import Live, moot_reason
from rapportd.agent.suggest.proposal import Proposal, clean_subject
from rapportd.agent.suggest.snapshot import Snapshot, load_snapshot
from rapportd.agent.suggest.style import Style, learn_style
from rapportd.agent.suggest.timeutil import local_day_bounds, quiet_end

if TYPE_CHECKING:
    from rapportd.agent.brief.prep import PrepPlan

log = get_logger(__name__)

RULES: dict[str, rules.Rule] = {
    "thank_you": rules.thank_you,
    "promise_hold": promise_rules.promise_hold,
    "promise_follow_up": promise_rules.promise_follow_up,
    "reply_needed": promise_rules.reply_needed,
    "nudge": promise_rules.nudge,
    "check_in": rules.check_in,
    "reconnect_hold": rules.reconnect_hold,
}
LIFETIME = {
    "thank_you": timedelta(days=7),
    "promise_follow_up": timedelta(days=7),
    "reply_needed": timedelta(days=14),
    "nudge": timedelta(days=14),
    "check_in": timedelta(days=14),
}
LIVE = ("proposed", "pending", "written", "snoozed")
REVIVABLE = ("dismissed", "moot", "expired")
OPEN_STATUSES = ("proposed", "pending", "written", "snoozed")  # waiting for the owner
STYLE_SAMPLES = 200
RECIPIENT_SAMPLES = 20


@dataclass
class PlanSummary:
    proposals: int = 0
    created: int = 0
    revived: int = 0
    enqueued: int = 0
    deferred: int = 0  # waiting for the daily cap
    moot: int = 0
    expired: int = 0
    unsnoozed: int = 0
    paused_kinds: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)


def propose(snap: Snapshot, now: datetime, kinds: Iterable[str]) -> list[Proposal]:
    """Every proposal of the given kinds (pure). A hold one rule proposes is busy time for
    the next, so two holds of one plan never share a slot."""
    out: list[Proposal] = []
    for kind in kinds:
        found = RULES[kind](snap, now)
        out.extend(found)
        holds = tuple(
            (p.hold_start, p.hold_end)
            for p in found
            if p.hold_start is not None and p.hold_end is not None
        )
        if holds:
            snap = replace(snap, own_holds=snap.own_holds + holds)
    return out


def _style(session: Session, owner: Owner) -> Style:
    texts = session.scalars(
        select(Message.new_text)
        .where(Message.owner_id == owner.id, Message.direction == "out", Message.new_text != "")
        .order_by(Message.sent_at.desc())
        .limit(STYLE_SAMPLES)
    ).all()
    identity = owner.identity or {}
    style = learn_style(texts, owner.display_name or str(identity.get("name") or ""))
    signed = str(identity.get("sign_off") or "")
    if signed and (not style.signature or "\n" not in style.signature):
        style = replace(style, signature=signed)  # the name the owner signs with ("Steve")
    return style


def _style_for(style: Style, owner: Owner, p: Proposal, snap: Snapshot) -> Style:
    """The owner's style as they write to this recipient: greeting, sign-off and tone
    learned from the owner's sent mail to them (two messages at least), else the owner's
    general style with the tone of the relationship's stage; signed as they sign to this
    recipient when that differs."""
    per = (owner.identity or {}).get("sign_off_by_recipient") or {}
    special = per.get(p.to[0][0]) if len(p.to) == 1 else None
    if special:
        style = replace(style, signature=str(special))
    if len(p.to) != 1:
        return style
    contact = snap.contact_for(p.to[0][0])
    addresses = contact.addresses | {p.to[0][0]} if contact is not None else {p.to[0][0]}
    texts = [
        m.text
        for m in snap.messages
        if m.direction == "out" and m.text and addresses.intersection(m.to)
    ][-RECIPIENT_SAMPLES:]
    if len(texts) >= 2:
        own = learn_style(texts)
        return replace(style, greeting=own.greeting, sign_off=own.sign_off, tone=own.tone)
    stage = contact.stage if contact is not None else ""
    return replace(style, tone="casual" if stage in ("trust", "bond") else style.tone)


def _examples(snap: Snapshot, p: Proposal) -> list[str]:
    """Up to three of the owner's own recent messages to this person (style examples for
    the LLM drafter)."""
    if len(p.to) != 1:
        return []
    contact = snap.contact_for(p.to[0][0])
    addresses = contact.addresses | {p.to[0][0]} if contact is not None else {p.to[0][0]}
    texts = [
        m.text.strip()
        for m in snap.messages
        if m.direction == "out"
        and m.text.strip()
        and not m.rapportd_tag
        and addresses.intersection(m.to)
    ]
    return texts[-3:]


def _subject(snap: Snapshot, p: Proposal) -> str:
    msg = snap.message(p.reply_to_message_id)
    if msg is None:
        return ""
    cleaned = clean_subject(msg.subject)
    return f"Re: {cleaned}" if cleaned else ""  # "Re:" alone: the template writes one


def _fill(
    s: Suggestion,
    p: Proposal,
    snap: Snapshot,
    style: Style,
    settings: Settings,
    llm: LLMDrafter | None,
    now: datetime,
    variant: int = 0,
) -> None:
    context = {**p.context, "variant": variant}
    draft = compose(
        p.kind,
        context,
        style,
        settings,
        subject=_subject(snap, p),
        llm=llm,
        is_hold=p.is_hold,
        examples=_examples(snap, p),
    )
    reasons = dict(p.reasons)
    reasons["drafter"] = draft.drafter
    if p.kind in LIFETIME:
        reasons["expires_at"] = (now + LIFETIME[p.kind]).isoformat()
    s.kind = p.kind
    s.evidence = p.evidence
    s.title = p.title
    s.reasons = reasons
    s.account_id = p.account_id
    s.contact_id = p.contact_id
    s.commitment_id = p.commitment_id
    s.event_id = p.event_id
    s.reply_to_message_id = p.reply_to_message_id
    s.to_addrs = [[e, snap.name_for(e, n)] for e, n in p.to]  # "Henrik Weber", never the address
    s.subject = draft.subject
    s.body = draft.body
    s.hold_start = p.hold_start
    s.hold_end = p.hold_end
    s.snoozed_until = None
    s.updated_at = now


def _live(s: Suggestion) -> Live:
    baseline = (s.reasons or {}).get("baseline_at")
    return Live(
        kind=s.kind,
        tag=tag_of(s),
        to_addrs=tuple(
            str(x[0]) if isinstance(x, list | tuple) else str(x) for x in s.to_addrs or []
        ),
        contact_id=s.contact_id,
        commitment_id=s.commitment_id,
        event_id=s.event_id,
        baseline_at=datetime.fromisoformat(baseline) if baseline else None,
    )


def retire(
    session: Session,
    s: Suggestion,
    status: str,
    *,
    now: datetime,
    final: str,
    ready_at: datetime | None = None,
) -> None:
    """End a live suggestion: cancel its unwritten op, or enqueue removing what was written
    (the outbox removes it only if the person has not touched it), at ``ready_at`` (now)."""
    op = create_op(session, s)
    s.status = status
    s.updated_at = now
    if op is None:
        return
    if op.state in ("pending", "failed"):
        op.state = final
        op.updated_at = now
    elif op.state in ("writing", "written"):
        enqueue(session, s, DELETE_OP[op.op], now=now, payload={"final": final}, ready_at=ready_at)


def _cap_full(session: Session, account_id: int, ready: datetime, cfg: SuggestConfig) -> bool:
    start, end = local_day_bounds(ready, cfg.tz)
    planned = func.coalesce(OutboxOperation.scheduled_at, OutboxOperation.ready_at)
    count = session.scalar(
        select(func.count(OutboxOperation.id)).where(
            OutboxOperation.account_id == account_id,
            OutboxOperation.op == "create_draft",
            planned >= start,
            planned < end,
        )
    )
    return (count or 0) >= cfg.drafts_per_account_per_day


def write_op(
    session: Session,
    s: Suggestion,
    *,
    now: datetime,
    timezone: str,
    ready_at: datetime | None = None,
) -> OutboxOperation:
    """Enqueue (or re-arm) the create op that writes ``s`` into the mailbox / calendar."""
    payload = hold_payload(s, timezone) if s.kind in HOLD_KINDS else draft_payload(session, s)
    op = enqueue(session, s, create_op_name(s), now=now, payload=payload, ready_at=ready_at)
    s.status = "pending"
    return op


def _evidence_at(p: Proposal, snap: Snapshot) -> datetime | None:
    """When the mail or meeting a proposal rests on happened (an ask, the owner's own ask, a
    promise's message, a meeting's end); None when it rests on none."""
    for key in ("baseline_at", "ended_at"):
        value = p.reasons.get(key)
        if isinstance(value, str) and value:
            return datetime.fromisoformat(value)
    if p.commitment_id is not None:
        promise = next((x for x in snap.promises if x.id == p.commitment_id), None)
        msg = snap.message(promise.message_id) if promise is not None else None
        if msg is not None:
            return msg.sent_at
    return None


def _rests_inside(p: Proposal, snap: Snapshot, edge: datetime) -> bool:
    """Recent first: only what rests on mail inside the window. An ask or a promise older
    than it may have its answer or delivery in what is still syncing: a stream's first pages
    reach past the window's edge, the owner's sent items may not yet (a reply owed planned
    on the inbox's older pages was written, then withdrawn as answered, seconds later)."""
    at = _evidence_at(p, snap)
    return at is None or at >= edge


def plan_owner(
    session: Session, owner_id: int, *, now: datetime, settings: Settings, window_days: int = 0
) -> PlanSummary:
    """Turn the owner's current inferences into suggestions and outbox operations.

    ``window_days``: only the last days of the owner's history are synced yet (recent
    first, :mod:`rapportd.agent.store.sync_status`): only the kinds such a window supports are
    planned, each marked as based on it (``reasons["window_days"]``)."""
    owner = session.get(Owner, owner_id)
    if owner is None:
        raise NotFound(f"no owner {owner_id}")
    cfg = effective_config(
        settings,
        preferences=owner.preferences,
        timezone=owner.timezone,
        org_domains=owner.org_domains,
    )
    summary = PlanSummary()
    statuses = kind_status(session, owner_id, settings=settings)
    paused = {k.kind for k in statuses if k.paused}
    summary.paused_kinds = sorted(paused)
    active_kinds = [k for k in RULES if k in cfg.kinds and k not in paused]
    if window_days:
        active_kinds = [k for k in active_kinds if k in WINDOW_KINDS]
    snap = load_snapshot(session, owner, cfg, now=now)
    # a meeting's prep brief reads the contact's whole history: none in a recent-first window
    prep = None if window_days else _prep_plan(session, owner, snap, now=now)
    if prep is not None:  # the other rules' holds keep clear of the prep holds' slots
        snap = replace(snap, own_holds=snap.own_holds + prep.slots)
    muted = _muted(session, owner_id)
    history = verdicts(session, owner_id)
    existing = {
        s.dedupe_key: s
        for s in session.scalars(select(Suggestion).where(Suggestion.owner_id == owner_id))
    }
    open_keys: dict[str, set[str]] = defaultdict(set)
    for s in existing.values():
        if s.status in OPEN_STATUSES and s.kind in PERSONAL_KINDS:
            open_keys[person_key(s.contact_id, s.to_addrs or [], s.dedupe_key)].add(s.dedupe_key)
    proposals = coherent(
        [p for p in propose(snap, now, active_kinds) if not _is_muted(p, muted)],
        snap,
        open_keys=open_keys,
    )
    if window_days:
        edge = now - timedelta(days=window_days)
        proposals = [p for p in proposals if _rests_inside(p, snap, edge)]
    style: Style | None = None
    # each new draft of a kind gets the next wording, so no two open drafts read alike
    variants = Counter(s.kind for s in existing.values() if s.status in OPEN_STATUSES)
    llm = LLMDrafter(settings.llm) if settings.drafter == "llm" and settings.llm.enabled else None
    try:
        for p in sorted(proposals, key=lambda p: p.dedupe_key):
            score = p.score * score_factor(history, p.kind, p.contact_id)
            if score < MIN_SCORE or p.account_id is None:
                continue
            summary.proposals += 1
            summary.by_kind[p.kind] = summary.by_kind.get(p.kind, 0) + 1
            s = existing.get(p.dedupe_key)
            if s is not None and not (s.status in REVIVABLE and s.evidence != p.evidence):
                continue
            style = style or _style(session, owner)
            if s is None:
                s = Suggestion(owner_id=owner_id, dedupe_key=p.dedupe_key, created_at=now)
                session.add(s)
                existing[p.dedupe_key] = s
                summary.created += 1
            else:
                summary.revived += 1
            _fill(
                s, p, snap, _style_for(style, owner, p, snap), settings, llm, now, variants[p.kind]
            )
            if window_days:
                s.reasons = {**(s.reasons or {}), "window_days": window_days}
            variants[p.kind] += 1
            s.status = "proposed"
            s.score = round(score, 4)
            s.created_at = now
            session.flush()
    finally:
        if llm is not None:
            llm.close()

    _retire_moot_and_expired(session, snap, existing.values(), now=now, summary=summary)
    if prep is not None:
        _plan_prep_holds(session, snap, prep, now=now, summary=summary)
    _enqueue_proposed(session, existing.values(), cfg, now=now, paused=paused, summary=summary)
    session.flush()
    log.info(
        "plan_owner",
        owner_id=owner_id,
        **{k: v for k, v in summary.__dict__.items() if isinstance(v, int)},
    )
    return summary


def _prep_plan(session: Session, owner: Owner, snap: Snapshot, *, now: datetime) -> PrepPlan | None:
    """Meeting prep holds (agent/brief/prep.py; off unless the owner switched them on)."""
    if "prep_holds" not in (owner.preferences or {}):
        return None  # never configured: nothing to plan, nothing to remove
    from rapportd.agent.brief.prep import prep_plan

    return prep_plan(session, owner, snap, now=now)


def _plan_prep_holds(
    session: Session, snap: Snapshot, prep: PrepPlan, *, now: datetime, summary: PlanSummary
) -> None:
    from rapportd.agent.brief.prep import plan_prep_holds

    done = plan_prep_holds(session, snap, prep, now=now)
    if done.created or done.moved or done.kept:
        summary.by_kind["prep_hold"] = done.created + done.moved + done.kept


Muted = tuple[set[tuple[str, str]], set[tuple[str, int]]]


def _muted(session: Session, owner_id: int) -> Muted:
    """The owner's "never for this person" choices: (kind, address) and (kind, contact id)."""
    rows = session.execute(
        select(Mute.kind, Mute.address, Mute.contact_id).where(Mute.owner_id == owner_id)
    ).all()
    return (
        {(kind, address.lower()) for kind, address, _c in rows},
        {(kind, cid) for kind, _a, cid in rows if cid is not None},
    )


def _is_muted(p: Proposal, muted: Muted) -> bool:
    by_address, by_contact = muted
    if p.contact_id is not None and (p.kind, p.contact_id) in by_contact:
        return True
    return any((p.kind, email.lower()) in by_address for email, _name in p.to)


def _retire_moot_and_expired(
    session: Session,
    snap: Snapshot,
    suggestions: Iterable[Suggestion],
    *,
    now: datetime,
    summary: PlanSummary,
) -> None:
    for s in list(suggestions):
        if s.status not in LIVE:
            continue
        if s.status == "snoozed" and s.snoozed_until is not None and s.snoozed_until <= now:
            op = create_op(session, s)
            s.status = "written" if op is not None and op.state == "written" else "proposed"
            s.snoozed_until = None
            summary.unsnoozed += 1
        reason = moot_reason(_live(s), snap)
        if reason is not None:
            s.reasons = {**(s.reasons or {}), "moot": reason}
            retire(session, s, "moot", now=now, final="expired")
            summary.moot += 1
            continue
        expired = False
        if s.kind in HOLD_KINDS:
            expired = s.hold_start is not None and s.hold_start <= now and s.status != "written"
        elif s.kind in LIFETIME:
            expired = now >= s.created_at + LIFETIME[s.kind]
        if expired:
            was_written = s.status == "written"
            retire(session, s, "expired", now=now, final="expired")
            if was_written:
                add_feedback(session, s, "ignored", now=now)
            summary.expired += 1


def _enqueue_proposed(
    session: Session,
    suggestions: Iterable[Suggestion],
    cfg: SuggestConfig,
    *,
    now: datetime,
    paused: set[str],
    summary: PlanSummary,
) -> None:
    ready = quiet_end(now, cfg.quiet_hours, cfg.tz)
    waiting = sorted(
        (s for s in suggestions if s.status == "proposed" and s.account_id is not None),
        key=lambda s: (-s.score, s.id),
    )
    for s in waiting:
        if s.kind not in cfg.kinds or s.kind in paused:
            continue
        assert s.account_id is not None
        if s.kind not in HOLD_KINDS and _cap_full(session, s.account_id, ready, cfg):
            summary.deferred += 1
            continue
        write_op(session, s, now=now, timezone=cfg.timezone, ready_at=ready)
        summary.enqueued += 1
        session.flush()
