"""Rules about meetings and silences: thank_you, check_in, reconnect_hold (pure).

Every rule is ``rule(snapshot, now) -> list[Proposal]`` and reads nothing but the snapshot.
The rules about promises and requests live in :mod:`rapportd.agent.suggest.promise_rules`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from rapportd.agent.inference.names import readable_name
from rapportd.agent.suggest.phrasing import (
    date_words,
    day_phrase,
    meeting_title,
    names_someone,
    promised_object,
    span_words,
    topic_of,
)
from rapportd.agent.suggest.proposal import Proposal, evidence_of
from rapportd.agent.suggest.snapshot import ContactSnap, MeetingSnap, Snapshot
from rapportd.agent.suggest.timeutil import free_slots

CHECK_IN_OVERDUE = 1.0  # overdue score: 1 = only one gap in ten was this long
CHECK_IN_MIN_INTERACTIONS = 3
RECONNECT_STRENGTH = 0.6
RECONNECT_MINUTES = 30
RECONNECT_HORIZON = timedelta(days=7)
RECONNECT_LEAD = timedelta(days=1)  # leave the owner a day to see the hold
RECENT = timedelta(days=7)  # someone written to this week is not drifting
INTERNAL_DAILY_DAYS = 7.0  # a colleague usually in touch more often than weekly

Rule = Callable[[Snapshot, datetime], list[Proposal]]


def busy_intervals(snap: Snapshot) -> list[tuple[datetime, datetime]]:
    """The owner's busy time from stored events: not declined, not cancelled, not transparent;
    rapportd's own proposed holds count as busy too, so two holds never share a slot."""
    out = [
        (m.start, m.end)
        for m in snap.meetings
        if not m.deleted
        and m.status != "cancelled"
        and m.self_response != "declined"
        and m.transparency != "transparent"
    ]
    out.extend(snap.own_holds)
    return out


def external_attendees(snap: Snapshot, m: MeetingSnap) -> list[tuple[str, str]]:
    return [
        (p.email, p.name)
        for p in m.attendees
        if not p.is_self and p.response != "declined" and snap.is_external(p.email)
    ]


def wrote_to_since(
    snap: Snapshot, addresses: set[str], since: datetime, ignore_tag: str = ""
) -> bool:
    """Whether the owner sent anything to one of ``addresses`` at or after ``since``."""
    for msg in snap.messages:
        if msg.direction != "out" or msg.sent_at < since:
            continue
        if ignore_tag and msg.rapportd_tag == ignore_tag:
            continue
        if addresses.intersection(msg.recipients):
            return True
    return False


def meeting_excluded(snap: Snapshot, m: MeetingSnap) -> str | None:
    """Why a meeting gets no thank-you (None if it may)."""
    if m.deleted or m.status == "cancelled":
        return "cancelled"
    if m.self_response == "declined":
        return "declined"
    if m.rapportd_tag:
        return "rapportd's own hold"
    if m.all_day:
        return "all-day event"
    if len(m.attendees) >= snap.cfg.large_meeting_size:
        return "large meeting"
    if m.is_recurring:
        return "recurring meeting"
    if not external_attendees(snap, m):
        return "internal meeting"
    return None


def thank_you(snap: Snapshot, now: datetime) -> list[Proposal]:
    window = timedelta(hours=snap.cfg.thank_you_window_hours)
    out: list[Proposal] = []
    for m in snap.meetings:
        if not (m.end <= now <= m.end + window) or meeting_excluded(snap, m):
            continue
        people = external_attendees(snap, m)
        if wrote_to_since(snap, {e for e, _ in people}, m.start):
            continue
        names = [snap.display_for(e, n) for e, n in people]
        contact = snap.contact_for(people[0][0])
        local = m.start.astimezone(snap.cfg.tz)
        title = meeting_title(m.summary)
        everyone = [snap.display_for(p.email, p.name) for p in m.attendees] + [snap.owner_name]
        if names_someone(title, everyone):
            title = ""  # "Call with Sofia García" says who, not what
        step, step_by = next_step(snap, m, {e for e, _ in people}, now)
        out.append(
            Proposal(
                kind="thank_you",
                dedupe_key=f"thank_you:{m.key}",
                evidence=evidence_of(m.start, m.end, sorted(e for e, _ in people)),
                title=f"Thank {', '.join(names)} for “{m.summary or 'the meeting'}”",
                reasons={
                    "why": f"You met {', '.join(names)} on {local:%A %d %B} ({m.summary or 'no title'}), "
                    "people outside your organisation, and have not written to them since.",
                    "meeting": m.summary,
                    "ended_at": m.end.isoformat(),
                },
                account_id=m.account_id,
                to=tuple(people),
                contact_id=contact.id if contact else None,
                event_id=m.id,
                score=0.8,
                context={
                    "first_name": snap.greeting_for(people[0][0], people[0][1]),
                    "names": [snap.greeting_for(e, n) for e, n in people],
                    "meeting_title": title,
                    "meeting_date": date_words(m.start, snap.cfg.tz),
                    "meeting_day": f"{local:%A}",
                    "stage": contact.stage if contact else "",
                    "next_step": step,
                    "next_step_by": step_by,
                },
            )
        )
    return out


def next_step(snap: Snapshot, m: MeetingSnap, people: set[str], now: datetime) -> tuple[str, str]:
    """The next step agreed in the meeting's thread: an open promise of the owner's to one
    of its people, made from the day before the meeting on, that names a deliverable
    ("the revised pricing", due "Friday"); ("", "") when there is none."""
    for p in sorted(snap.promises, key=lambda p: p.created_at or m.start):
        if p.kind != "commitment" or p.direction != "by_owner" or p.state != "open":
            continue
        if p.to_addr not in people or (p.created_at and p.created_at < m.start - timedelta(days=1)):
            continue
        obj = promised_object(p.text)
        if obj and obj != "an answer":  # "you'll have an answer" says nothing agreed
            due = day_phrase(p.due_at, now, snap.cfg.tz) if p.due_at and p.due_at > now else ""
            return obj, due
    return "", ""


TOPIC_MAX_RECIPIENTS = 5  # wider than this, a message is a circular, not a conversation


def last_topic(snap: Snapshot, c: ContactSnap) -> str:
    """The subject of the last exchange between the owner and ``c`` when it is a real topic
    (not a greeting, small talk or a logistics question: :func:`phrasing.topic_of`), else "".
    An exchange is the owner writing to ``c`` or ``c`` writing to the owner, among a few
    people: a digest a third person sends to a list with both on it is no conversation of
    theirs ("How did “Energy Issues” turn out?" asked of a colleague on a news circular)."""
    for msg in reversed(snap.messages):
        if msg.is_automated or len(msg.recipients) > TOPIC_MAX_RECIPIENTS:
            continue
        if (msg.direction == "out" and c.addresses.intersection(msg.recipients)) or (
            msg.direction == "in" and msg.sender in c.addresses
        ):
            return topic_of(msg.subject)
    return ""


def usual_gap_days(c: ContactSnap) -> float | None:
    """The one figure for "how often you are usually in touch": the drift model's typical
    quiet spell between conversations when it judged the rhythm, else the cadence model's
    typical gap. Cards, reasons and the drift verdict all use this one."""
    if c.drift is not None and c.drift.get("typical_quiet_days") is not None:
        return float(c.drift["typical_quiet_days"])  # type: ignore[arg-type,unused-ignore]
    return c.typical_gap_days


def _in_touch_since(snap: Snapshot, c: ContactSnap, since: datetime) -> bool:
    """Whether any personal mail went between the owner and ``c`` at or after ``since``."""
    for msg in snap.messages:
        if msg.sent_at < since or msg.is_automated:
            continue
        if msg.sender in c.addresses or c.addresses.intersection(msg.recipients):
            return True
    return False


def _drifting(snap: Snapshot, now: datetime) -> list[ContactSnap]:
    """Contacts whose established rhythm has broken (see :mod:`rapportd.agent.inference.drift`:
    enough conversations over a long enough span, and a silence longer than any quiet spell
    seen with them). Rows analysed before drift existed fall back to the overdue score.

    Never drifting, whatever the stored verdict says (it was judged at analysis time): a
    person the owner exchanged mail with in the last :data:`RECENT` days; a silence shorter
    than the person's usual gap; an internal colleague the owner is usually in touch with
    every few days (a colleague seen daily is away or busy, not drifting)."""
    out = []
    for c in snap.contacts.values():
        if c.is_automated or not c.address or c.address in snap.owner_addresses:
            continue
        if c.last_interaction_at is None or c.last_interaction_at > now:
            continue
        if c.drift is not None:
            if c.drift.get("drifting") is not True:
                continue
        elif (
            c.interaction_count < CHECK_IN_MIN_INTERACTIONS
            or (c.overdue_score or 0.0) < CHECK_IN_OVERDUE
        ):
            continue
        usual = usual_gap_days(c)
        silence = (now - c.last_interaction_at).total_seconds() / 86400
        if silence < RECENT.days or (usual is not None and silence <= usual):
            continue
        if c.is_internal and usual is not None and usual < INTERNAL_DAILY_DAYS:
            continue
        if _in_touch_since(snap, c, now - RECENT):
            continue
        out.append(c)
    return out


def _silence_reasons(c: ContactSnap, now: datetime) -> dict[str, object]:
    assert c.last_interaction_at is not None
    days = (now - c.last_interaction_at).days
    usual = usual_gap_days(c)
    overdue = c.overdue_score
    name = readable_name(c.name, c.address) or c.address
    typical = f"{usual:.0f}" if usual else "?"
    why = (
        f"No contact with {name} for {days} days; you usually are in touch "
        f"every {typical} days (overdue score {overdue or 0:.1f}, "
        f"stage {c.stage or 'unknown'})."
    )
    if c.drift is not None and usual is not None:
        threshold = c.drift.get("threshold_days")
        if isinstance(threshold, int | float) and threshold > 0:
            overdue = round(days / threshold, 2)  # 1 = the silence the verdict calls drifting
        why = (
            f"No contact with {name} for {days} days; over "
            f"{c.drift.get('conversations')} conversations your quiet spells were usually "
            f"{usual:.0f} days and never longer than "
            f"{c.drift.get('longest_quiet_days'):.0f} (stage {c.stage or 'unknown'})."
        )
    return {
        "why": why,
        "drift": c.drift,
        "silence_days": days,
        "typical_gap_days": usual,
        "overdue_score": overdue,
        "stage": c.stage,
        "baseline_at": c.last_interaction_at.isoformat(),
    }


def check_in(snap: Snapshot, now: datetime) -> list[Proposal]:
    out = []
    for c in _drifting(snap, now):
        assert c.last_interaction_at is not None
        topic = last_topic(snap, c)
        out.append(
            Proposal(
                kind="check_in",
                dedupe_key=f"check_in:{c.id}:{c.last_interaction_at:%Y-%m-%d}",
                evidence=evidence_of(c.last_interaction_at),
                title=f"Check in with {snap.display_for(c.address, c.name)}",
                reasons=_silence_reasons(c, now),
                account_id=_account_for_contact(snap, c),
                to=((c.address, c.name),),
                contact_id=c.id,
                score=min(1.0, 0.4 + 0.2 * (c.overdue_score or 0.0)),
                context={
                    "first_name": snap.greeting_for(c.address, c.name),
                    "stage": c.stage,
                    "topic": topic,
                    "silence_days": (now - c.last_interaction_at).days,
                    "silence_words": span_words((now - c.last_interaction_at).days),
                },
            )
        )
    return out


def reconnect_hold(snap: Snapshot, now: datetime) -> list[Proposal]:
    cfg = snap.cfg
    busy = busy_intervals(snap)
    out = []
    for c in _drifting(snap, now):
        if (c.strength or 0.0) < RECONNECT_STRENGTH:
            continue
        assert c.last_interaction_at is not None
        slot = next(
            free_slots(
                busy,
                start=now + RECONNECT_LEAD,
                end=now + RECONNECT_LEAD + RECONNECT_HORIZON,
                minutes=RECONNECT_MINUTES,
                working_hours=cfg.working_hours,
                working_days=cfg.working_days,
                tz=cfg.tz,
            ),
            None,
        )
        if slot is None:
            continue
        busy.append(slot)
        reasons = _silence_reasons(c, now)
        reasons["why"] = f"{reasons['why']} A strong tie drifting: time to call or meet."
        out.append(
            Proposal(
                kind="reconnect_hold",
                dedupe_key=f"reconnect_hold:{c.id}:{c.last_interaction_at:%Y-%m-%d}",
                evidence=evidence_of(c.last_interaction_at),
                title=f"Call or meet {snap.display_for(c.address, c.name)}",
                reasons=reasons,
                account_id=_account_for_contact(snap, c),
                to=((c.address, c.name),),
                contact_id=c.id,
                hold_start=slot[0],
                hold_end=slot[1],
                score=min(1.0, 0.5 + 0.2 * (c.overdue_score or 0.0)),
                context={
                    "first_name": snap.greeting_for(c.address, c.name),
                    "name": snap.display_for(c.address, c.name),
                },
            )
        )
    return out


def _account_for_contact(snap: Snapshot, c: ContactSnap) -> int | None:
    """The account the owner last used with this contact, else the default account."""
    for msg in reversed(snap.messages):
        if msg.sender in c.addresses or c.addresses.intersection(msg.recipients):
            return msg.account_id
    return snap.default_account()
