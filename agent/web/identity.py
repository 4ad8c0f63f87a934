"""Who the owner is and who is one person, on the web: what rapportd inferred, why, and the
owner's way to correct it (the same decisions as ``rapportd identity`` / ``rapportd people``).

- Settings lists the owner's addresses with the evidence for each ("Not mine" on each), a
  form to add one, and every correction made so far with an Undo.
- A contact's page lists the addresses counted as that person with the evidence of the
  merge, and "Not the same person" on each.

A correction is the owner's decision (it always wins over inference) and marks the owner's
analysis due: the next tick re-clusters and re-plans.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from rapportd.agent.analysis.store import record_decision
from rapportd.agent.core import clock
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Contact, ContactDecision, Owner
from rapportd.agent.web import queries
from rapportd.agent.web.auth import Viewer, require_viewer, sessions_of
from rapportd.agent.web.csrf import require_csrf

router = APIRouter(include_in_schema=False)

DECISION_LABELS = {
    "me": "is yours",
    "not_me": "is not yours",
    "merge": "are one person",
    "split": "are two people",
}


def identity_context(db: Session, owner: Owner) -> dict[str, Any]:
    """The owner's addresses with their evidence, sign-off, and the corrections made."""
    ident = dict(owner.identity or {})
    reasons = ident.get("reasons") or {}
    decisions = db.scalars(
        select(ContactDecision)
        .where(ContactDecision.owner_id == owner.id)
        .order_by(ContactDecision.created_at.desc())
    ).all()
    return {
        "addresses": [
            {"address": a, "why": "; ".join(reasons[a]) or "one of your accounts"}
            for a in sorted(reasons)
        ],
        "sign_off": ident.get("sign_off") or "",
        "decisions": [
            {
                "id": d.id,
                "text": " and ".join(a for a in (d.address_a, d.address_b) if a)
                + " "
                + DECISION_LABELS.get(d.decision, d.decision),
            }
            for d in decisions
        ],
    }


def merged_context(contact: Contact) -> list[dict[str, str]]:
    """Each other address counted as this person, with the evidence that merged it."""
    analysis = contact.analysis or {}
    addresses = [str(a) for a in analysis.get("addresses") or []]
    reasons = [str(r) for r in analysis.get("merged") or []]
    if len(addresses) < 2:
        return []
    first = addresses[0]
    return [
        {
            "first": first,
            "address": a,
            "why": "; ".join(r for r in reasons if a in r) or "; ".join(reasons),
        }
        for a in addresses[1:]
    ]


def _decide(request: Request, viewer: Viewer, decision: str, a: str, b: str = "") -> None:
    try:
        with transaction(sessions_of(request)) as db:
            record_decision(db, viewer.owner_id, decision, a, b)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None


@router.post("/settings/identity", dependencies=[Depends(require_csrf)])
def identity_submit(
    request: Request,
    decision: Annotated[str, Form(max_length=10)],
    address: Annotated[str, Form(max_length=320)],
    viewer: Viewer = Depends(require_viewer),
) -> Response:
    """ "Not mine" on one of the owner's addresses, or "this one is mine too"."""
    if decision not in ("me", "not_me"):
        raise HTTPException(status_code=422, detail="decision: one of me, not_me")
    _decide(request, viewer, decision, address)
    return RedirectResponse("/settings?saved=1#identity", status_code=303)


@router.post("/settings/decisions/{decision_id}/undo", dependencies=[Depends(require_csrf)])
def decision_undo(
    request: Request, decision_id: int, viewer: Viewer = Depends(require_viewer)
) -> Response:
    """Forget a correction: rapportd's own inference decides again."""
    with transaction(sessions_of(request)) as db:
        row = db.get(ContactDecision, decision_id)
        if row is None or row.owner_id != viewer.owner_id:
            raise HTTPException(status_code=404, detail="not found")
        db.delete(row)
        owner = db.get(Owner, viewer.owner_id)
        if owner is not None:
            owner.analysis_due_at = clock.now()
    return RedirectResponse("/settings?saved=1#identity", status_code=303)


@router.post("/contacts/{contact_id}/split", dependencies=[Depends(require_csrf)])
def contact_split(
    request: Request,
    contact_id: int,
    address: Annotated[str, Form(max_length=320)] = "",
    viewer: Viewer = Depends(require_viewer),
) -> Response:
    """Two addresses counted as one person are two people (another owner's contact: 404)."""
    with transaction(sessions_of(request)) as db:
        contact = queries.owned(db, Contact, viewer.owner_id, contact_id)
        addresses = [str(a) for a in (contact.analysis or {}).get("addresses") or []]
    other = address.strip().lower()
    if other not in addresses[1:]:
        raise HTTPException(status_code=422, detail="address: not one of this person's")
    _decide(request, viewer, "split", addresses[0], other)
    return RedirectResponse(f"/contacts/{contact_id}?split=1", status_code=303)
