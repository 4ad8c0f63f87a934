"""Per-owner settings: kinds on/off, the daily cap, quiet and working hours, working days,
time zone, organisation domains and an optional LLM endpoint.

Stored on the owner: ``Owner.preferences["suggestions"]`` (same keys as
``settings.suggestions``, read by the planner through ``effective_config``),
``Owner.preferences["llm"]`` (``base_url``, ``model``; the API key stays in the server's
settings, never in the database), ``Owner.org_domains`` and ``Owner.timezone``.
Everything is validated by :class:`OwnerSettings` before it is stored.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy.orm import Session

from rapportd.agent.brief.prep import MEETING_KINDS, PrepHoldSettings
from rapportd.agent.core import clock
from rapportd.agent.core.errors import NotFound
from rapportd.agent.core.settings import SUGGESTION_KINDS, Settings, SuggestionSettings
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Owner
from rapportd.agent.suggest import actions
from rapportd.agent.suggest.config import owner_overrides
from rapportd.agent.suggest.feedback import kind_status, resume_kind
from rapportd.agent.web.auth import Viewer, require_viewer, sessions_of
from rapportd.agent.web.briefs import current_prep, store_prep
from rapportd.agent.web.csrf import require_csrf
from rapportd.agent.web.identity import identity_context
from rapportd.agent.web.presenters import KIND_LABELS
from rapportd.agent.web.render import render

router = APIRouter(include_in_schema=False)

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class OwnerSettings(BaseModel):
    """What an owner may change about rapportd's behaviour for them."""

    kinds: list[str] = Field(default_factory=list, max_length=len(SUGGESTION_KINDS))
    drafts_per_account_per_day: int = Field(default=10, ge=0, le=200)
    quiet_hours: str = Field(default="21:00-07:00", max_length=20)
    working_hours: str = Field(default="09:00-17:30", max_length=20)
    working_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], max_length=7)
    timezone: str = Field(default="UTC", max_length=64)
    org_domains: list[str] = Field(default_factory=list, max_length=50)
    llm_base_url: str = Field(default="", max_length=500)
    llm_model: str = Field(default="", max_length=200)

    @field_validator("kinds", "quiet_hours", "working_hours", "working_days")
    @classmethod
    def _as_suggestion_settings(cls, value: Any, info: Any) -> Any:
        SuggestionSettings(**{info.field_name: value})  # its validators, its messages
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as 'Europe/Paris'") from None
        return value

    @field_validator("org_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        cleaned = []
        for raw in value:
            d = raw.strip().lower().lstrip("@")
            if not d:
                continue
            if "." not in d or any(ch in d for ch in " /:@") or len(d) > 253:
                raise ValueError(f"{d!r} is not a domain such as 'example.com'")
            cleaned.append(d)
        return sorted(set(cleaned))

    @field_validator("llm_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("the LLM endpoint must be an http(s) URL")
        return value


def current(owner: Owner, settings: Settings) -> OwnerSettings:
    base = settings.suggestions.model_dump()
    base.update(owner_overrides(owner.preferences))
    llm = (owner.preferences or {}).get("llm") or {}
    return OwnerSettings.model_construct(
        kinds=list(base["kinds"]),
        drafts_per_account_per_day=base["drafts_per_account_per_day"],
        quiet_hours=base["quiet_hours"],
        working_hours=base["working_hours"],
        working_days=list(base["working_days"]),
        timezone=owner.timezone or settings.default_timezone,
        org_domains=list(owner.org_domains or []),
        llm_base_url=str(llm.get("base_url", "")),
        llm_model=str(llm.get("model", "")),
    )


def store(owner: Owner, new: OwnerSettings) -> None:
    prefs = dict(owner.preferences or {})
    suggestions = dict(prefs.get("suggestions") or {})
    suggestions.update(
        kinds=new.kinds,
        drafts_per_account_per_day=new.drafts_per_account_per_day,
        quiet_hours=new.quiet_hours,
        working_hours=new.working_hours,
        working_days=sorted(set(new.working_days)),
    )
    prefs["suggestions"] = suggestions
    prefs["llm"] = {"base_url": new.llm_base_url, "model": new.llm_model}
    owner.preferences = prefs
    owner.org_domains = new.org_domains
    owner.timezone = new.timezone
    owner.analysis_due_at = clock.now()  # organisation domains change who is internal


def describe(error: ValidationError) -> list[str]:
    out = []
    for e in error.errors():
        field = ".".join(str(p) for p in e["loc"]) or "settings"
        out.append(f"{field}: {str(e['msg']).removeprefix('Value error, ')}")
    return out


def _owner(db: Session, viewer: Viewer) -> Owner:
    owner = db.get(Owner, viewer.owner_id)
    assert owner is not None  # the session row cascades with the owner
    return owner


def page(
    request: Request,
    viewer: Viewer,
    *,
    values: Any = None,
    prep: PrepHoldSettings | None = None,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    settings: Settings = request.app.state.settings
    with transaction(sessions_of(request)) as db:
        owner = _owner(db, viewer)
        shown = values if values is not None else current(owner, settings)
        prep_shown = prep if prep is not None else current_prep(owner)
        statuses = kind_status(db, viewer.owner_id, settings=settings)
        identity = identity_context(db, owner)
        muted = [
            {"id": m.id, "kind": KIND_LABELS.get(m.kind, m.kind), "address": m.address}
            for m in actions.mutes(db, viewer.owner_id)
        ]
    return render(
        request,
        "settings.html",
        {
            "s": shown,
            "errors": errors or [],
            "notice": notice,
            "kinds": [(k, KIND_LABELS.get(k, k)) for k in SUGGESTION_KINDS],
            "statuses": {st.kind: st for st in statuses},
            "days": list(enumerate(DAYS)),
            "muted": muted,
            "identity": identity,
            "prep": prep_shown,
            "meeting_kinds": [(k, MEETING_KIND_LABELS.get(k, k)) for k in MEETING_KINDS],
        },
        active="settings",
        status_code=status_code,
    )


@router.get("/settings")
def settings_page(
    request: Request, saved: int = 0, viewer: Viewer = Depends(require_viewer)
) -> Response:
    return page(request, viewer, notice="Saved." if saved else "")


@router.post("/settings", dependencies=[Depends(require_csrf)])
def settings_submit(
    request: Request,
    kinds: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    drafts_per_account_per_day: Annotated[str, Form(max_length=10)] = "10",
    quiet_hours: Annotated[str, Form(max_length=20)] = "",
    working_hours: Annotated[str, Form(max_length=20)] = "",
    working_days: Annotated[list[str], Form()] = [],  # noqa: B006
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
    org_domains: Annotated[str, Form(max_length=5000)] = "",
    llm_base_url: Annotated[str, Form(max_length=500)] = "",
    llm_model: Annotated[str, Form(max_length=200)] = "",
    viewer: Viewer = Depends(require_viewer),
) -> Response:
    raw: dict[str, Any] = {
        "kinds": kinds,
        "drafts_per_account_per_day": drafts_per_account_per_day,
        "quiet_hours": quiet_hours.strip(),
        "working_hours": working_hours.strip(),
        "working_days": working_days,
        "timezone": timezone.strip(),
        "org_domains": [d for d in org_domains.replace(",", "\n").splitlines() if d.strip()],
        "llm_base_url": llm_base_url,
        "llm_model": llm_model.strip(),
    }
    try:
        new = OwnerSettings(**raw)
    except ValidationError as exc:
        shown = OwnerSettings.model_construct(**{**raw, "working_days": _ints(working_days)})
        return page(request, viewer, values=shown, errors=describe(exc), status_code=422)
    with transaction(sessions_of(request)) as db:
        store(_owner(db, viewer), new)
    return RedirectResponse("/settings?saved=1", status_code=303)


def _ints(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()]


MEETING_KIND_LABELS = {"one_off": "One-off meetings", "recurring": "Recurring meetings"}


@router.post("/settings/prep-holds", dependencies=[Depends(require_csrf)])
def prep_holds_submit(
    request: Request,
    enabled: Annotated[str, Form(max_length=10)] = "",
    minutes: Annotated[str, Form(max_length=10)] = "15",
    min_size: Annotated[str, Form(max_length=10)] = "2",
    meeting_kinds: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    viewer: Viewer = Depends(require_viewer),
) -> Response:
    """Prep holds before meetings: on/off, their length, the smallest meeting, which kinds."""
    raw: dict[str, Any] = {
        "enabled": enabled == "on",
        "minutes": minutes,
        "min_size": min_size,
        "kinds": meeting_kinds,
    }
    try:
        new = PrepHoldSettings(**raw)
    except ValidationError as exc:
        shown = PrepHoldSettings.model_construct(**raw)
        return page(request, viewer, prep=shown, errors=describe(exc), status_code=422)
    with transaction(sessions_of(request)) as db:
        store_prep(_owner(db, viewer), new)
    return RedirectResponse("/settings?saved=1#prep", status_code=303)


@router.post("/settings/unmute/{mute_id}", dependencies=[Depends(require_csrf)])
def unmute(request: Request, mute_id: int, viewer: Viewer = Depends(require_viewer)) -> Response:
    """Undo a "never for this person": that kind of suggestion may come back for them."""
    try:
        with transaction(sessions_of(request)) as db:
            actions.unmute(db, viewer.owner_id, mute_id)
    except NotFound:
        raise HTTPException(status_code=404, detail="not found") from None
    return RedirectResponse("/settings?saved=1", status_code=303)


@router.post("/settings/resume/{kind}", dependencies=[Depends(require_csrf)])
def resume(request: Request, kind: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    if kind in SUGGESTION_KINDS:
        with transaction(sessions_of(request)) as db:
            resume_kind(db, viewer.owner_id, kind, now=clock.now())
    return RedirectResponse("/settings?saved=1", status_code=303)
