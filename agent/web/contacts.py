"""Contacts: strength, stage, rhythm, overdue score and open promises both ways, sortable,
and a detail page with the interaction timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from rapportd.agent.core import clock
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Contact
from rapportd.agent.web import queries
from rapportd.agent.web.auth import Viewer, require_viewer, sessions_of
from rapportd.agent.web.charts import describe_gap, interaction_chart, rhythm_sentence
from rapportd.agent.web.identity import merged_context
from rapportd.agent.web.presenters import day, when
from rapportd.agent.web.render import render

router = APIRouter(include_in_schema=False)

COLUMNS = [
    ("name", "Name"),
    ("strength", "Strength"),
    ("stage", "Stage"),
    ("rhythm", "Rhythm"),
    ("overdue", "Overdue"),
    ("last", "Last contact"),
]


@dataclass
class ContactRow:
    id: int
    name: str
    address: str
    strength: float | None
    stage: str
    rhythm: str
    typical_gap_days: float | None
    overdue_score: float | None
    last: str
    silence_days: int | None
    promised_by_you: int
    promised_to_you: int
    is_internal: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "extra"}


def contact_row(
    c: Contact, promises: queries.PromiseCounts, *, now: datetime, tz: str
) -> ContactRow:
    silence = (now - c.last_interaction_at).days if c.last_interaction_at else None
    return ContactRow(
        id=c.id,
        name=c.display_name or c.primary_address,
        address=c.primary_address,
        strength=round(c.strength, 2) if c.strength is not None else None,
        stage=c.stage,
        rhythm=f"every {describe_gap(c.typical_gap_days)}" if c.typical_gap_days else "",
        typical_gap_days=c.typical_gap_days,
        overdue_score=round(c.overdue_score, 2) if c.overdue_score is not None else None,
        last=day(c.last_interaction_at, tz),
        silence_days=silence,
        promised_by_you=promises.by_owner,
        promised_to_you=promises.to_owner,
        is_internal=c.is_internal,
    )


def contact_rows(
    db: Session, owner_id: int, *, sort: str, descending: bool, now: datetime, tz: str
) -> list[ContactRow]:
    promises = queries.open_promises(db, owner_id)
    return [
        contact_row(c, promises.get(c.id, queries.PromiseCounts()), now=now, tz=tz)
        for c in queries.contacts_sorted(db, owner_id, sort=sort, descending=descending)
    ]


@router.get("/contacts")
def contacts_page(
    request: Request,
    sort: str = "overdue",
    order: str = "desc",
    viewer: Viewer = Depends(require_viewer),
) -> Response:
    sort = sort if sort in queries.CONTACT_SORTS else "overdue"
    descending = order != "asc"
    with transaction(sessions_of(request)) as db:
        rows = contact_rows(
            db,
            viewer.owner_id,
            sort=sort,
            descending=descending,
            now=clock.now(),
            tz=viewer.timezone,
        )
    return render(
        request,
        "contacts.html",
        {"rows": rows, "columns": COLUMNS, "sort": sort, "descending": descending},
        active="contacts",
    )


def contact_detail(
    db: Session, owner_id: int, contact_id: int, *, now: datetime, tz: str
) -> dict[str, Any]:
    c = queries.owned(db, Contact, owner_id, contact_id)
    row = contact_row(
        c, queries.open_promises(db, owner_id).get(c.id, queries.PromiseCounts()), now=now, tz=tz
    )
    addresses = queries.contact_addresses(db, owner_id, c)
    points = queries.interactions(db, owner_id, addresses, since=now - timedelta(weeks=104))
    commitments = [
        {
            "id": k.id,
            "kind": k.kind,
            "direction": k.direction,
            "text": k.text,
            "due": day(k.due_at, tz),
            "state": k.state,
        }
        for k in queries.contact_commitments(db, owner_id, c.id)
    ]
    return {
        "contact": row,
        "addresses": addresses,
        "rhythm_sentence": rhythm_sentence(c.typical_gap_days, row.silence_days),
        "next_expected": when(c.next_expected_at, tz),
        "first": day(c.first_interaction_at, tz),
        "interaction_count": c.interaction_count,
        "chart": interaction_chart(
            points,
            end=now,
            weeks=104,
            width=640,
            height=120,
            expected_at=c.next_expected_at,
            label=f"Interactions with {row.name}",
        ),
        "commitments": commitments,
        "merged": merged_context(c),
        "greeting": ((c.analysis or {}).get("greeting") or {}).get("name") or "",
        "automated": list(c.automated_reasons or []),
        "analysis": {
            k: v for k, v in (c.analysis or {}).items() if isinstance(v, str | int | float)
        },
    }


@router.get("/contacts/{contact_id}")
def contact_page(
    request: Request, contact_id: int, viewer: Viewer = Depends(require_viewer)
) -> Response:
    with transaction(sessions_of(request)) as db:
        detail = contact_detail(
            db, viewer.owner_id, contact_id, now=clock.now(), tz=viewer.timezone
        )
    return render(request, "contact.html", detail, active="contacts")
