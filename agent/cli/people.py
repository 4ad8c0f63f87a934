"""``rapportd identity`` and ``rapportd people``: who the owner is and who is one person,
as rapportd inferred them, with the reason for each, and the owner's way to undo it.

- ``rapportd identity``: the owner's addresses (each with why rapportd thinks it is theirs),
  name and sign-off; ``identity not-me ADDRESS`` / ``identity me ADDRESS`` correct it.
- ``rapportd people show ADDRESS``: the addresses rapportd counts as one person, and why;
  ``people split A B`` / ``people merge A B`` correct it.

A correction is stored as the owner's decision (it always wins over inference) and asks for
an analysis, which the daemon runs at its next tick (or ``--analyse`` runs it now).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from rapportd.agent.core import clock

OwnerOpt = Annotated[
    str | None, typer.Option("--owner", help="Owner email or id (default: the only one).")
]
AnalyseOpt = Annotated[
    bool, typer.Option("--analyse", help="Run the analysis now instead of at the next tick.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON instead of a table.")]

identity_app = typer.Typer(
    help="Your own addresses, name and sign-off as rapportd learned them.",
    invoke_without_command=True,
)
people_app = typer.Typer(help="Which addresses are one person, and why.", no_args_is_help=True)
console = Console()


@contextmanager
def _session() -> Iterator[Session]:
    from rapportd.agent.core.settings import get_settings
    from rapportd.agent.store.db import check_schema, make_engine, session_factory, transaction

    engine = make_engine(get_settings().effective_database_url)
    check_schema(engine)
    with transaction(session_factory(engine)) as session:
        yield session


def _owner(session: Session, owner: str | None) -> Any:
    from rapportd.agent.cli.contacts_view import find_owner

    try:
        return find_owner(session, owner)
    except LookupError as exc:
        raise typer.BadParameter(str(exc), param_hint="--owner") from None


def _decide(owner: str | None, decision: str, a: str, b: str, analyse: bool) -> None:
    from rapportd.agent.analysis.analyse import analyse_owner
    from rapportd.agent.analysis.store import record_decision

    with _session() as session:
        row = _owner(session, owner)
        try:
            record_decision(session, row.id, decision, a, b)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        if analyse:
            analyse_owner(session, row.id, now=clock.now())
    console.print(f"noted: {decision.replace('_', ' ')} {a} {b}".rstrip())


@identity_app.callback()
def identity_show(ctx: typer.Context, owner: OwnerOpt = None, as_json: JsonOpt = False) -> None:
    """Your addresses (and why each is yours), your name and the name you sign with."""
    if ctx.invoked_subcommand is not None:
        return
    with _session() as session:
        row = _owner(session, owner)
        ident = dict(row.identity or {})
        email = row.email
    if as_json:
        typer.echo(json.dumps({"owner": email, **ident}, indent=2))
        return
    if not ident:
        console.print("No analysis yet: run a sync, or `rapportd contacts --analyse`.")
        return
    table = Table(title=f"{ident.get('name') or email}: your addresses")
    table.add_column("address")
    table.add_column("why rapportd thinks it is yours")
    reasons = ident.get("reasons") or {}
    for address in sorted(reasons):
        table.add_row(address, "; ".join(reasons[address]))
    console.print(table)
    if ident.get("sign_off"):
        console.print(f"You sign as: {ident['sign_off']}")
    for rcpt, name in sorted((ident.get("sign_off_by_recipient") or {}).items()):
        console.print(f"  to {rcpt}: {name}")
    console.print("Wrong? `rapportd identity not-me ADDRESS` (or `me ADDRESS` to add one).")


@identity_app.command("not-me")
def identity_not_me(address: str, owner: OwnerOpt = None, analyse: AnalyseOpt = False) -> None:
    """ADDRESS is not yours: rapportd treats it as someone else from now on."""
    _decide(owner, "not_me", address, "", analyse)


@identity_app.command("me")
def identity_me(address: str, owner: OwnerOpt = None, analyse: AnalyseOpt = False) -> None:
    """ADDRESS is yours: never a contact, never written to as someone else."""
    _decide(owner, "me", address, "", analyse)


@people_app.command("show")
def people_show(address: str, owner: OwnerOpt = None, as_json: JsonOpt = False) -> None:
    """The addresses rapportd counts as the person behind ADDRESS, and why."""
    from rapportd.agent.store.models import Contact, ContactIdentity

    with _session() as session:
        row = _owner(session, owner)
        ident = session.scalars(
            select(ContactIdentity).where(
                ContactIdentity.owner_id == row.id,
                ContactIdentity.address == address.strip().lower(),
            )
        ).first()
        if ident is None:
            raise typer.BadParameter(f"no contact has the address {address}")
        contact = session.get(Contact, ident.contact_id)
        assert contact is not None
        analysis = contact.analysis or {}
        out = {
            "name": contact.display_name,
            "addresses": analysis.get("addresses") or [ident.address],
            "merged": analysis.get("merged") or [],
            "greeting": (analysis.get("greeting") or {}),
            "automated": contact.automated_reasons or [],
        }
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    console.print(f"[bold]{out['name'] or address}[/bold]: {', '.join(out['addresses'])}")
    for why in out["merged"]:
        console.print(f"  merged: {why}")
    greeting = out["greeting"]
    if isinstance(greeting, dict) and greeting.get("name"):
        console.print(f"  greeted as {greeting['name']} ({greeting.get('source')})")
    for why in out["automated"]:
        console.print(f"  automated: {why}")
    console.print("Wrong? `rapportd people split A B` (or `merge A B`).")


@people_app.command("split")
def people_split(a: str, b: str, owner: OwnerOpt = None, analyse: AnalyseOpt = False) -> None:
    """A and B are two people: never count them as one."""
    _decide(owner, "split", a, b, analyse)


@people_app.command("merge")
def people_merge(a: str, b: str, owner: OwnerOpt = None, analyse: AnalyseOpt = False) -> None:
    """A and B are one person."""
    _decide(owner, "merge", a, b, analyse)


def register(app: typer.Typer) -> None:
    app.add_typer(identity_app, name="identity")
    app.add_typer(people_app, name="people")
