"""The edge of briefs: read one owner's snapshot from the store, build the briefs and add
links into the owner's own mailbox (the thread each piece of evidence came from)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapportd.agent.brief.build import build_briefs
from rapportd.agent.brief.model import Brief, Evidence, Fact, Suggestion, Topic
from rapportd.agent.core.settings import Settings
from rapportd.agent.store.links import thread_link
from rapportd.agent.store.models import Account, Commitment, Owner
from rapportd.agent.suggest.config import effective_config
from rapportd.agent.suggest.snapshot import load_snapshot


def resolved_map(session: Session, owner_id: int) -> dict[int, int]:
    """Commitment id -> the message that kept or answered it."""
    rows = session.execute(
        select(Commitment.id, Commitment.resolved_by_message_id).where(
            Commitment.owner_id == owner_id, Commitment.resolved_by_message_id.is_not(None)
        )
    ).all()
    return {cid: mid for cid, mid in rows if mid is not None}


def _linked(e: Evidence, accounts: dict[int, Account]) -> Evidence:
    account = accounts.get(e.account_id) if e.account_id is not None else None
    link = thread_link(account, thread_id=e.thread_id, message_id=e.provider_id)
    return replace(e, link=link or "")


def with_links(brief: Brief, accounts: dict[int, Account]) -> Brief:
    def fact(f: Fact) -> Fact:
        return replace(
            f,
            evidence=_linked(f.evidence, accounts),
            resolved_by=_linked(f.resolved_by, accounts) if f.resolved_by else None,
        )

    def topic(t: Topic) -> Topic:
        return replace(t, evidence=_linked(t.evidence, accounts))

    s = brief.suggestion
    suggestion: Suggestion = (
        replace(s, evidence=_linked(s.evidence, accounts)) if s.evidence is not None else s
    )
    return replace(
        brief,
        facts=tuple(fact(f) for f in brief.facts),
        topics=tuple(topic(t) for t in brief.topics),
        suggestion=suggestion,
    )


def load_briefs(
    session: Session,
    owner: Owner,
    settings: Settings,
    *,
    now: datetime,
    day: date | None = None,
    meeting_id: int | None = None,
) -> list[Brief]:
    """The owner's briefs (see :func:`rapportd.agent.brief.build.meetings_to_brief`)."""
    cfg = effective_config(
        settings,
        preferences=owner.preferences,
        timezone=owner.timezone,
        org_domains=owner.org_domains,
    )
    snap = load_snapshot(session, owner, cfg, now=now)
    briefs = build_briefs(
        snap, now, day=day, meeting_id=meeting_id, resolved_by=resolved_map(session, owner.id)
    )
    accounts = {
        a.id: a for a in session.scalars(select(Account).where(Account.owner_id == owner.id))
    }
    return [with_links(b, accounts) for b in briefs]
