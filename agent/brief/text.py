"""A brief as plain text: the prep hold's description and ``rapportd brief`` without colour.
Each fact is followed by its evidence (date, subject and the message's id)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rapportd.agent.brief.model import Brief, Evidence, Fact

HEADINGS = {
    "owner_promised": "You promised them",
    "they_asked": "They asked you",
    "they_promised": "They promised you",
    "owner_asked": "You asked them",
}


def state_label(f: Fact) -> str:
    """Whether it is done, in words."""
    if f.kind in ("owner_promised", "they_promised"):
        if f.done:
            return "done"
        return "late" if f.state == "late" else "open"
    return "answered" if f.done else "no answer seen"


def cite(e: Evidence, tz: ZoneInfo) -> str:
    ident = e.rfc822_id or e.provider_id or f"message {e.message_id}"
    subject = f" “{e.subject}”" if e.subject else ""
    return f"{e.sent_at.astimezone(tz):%d %b %Y}{subject} <{ident}>"


def as_text(brief: Brief) -> str:
    tz = ZoneInfo(brief.timezone)
    start = brief.start.astimezone(tz)
    lines = [
        f"{brief.title} — {start:%a %d %b %H:%M}–{brief.end.astimezone(tz):%H:%M}",
        "",
        "Who:",
        *(f"- {a.line}" for a in brief.attendees),
    ]
    for kind, heading in HEADINGS.items():
        facts = brief.of_kind(kind)
        if not facts:
            continue
        lines += ["", f"{heading}:"]
        for f in facts:
            due = f", due {f.due_at.astimezone(tz):%d %b}" if f.due_at and not f.done else ""
            lines.append(f"- “{f.text}” [{state_label(f)}{due}]")
            lines.append(f"  from {cite(f.evidence, tz)}")
            if f.resolved_by is not None:
                lines.append(f"  done in {cite(f.resolved_by, tz)}")
    if brief.topics:
        lines += ["", "Recent topics:"]
        for t in brief.topics:
            lines.append(f"- {t.subject} ({t.last_at.astimezone(tz):%d %b}, {t.messages} msg)")
            lines.append(f"  “{t.evidence.sentence}” — {cite(t.evidence, tz)}")
    lines += ["", f"Say or ask: {brief.suggestion.text}", f"  ({brief.suggestion.reason})"]
    return "\n".join(lines)
