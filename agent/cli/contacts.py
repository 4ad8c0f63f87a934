"""``rapportd forecast`` and ``rapportd contacts``.

``forecast`` is a stable interface other tools rely on: JSONL interactions of one owner on
stdin (``{"contact", "at", "kind": "sent"|"received"|"meeting"}``), one JSONL line per
contact on stdout (``{"contact", "p_interact", "typical_gap_days", "overdue_score"}`` plus
``next_expected_at`` and ``confidence``), using only interactions before ``--as-of``.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

KINDS = ("sent", "received", "meeting")


def parse_time(value: str) -> datetime:
    """ISO 8601 date or date-time; a naive value is taken as UTC."""
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date or time") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def read_interactions(lines: Any) -> dict[str, list[float]]:
    """``{contact: [days]}`` from JSONL lines; raises ValueError naming the bad line."""
    from rapportd.agent.inference.cadence import to_days

    out: dict[str, list[float]] = defaultdict(list)
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            contact = str(rec["contact"]).strip().lower()
            kind = rec.get("kind", "sent")
            if kind not in KINDS:
                raise ValueError(f"kind must be one of {', '.join(KINDS)}")
            out[contact].append(to_days(parse_time(str(rec["at"]))))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"line {n}: {exc}") from None
    return dict(out)


def forecast_lines(history: dict[str, list[float]], as_of: datetime, horizon: float) -> list[str]:
    from rapportd.agent.inference.cadence import forecast, from_days, to_days

    lines = []
    for f in forecast(history, to_days(as_of), horizon):
        lines.append(
            json.dumps(
                {
                    "contact": f.contact,
                    "p_interact": round(f.p_interact, 6),
                    "typical_gap_days": round(f.typical_gap_days, 3),
                    "overdue_score": round(f.overdue_score, 4),
                    "next_expected_at": from_days(f.next_expected_at).isoformat(),
                    "confidence": round(f.confidence, 3),
                }
            )
        )
    return lines


def register(app: typer.Typer) -> None:
    @app.command("forecast")
    def forecast_cmd(
        as_of: Annotated[str, typer.Option("--as-of", help="Forecast from this time (ISO 8601).")],
        horizon_days: Annotated[
            float, typer.Option("--horizon-days", min=0.01, help="Horizon N in days.")
        ] = 30.0,
        jsonl: Annotated[
            bool, typer.Option("--jsonl", help="JSONL out (default: a table).")
        ] = False,
    ) -> None:
        """Read one owner's interactions (JSONL) on stdin; print per contact the probability of
        an interaction in (T, T+N], the typical gap and how overdue the contact is."""
        try:
            when = parse_time(as_of)
            history = read_interactions(sys.stdin)
        except ValueError as exc:
            typer.echo(f"rapportd forecast: {exc}", err=True)
            raise typer.Exit(2) from None
        lines = forecast_lines(history, when, horizon_days)
        if jsonl:
            for line in lines:
                typer.echo(line)
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("contact", "p_interact", "typical gap (d)", "overdue", title=f"as of {when}")
        for line in lines:
            r = json.loads(line)
            table.add_row(
                r["contact"],
                f"{r['p_interact']:.2f}",
                f"{r['typical_gap_days']:.1f}",
                f"{r['overdue_score']:.2f}",
            )
        Console().print(table)

    @app.command("contacts")
    def contacts_cmd(
        owner: Annotated[
            str | None, typer.Option("--owner", help="Owner email or id (default: the only one).")
        ] = None,
        sort: Annotated[
            str, typer.Option(help="overdue | strength | last | name | stage | rhythm")
        ] = "overdue",
        limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
        include_automated: Annotated[
            bool, typer.Option("--include-automated", help="Also list automated senders.")
        ] = False,
        analyse: Annotated[
            bool, typer.Option("--analyse", help="Run the analysis first (dirty contacts).")
        ] = False,
        as_json: Annotated[
            bool, typer.Option("--json", help="JSON lines instead of a table.")
        ] = False,
    ) -> None:
        """The owner's contacts: strength, stage, rhythm, last contact, overdue, open promises."""
        from rapportd.agent.cli.contacts_view import contact_rows, render_table
        from rapportd.agent.core.settings import get_settings
        from rapportd.agent.store.db import open_store, session_factory, transaction

        settings = get_settings()
        engine = open_store(settings)
        with transaction(session_factory(engine)) as session:
            try:
                rows = contact_rows(
                    session,
                    owner,
                    sort=sort,
                    limit=limit,
                    include_automated=include_automated,
                    analyse=analyse,
                    settings=settings,
                )
            except LookupError as exc:
                typer.echo(f"rapportd contacts: {exc}", err=True)
                raise typer.Exit(2) from None
        if as_json:
            for r in rows:
                typer.echo(json.dumps(r, default=str))
            return
        render_table(rows)
