"""The rows of ``rapportd contacts``: a contact's analysis as stored, read for one owner
through :mod:`rapportd.agent.store.review`, the query layer the review page uses too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapportd.agent.core import clock
from rapportd.agent.core.settings import Settings
from rapportd.agent.store import review
from rapportd.agent.store.models import Contact, Owner

SORTS = ("overdue", "strength", "last", "name", "stage", "rhythm")


def find_owner(session: Session, owner: str | None) -> Owner:
    """An owner by email or id; with none given, the only owner there is."""
    if owner:
        query = select(Owner).where(
            Owner.id == int(owner) if owner.isdigit() else Owner.email == owner.strip().lower()
        )
        found = session.scalars(query).first()
        if found is None:
            raise LookupError(f"no owner {owner!r}")
        return found
    owners = session.scalars(select(Owner).order_by(Owner.id).limit(2)).all()
    if len(owners) != 1:
        raise LookupError("several owners (or none): say which with --owner EMAIL")
    return owners[0]


def rhythm_text(contact: Contact) -> str:
    gap = contact.typical_gap_days
    if gap is None:
        return "-"
    conf = (contact.analysis or {}).get("rhythm", {}).get("confidence")
    unit = f"~{gap:.0f} d" if gap >= 1.5 else f"~{gap * 24:.0f} h"
    return f"every {unit}" + (f" (conf {conf:.2f})" if isinstance(conf, int | float) else "")


def contact_rows(
    session: Session,
    owner: str | None,
    *,
    sort: str = "overdue",
    limit: int = 50,
    include_automated: bool = False,
    analyse: bool = False,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The owner's contacts as the review page lists them (the same query and order, the
    same open-promise counts): highest first, names A to Z."""
    if sort not in SORTS:
        raise LookupError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
    found = find_owner(session, owner)
    now = now or clock.now()
    if analyse:
        from rapportd.agent.analysis.analyse import analyse_owner

        analyse_owner(session, found.id, now=now, settings=settings)
    promises = review.open_promises(session, found.id)
    rows = []
    contacts = review.contacts_sorted(
        session, found.id, sort=sort, descending=sort != "name", include_automated=include_automated
    )
    for c in contacts[:limit]:
        counts = promises.get(c.id, review.PromiseCounts())
        rows.append(
            {
                "id": c.id,
                "contact": c.primary_address,
                "name": c.display_name,
                "strength": c.strength,
                "stage": c.stage,
                "rhythm": rhythm_text(c),
                "typical_gap_days": c.typical_gap_days,
                "last_contact": c.last_interaction_at,
                "last_contact_local": review.day(c.last_interaction_at, found.timezone),
                "overdue_score": c.overdue_score,
                "open_promises": counts.total,
                "promised_by_you": counts.by_owner,
                "promised_to_you": counts.to_owner,
                "internal": c.is_internal,
                "automated": c.is_automated,
            }
        )
    return rows


def render_table(rows: list[dict[str, Any]], now: datetime | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    now = now or clock.now()
    table = Table(
        "contact",
        "strength",
        "stage",
        "rhythm",
        "last contact",
        "overdue",
        "open promises",
        title="contacts",
    )
    for r in rows:
        last = r["last_contact"]
        when = f"{r['last_contact_local']} ({(now - last).days} d ago)" if last else "-"
        who = f"{r['name']} <{r['contact']}>" if r["name"] else r["contact"]
        if r["automated"]:
            who += " [automated]"
        table.add_row(
            who,
            "-" if r["strength"] is None else f"{r['strength']:.2f}",
            r["stage"] or "-",
            r["rhythm"],
            when,
            "-" if r["overdue_score"] is None else f"{r['overdue_score']:.1f}",
            f"{r['promised_by_you']} by you · {r['promised_to_you']} to you",
        )
    Console().print(table)
