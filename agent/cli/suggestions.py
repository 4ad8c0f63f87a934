"""``rapportd suggestions ...``: the review page's actions from a terminal.

    rapportd suggestions list [--view inbox|snoozed|done] [--status S] [--kind K] [--all] [--json]
    rapportd suggestions show ID
    rapportd suggestions accept ID | dismiss ID [--reason R]
    rapportd suggestions edit ID (--body TEXT | --body-file PATH) [--subject S] [--to ADDRS]
    rapportd suggestions snooze ID --until (2024-06-20T09:00 | 3d | 4h | 1w)
    rapportd suggestions undo          (the last action, within 15 seconds)
    rapportd suggestions plan | kinds | resume KIND

``--owner EMAIL`` picks the owner; without it, the only owner in the database. The lists
come from :mod:`rapportd.agent.store.review`, the query layer of the review page, and times are
shown in the owner's time zone, as on the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from rapportd.agent.core import clock
from rapportd.agent.core.errors import Conflict, NotFound
from rapportd.agent.store.models import Owner, Suggestion

suggestions_app = typer.Typer(
    help="Suggestions: list, show, accept, edit, snooze, dismiss (like the review page).",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)

OwnerOpt = Annotated[
    str | None, typer.Option("--owner", help="Owner's email (default: the only owner).")
]
IdArg = Annotated[int, typer.Argument(help="The suggestion's id (see `list`).")]


def register(app: typer.Typer) -> None:
    app.add_typer(suggestions_app, name="suggestions")


@contextmanager
def _session() -> Iterator[Session]:
    from rapportd.agent.core.settings import get_settings
    from rapportd.agent.store.db import open_store, session_factory, transaction

    engine = open_store(get_settings())
    try:
        with transaction(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _owner(session: Session, email: str | None) -> Owner:
    if email:
        owner = session.scalars(select(Owner).where(Owner.email == email.strip().lower())).first()
        if owner is None:
            raise typer.BadParameter(f"no owner {email}", param_hint="--owner")
        return owner
    owners = session.scalars(select(Owner).order_by(Owner.id).limit(2)).all()
    if len(owners) != 1:
        raise typer.BadParameter(
            "no owner yet" if not owners else "several owners: say which with --owner EMAIL",
            param_hint="--owner",
        )
    return owners[0]


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]rapportd:[/] {exc}", highlight=False)
    raise typer.Exit(1)


def parse_until(text: str, tz: str = "UTC", *, now: datetime | None = None) -> datetime:
    """``3d`` / ``4h`` / ``1w`` / ``30m`` from now, or an ISO date(-time) in the owner's zone."""
    now = now or clock.now()
    m = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text)
    if m:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
        return now + timedelta(**{unit: int(m.group(1))})
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: use 3d, 4h, 1w or 2024-06-20T09:00", param_hint="--until"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(UTC)


def _describe(s: Suggestion) -> dict[str, object]:
    return {
        "id": s.id,
        "kind": s.kind,
        "status": s.status,
        "title": s.title,
        "to": [x[0] if isinstance(x, list | tuple) else x for x in s.to_addrs],
        "subject": s.subject,
        "body": s.body,
        "hold_start": s.hold_start.isoformat() if s.hold_start else None,
        "hold_end": s.hold_end.isoformat() if s.hold_end else None,
        "snoozed_until": s.snoozed_until.isoformat() if s.snoozed_until else None,
        "reasons": s.reasons,
        "score": s.score,
        "created_at": s.created_at.isoformat(),
    }


@suggestions_app.command("list")
def list_cmd(
    owner: OwnerOpt = None,
    view: Annotated[
        str, typer.Option(help="inbox (waiting for you), snoozed or done: the page's tabs.")
    ] = "inbox",
    status: Annotated[str | None, typer.Option(help="Only this status (any view).")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every suggestion, any view.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List suggestions: by default the ones waiting for you (the review page's first tab)."""
    from rapportd.agent.core import clock
    from rapportd.agent.store import review
    from rapportd.agent.suggest.actions import list_suggestions

    if view not in review.VIEWS:
        raise typer.BadParameter(f"one of {', '.join(review.VIEWS)}", param_hint="--view")
    now = clock.now()
    with _session() as session:
        o = _owner(session, owner)
        if status or all_:
            items = list_suggestions(session, o.id, status=status, kind=kind)
        else:
            items = review.suggestions_in_view(session, o.id, view, now=now, kind=kind)
        if as_json:
            typer.echo(json.dumps([_describe(s) for s in items], indent=2, default=str))
            return
        counts = review.view_counts(session, o.id, now=now)
        tabs = " · ".join(f"{review.VIEW_LABELS[v]} {counts[v]}" for v in review.VIEWS)
        table = Table(
            "id", "kind", "status", "title", "when",
            title=f"suggestions of {o.email}: {tabs} (times in {o.timezone})",
        )  # fmt: skip
        for s in items:
            when = (
                review.when(s.hold_start, o.timezone)
                if s.hold_start
                else review.day(s.created_at, o.timezone)
            )
            table.add_row(str(s.id), s.kind, s.status, s.title, when)
        console.print(table)


@suggestions_app.command("show")
def show_cmd(suggestion_id: IdArg, owner: OwnerOpt = None) -> None:
    """Show one suggestion: the draft or hold, and why (times in the owner's zone)."""
    from rapportd.agent.store import review
    from rapportd.agent.suggest.actions import get_suggestion

    with _session() as session:
        o = _owner(session, owner)
        try:
            s = get_suggestion(session, o.id, suggestion_id)
        except NotFound as exc:
            _fail(exc)
        d = _describe(s)
        console.print(f"[bold]#{s.id} {s.kind}[/] ({s.status}) — {s.title}", highlight=False)
        console.print(f"why: {(s.reasons or {}).get('why', '')}", highlight=False)
        if review.basis_text(s.reasons or {}):
            console.print(review.basis_text(s.reasons or {}), highlight=False)
        if s.hold_start:
            end = f"{s.hold_end.astimezone(review.zone(o.timezone)):%H:%M}" if s.hold_end else ""
            console.print(
                f"hold: {review.when(s.hold_start, o.timezone)} – {end} ({o.timezone})",
                highlight=False,
            )
        if s.snoozed_until:
            console.print(f"snoozed until {review.when(s.snoozed_until, o.timezone)}")
        console.print(f"to: {', '.join(map(str, d['to']))}", highlight=False)  # type: ignore[call-overload]
        console.print(f"subject: {s.subject}\n", highlight=False)
        typer.echo(s.body)


def _act(verb: str, suggestion_id: int, owner: str | None, **kwargs: object) -> None:
    from rapportd.agent.suggest import actions

    with _session() as session:
        o = _owner(session, owner)
        if "until" in kwargs:
            kwargs["until"] = parse_until(str(kwargs["until"]), o.timezone)
        try:
            s = getattr(actions, verb)(session, o.id, suggestion_id, source="cli", **kwargs)
        except (NotFound, Conflict, ValueError) as exc:
            _fail(exc)
        seconds = int(actions.UNDO_WINDOW.total_seconds())
        console.print(
            f"#{s.id} {s.kind}: {s.status} (`rapportd suggestions undo` within {seconds} s)",
            highlight=False,
        )


@suggestions_app.command("accept")
def accept_cmd(suggestion_id: IdArg, owner: OwnerOpt = None) -> None:
    """Accept: write the draft now / confirm the hold."""
    _act("accept", suggestion_id, owner)


@suggestions_app.command("dismiss")
def dismiss_cmd(
    suggestion_id: IdArg,
    reason: Annotated[
        str,
        typer.Option(
            help="Why (optional): not_relevant, already_done, wrong_person, never_for_person "
            "(no more of this kind for this person)."
        ),
    ] = "",
    owner: OwnerOpt = None,
) -> None:
    """Dismiss: remove the draft or hold (unless you already changed it in your mailbox)."""
    _act("dismiss", suggestion_id, owner, reason=reason)


@suggestions_app.command("promise")
def promise_cmd(suggestion_id: IdArg, owner: OwnerOpt = None) -> None:
    """A reply owed: keep its acknowledgement's "I'll come back to you by …" as your promise
    (a hold to write the answer is placed before that date)."""
    from rapportd.agent.core import clock
    from rapportd.agent.suggest import actions

    with _session() as session:
        o = _owner(session, owner)
        try:
            made = actions.promise_to_answer(session, o.id, suggestion_id, now=clock.now())
        except (NotFound, Conflict) as exc:
            _fail(exc)
        due = made.due_at.astimezone(ZoneInfo(o.timezone or "UTC")) if made.due_at else None
        console.print(
            f"#{suggestion_id}: promised an answer by {due:%A %d %B %H:%M}" if due else "",
            highlight=False,
        )


@suggestions_app.command("undo")
def undo_cmd(owner: OwnerOpt = None) -> None:
    """Undo the last action (the review page's or the CLI's) while its writes still wait."""
    from rapportd.agent.core import clock
    from rapportd.agent.suggest import actions

    with _session() as session:
        o = _owner(session, owner)
        try:
            undone = actions.undo(session, o.id, now=clock.now())
        except Conflict as exc:
            _fail(exc)
        for s in undone:
            console.print(f"#{s.id} {s.kind}: back to {s.status}", highlight=False)


@suggestions_app.command("snooze")
def snooze_cmd(
    suggestion_id: IdArg,
    until: Annotated[str, typer.Option("--until", help="3d, 4h, 1w, or 2024-06-20T09:00.")],
    owner: OwnerOpt = None,
) -> None:
    """Put a suggestion off until a time."""
    _act("snooze", suggestion_id, owner, until=until)


@suggestions_app.command("edit")
def edit_cmd(
    suggestion_id: IdArg,
    body: Annotated[str | None, typer.Option(help="The new body text.")] = None,
    body_file: Annotated[Path | None, typer.Option(help="Read the new body from a file.")] = None,
    subject: Annotated[str | None, typer.Option(help="A new subject.")] = None,
    to: Annotated[
        str | None, typer.Option(help="New recipients: 'Ann <ann@x.org>, bob@y.org'.")
    ] = None,
    owner: OwnerOpt = None,
) -> None:
    """Change a draft's words; refused if you already changed it in your mailbox, or if the
    text is blank or too long, or a recipient is not an address."""
    if (body is None) == (body_file is None):
        raise typer.BadParameter("give exactly one of --body or --body-file")
    text = body if body is not None else body_file.read_text(encoding="utf-8")  # type: ignore[union-attr]
    _act("edit", suggestion_id, owner, body=text, subject=subject, to=to)


@suggestions_app.command("plan")
def plan_cmd(owner: OwnerOpt = None) -> None:
    """Run the rules once now and enqueue what they propose (the daemon does this itself)."""
    from rapportd.agent.core.settings import get_settings
    from rapportd.agent.suggest.planner import plan_owner

    with _session() as session:
        o = _owner(session, owner)
        summary = plan_owner(session, o.id, now=clock.now(), settings=get_settings())
        typer.echo(json.dumps(summary.__dict__, default=str))


@suggestions_app.command("kinds")
def kinds_cmd(owner: OwnerOpt = None) -> None:
    """Each kind: on or off, paused by feedback, acceptance rate."""
    from rapportd.agent.suggest.feedback import kind_status

    with _session() as session:
        table = Table("kind", "enabled", "paused", "accepted", "rate", "note")
        for k in kind_status(session, _owner(session, owner).id):
            rate = f"{k.acceptance_rate:.0%}" if k.acceptance_rate is not None else "-"
            table.add_row(
                k.kind, str(k.enabled), str(k.paused), f"{k.accepted}/{k.shown}", rate, k.reason
            )
        console.print(table)


@suggestions_app.command("resume")
def resume_cmd(
    kind: Annotated[str, typer.Argument(help="The paused kind.")], owner: OwnerOpt = None
) -> None:
    """Lift a pause on a kind (only new feedback counts towards the next one)."""
    from rapportd.agent.suggest.feedback import resume_kind

    with _session() as session:
        resume_kind(session, _owner(session, owner).id, kind, now=clock.now())
        console.print(f"{kind}: resumed")
