"""Mail that is not a person writing to the owner, recognised on real data: by its headers
(List-Id, List-Unsubscribe, Precedence, Auto-Submitted, Gmail categories: see
:func:`rapportd.agent.inference.people.message_signals`), by its content (system notices,
voicemail relays, approval workflows, newsletters), and by its shape (a bulletin: the same
subject from the same sender issue after issue, never answered; a broadcast to many).

Nothing is suggested about such mail: no reply owed, no nudge, no check-in, and it does not
count as being in touch. A sender whose mail is mostly of this kind is automated.

Pure: :func:`bulk_messages` gives each such message its reasons.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from rapportd.agent.inference.people import message_signals
from rapportd.agent.inference.types import Msg

BULLETIN_ISSUES = 3  # the same subject from one sender on this many days is a bulletin
BROADCAST_RECIPIENTS = 15  # mail to this many people is an announcement, not a conversation
SCAN_CHARS = 4000
BROADCAST = "sent to"

_CONTENT = [
    (
        "unsubscribe or mailing-list footer",
        re.compile(
            r"\bunsubscribe\b|\bto be removed from (?:this|our|the) (?:list|mailing)|"
            r"\byou are receiving this (?:e-?mail|message|newsletter)|"
            r"\bview (?:this|it) (?:e-?mail )?in your browser|\bmanage (?:your )?(?:e-?mail )?"
            r"(?:preferences|subscriptions)\b|\bopt[- ]out\b|"
            r"\babmelden\b|\bse d[ée]sinscrire\b|\bdarse de baja\b",
            re.I,
        ),
    ),
    (
        "automated notice",
        re.compile(
            r"\b(?:this|it) is an? (?:automated|automatic|system[- ]generated|computer[- ]"
            r"generated) (?:e-?mail|message|notice|notification|reminder)|"
            r"\b(?:please )?do not (?:reply|respond) (?:to|directly to) this (?:e-?mail|message)|"
            r"\bthis (?:e-?mail|message|mailbox) is not monitored\b|\bauto-?generated\b|"
            r"\bdiese (?:e-?mail|nachricht) wurde automatisch\b|"
            r"\bce (?:message|courriel|mail) (?:a été|est) (?:envoyé|généré) automatiquement\b|"
            r"\beste (?:mensaje|correo) (?:ha sido|fue|es) generado automáticamente\b",
            re.I,
        ),
    ),
    (
        "voicemail or fax relay",
        re.compile(
            r"\byou have (?:a |\d+ )?new (?:voice ?mail|voice message|fax)|"
            r"\bvoice ?mail (?:message )?from\b|\bfax (?:message )?from\b.*\bpages?\b|"
            r"\bmissed call from\b",
            re.I,
        ),
    ),
    (
        "workflow notification",
        re.compile(
            r"\b(?:has been|was) (?:submitted|routed|forwarded|assigned) (?:to you )?for your "
            r"(?:approval|review)|\b(?:awaiting|requires|pending|needs) your (?:approval|"
            r"electronic signature)\b|\b(?:expense report|invoice|purchase order|timesheet|"
            r"ticket|request) (?:#\s*)?\S*\s*(?:has been|was) (?:approved|rejected|submitted|"
            r"created|updated|closed)\b|\bclick (?:here|on the link below|the link below) "
            r"to (?:approve|review|view|log ?in|access)\b",
            re.I,
        ),
    ),
]


def sender_signals(reasons: Iterable[str]) -> list[str]:
    """The reasons that say something about the *sender*: a person who sends one memo to
    many colleagues is still a person (a broadcast owes no reply, but its author is no robot)."""
    return [r for r in reasons if not r.startswith(BROADCAST)]


def content_signals(text: str) -> list[str]:
    """Why a message's text reads as a notice or a newsletter rather than a person."""
    head = text[:SCAN_CHARS]
    return [why for why, rx in _CONTENT if rx.search(head)]


_REPLY = re.compile(r"^\s*(?:re|aw|sv|antw|r|rif)\s*:", re.I)


def _subject_key(subject: str) -> str:
    """A bulletin's subject without its issue number or date ("California Update 07.18.01"
    -> "california update")."""
    s = subject.lower()
    s = re.sub(r"^(?:\s*(?:re|fw|fwd|aw|wg|tr|rv)\s*:)+", "", s)
    s = re.sub(r"[\d/.\-:#]+", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def bulk_messages(msgs: Sequence[Msg], owner: Iterable[str]) -> dict[int, list[str]]:
    """``{message id: reasons}`` for received mail that is bulk, automated or a bulletin."""
    mine = {a.lower() for a in owner}
    out: dict[int, list[str]] = defaultdict(list)
    issues: dict[tuple[str, str], list[Msg]] = defaultdict(list)
    answered = {m.thread_id for m in msgs if m.direction == "out" and m.thread_id}
    for m in msgs:
        if m.direction != "in" or m.sender in mine:
            continue
        reasons = [s for s in message_signals(m) if s != "Auto-Submitted: auto-replied"]
        reasons += content_signals(m.text)
        if len(m.recipients) >= BROADCAST_RECIPIENTS:
            reasons.append(f"{BROADCAST} {len(m.recipients)} people")
        if reasons:
            out[m.id].extend(reasons)
        key = _subject_key(m.subject)
        if key and not _REPLY.match(m.subject):
            issues[(m.sender, key)].append(m)
    for group in issues.values():
        days = {m.sent_at.date() for m in group}
        if len(days) < BULLETIN_ISSUES:
            continue
        if 3 * sum(1 for m in group if m.thread_id in answered) > len(group):
            continue
        for m in group:
            out[m.id].append(f"a bulletin ({len(days)} issues of “{group[0].subject.strip()}”)")
    return dict(out)
