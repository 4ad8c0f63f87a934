"""``rapportd brief``: before meetings with people outside, what to remember about them.

    rapportd brief [--date 2024-06-13] [--meeting ID] [--owner EMAIL] [--json]

Without ``--date`` or ``--meeting``: every briefed meeting from now to the end of tomorrow
(the owner's zone). Each fact is shown with its evidence: the message's date, subject and
Message-ID, and the link to its thread when the provider gives one.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from rapportd.agent.brief.model import Brief, Evidence
from rapportd.agent.brief.text import HEADINGS, cite, state_label
from rapportd.agent.cli.people import JsonOpt, OwnerOpt, _owner, _session
from rapportd.agent.core import clock

console = Console()


def _cite(e: Evidence, brief: Brief) -> Text:
    from zoneinfo import ZoneInfo

    out = Text(f"  {cite(e, ZoneInfo(brief.timezone))}", style="dim")
    if e.link:
        out.append(f"  {e.link}", style="dim link " + e.link)
    return out


def render(brief: Brief) -> Panel:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(brief.timezone)
    parts: list[Text] = [Text("Who", style="bold")]
    parts += [Text(f"• {a.line}") for a in brief.attendees]
    for kind, heading in HEADINGS.items():
        facts = brief.of_kind(kind)
        if not facts:
            continue
        parts.append(Text(heading, style="bold"))
        for f in facts:
            label = state_label(f)
            style = "green" if f.done else ("red" if label == "late" else "yellow")
            line = Text(f"• “{f.text}” ")
            line.append(f"[{label}]", style=style)
            parts.append(line)
            parts.append(_cite(f.evidence, brief))
            if f.resolved_by is not None:
                parts.append(_cite(f.resolved_by, brief))
    if brief.topics:
        parts.append(Text("Recent topics", style="bold"))
        for t in brief.topics:
            parts.append(Text(f"• {t.subject} — “{t.evidence.sentence}”"))
            parts.append(_cite(t.evidence, brief))
    parts.append(Text("Say or ask", style="bold"))
    parts.append(Text(f"→ {brief.suggestion.text}", style="cyan"))
    parts.append(Text(f"  {brief.suggestion.reason}", style="dim"))
    start = brief.start.astimezone(tz)
    title = f"{start:%a %d %b %H:%M}–{brief.end.astimezone(tz):%H:%M}  {brief.title}"
    return Panel(
        Group(*parts), title=title, title_align="left", subtitle=f"meeting {brief.meeting_id}"
    )


def brief_command(
    day: Annotated[
        str | None, typer.Option("--date", help="A day (YYYY-MM-DD, your zone).")
    ] = None,
    meeting: Annotated[int | None, typer.Option("--meeting", help="One meeting's id.")] = None,
    owner: OwnerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Before meetings with people outside: who is coming, promises and asks both ways,
    recent topics and one thing to say, each fact with its evidence."""
    from rapportd.agent.brief.load import load_briefs
    from rapportd.agent.core.settings import get_settings

    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        raise typer.BadParameter(
            f"{day!r} is not a date like 2024-06-13", param_hint="--date"
        ) from None
    with _session() as session:
        row = _owner(session, owner)
        briefs = load_briefs(
            session, row, get_settings(), now=clock.now(), day=when, meeting_id=meeting
        )
    if as_json:
        typer.echo(json.dumps([b.as_dict() for b in briefs], indent=2))
        return
    if not briefs:
        what = (
            f"meeting {meeting}" if meeting is not None else (day or "now to the end of tomorrow")
        )
        console.print(f"No meeting with people outside your organisation to brief ({what}).")
        return
    for b in briefs:
        console.print(render(b))


def prep_holds_command(
    on: Annotated[
        bool | None, typer.Option("--on/--off", help="Switch prep holds on or off.")
    ] = None,
    minutes: Annotated[int | None, typer.Option(help="The hold's length (5-120).")] = None,
    min_size: Annotated[
        int | None, typer.Option(help="Fewest attendees, you included (default 2).")
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(help="Meeting kinds: one_off, recurring (repeat; default both)."),
    ] = None,
    owner: OwnerOpt = None,
) -> None:
    """Show or change the prep-hold setting: a short private hold before each briefed meeting,
    its description the brief (off until you switch it on)."""
    from pydantic import ValidationError

    from rapportd.agent.brief.prep import PrepHoldSettings
    from rapportd.agent.core.errors import ConfigError

    with _session() as session:
        row = _owner(session, owner)
        prefs = dict(row.preferences or {})
        current = dict(prefs.get("prep_holds") or {})
        changes = {
            k: v
            for k, v in {
                "enabled": on,
                "minutes": minutes,
                "min_size": min_size,
                "kinds": kind,
            }.items()
            if v is not None
        }
        try:
            value = PrepHoldSettings(**{**current, **changes})
        except ValidationError as exc:
            raise typer.BadParameter(str(exc.errors()[0]["msg"])) from None
        except ConfigError as exc:  # pragma: no cover - the model raises ValidationError
            raise typer.BadParameter(str(exc)) from None
        if changes:
            prefs["prep_holds"] = value.model_dump()
            row.preferences = prefs
    state = "on" if value.enabled else "off"
    console.print(
        f"prep holds {state}: {value.minutes} minutes before meetings of at least "
        f"{value.min_size} people ({', '.join(value.kinds)})",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("brief")(brief_command)
    app.command("prep-holds")(prep_holds_command)
