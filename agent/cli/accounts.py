"""``rapportd sync`` and ``rapportd accounts``: run a sync by hand, list and connect accounts."""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
accounts_app = typer.Typer(
    help="Connected mailboxes: list them, connect one.", no_args_is_help=True
)


def _store() -> Any:
    from rapportd.agent.core.settings import get_settings
    from rapportd.agent.store.db import open_store, session_factory

    settings = get_settings()
    engine = open_store(settings)
    return settings, session_factory(engine)


def sync_command(
    account: Annotated[str, typer.Option("--account", help="The account's address.")],
    stream: Annotated[
        list[str] | None, typer.Option("--stream", help="Only this stream (repeatable).")
    ] = None,
) -> None:
    """Run one sync of ACCOUNT (backfill or delta for each stream), with progress."""
    from sqlalchemy import select

    from rapportd.agent.core.errors import ReconsentNeeded
    from rapportd.agent.store.models import Account
    from rapportd.connectors.sync.account import sync_account

    settings, sessions = _store()
    with sessions() as session:
        row = session.scalars(select(Account).where(Account.address == account.lower())).first()
        if row is None:
            console.print(f"[red]no connected account {account}[/] (see `rapportd accounts list`)")
            raise typer.Exit(1)
        account_id = row.id
    columns = (
        TextColumn("{task.description:>16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def progress(name: str, done: int, total: int | None) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=None)
            bar.update(
                tasks[name], completed=done, total=total if total and total >= done else None
            )

        try:
            result = sync_account(
                sessions, account_id, settings, streams=stream or None, progress=progress
            )
        except ReconsentNeeded as exc:
            console.print(f"[red]{account} needs to be connected again:[/] {exc}")
            raise typer.Exit(3) from None
        except Exception as exc:
            result = getattr(exc, "sync_result", None)
            console.print(f"[red]sync failed:[/] {type(exc).__name__}: {exc}")
            if result is None:
                raise typer.Exit(1) from None
    if result.outcome == "skipped":
        console.print(
            f"[red]{account} needs to be connected again[/] (see `rapportd accounts list`)"
        )
        raise typer.Exit(3)
    if result.outcome != "ok":
        console.print(
            f"[yellow]{account}: not synced ({result.outcome})[/]; another worker holds it"
        )
        raise typer.Exit(1)
    table = Table(
        "stream", "kind", "fetched", "upserted", "deleted", "skipped", "requests", "units"
    )
    for s in result.streams.values():
        table.add_row(
            s.stream,
            s.kind,
            str(s.fetched),
            str(s.upserted),
            str(s.deleted),
            str(s.skipped),
            str(s.requests),
            str(s.quota_units),
        )
    console.print(table)


@accounts_app.command("list")
def accounts_list() -> None:
    """Every connected account with its status and last sync."""
    from sqlalchemy import select

    from rapportd.agent.store.models import Account, Owner
    from rapportd.agent.store.review import when
    from rapportd.agent.store.sync_status import unfinished_streams, waiting_text

    settings, sessions = _store()
    table = Table(
        "id", "provider", "address", "status", "last sync", "verified complete",
        title="accounts (times in each owner's zone)",
    )  # fmt: skip
    with sessions() as session:
        rows = session.execute(
            select(Account, Owner.timezone).join(Owner, Owner.id == Account.owner_id)
        )
        waits: list[str] = []
        for a, tz in sorted(rows, key=lambda r: r[0].id):
            waiting = waiting_text(
                unfinished_streams(session, a.owner_id, account_id=a.id),
                window_days=settings.sync.recent_window_days,
            )
            if waiting:
                waits.append(f"account {a.id} ({a.address}): {waiting}")
            table.add_row(
                str(a.id),
                a.provider,
                a.address,
                a.status + (f" ({a.status_reason})" if a.status_reason else ""),
                when(a.last_sync_at, tz) or "-",
                when(a.last_verified_complete_at, tz) or "-",
            )
    console.print(table)
    for line in waits:  # not analysed until every stream finished its backfill
        console.print(line, soft_wrap=True, markup=False)


@accounts_app.command("connect")
def accounts_connect(
    provider: Annotated[str, typer.Argument(help="google or microsoft")],
    owner: Annotated[str, typer.Option(help="The rapportd user (email) the account belongs to.")],
    login_hint: Annotated[str, typer.Option(help="The mailbox address, to pre-fill consent.")] = "",
    redirect_url: Annotated[
        str, typer.Option(help="The URL the browser was sent back to (else asked for).")
    ] = "",
) -> None:
    """Print the consent URL, then take the pasted redirect URL and store the tokens."""
    from sqlalchemy import select

    from rapportd.agent.store.db import transaction
    from rapportd.agent.store.models import Owner
    from rapportd.connectors import oauth

    settings, sessions = _store()
    if provider not in ("google", "microsoft"):
        console.print("provider must be google or microsoft")
        raise typer.Exit(2)
    verifier = secrets.token_urlsafe(64)
    state = secrets.token_urlsafe(16)
    flow: dict[str, Any] = {}
    if provider == "google":
        url = oauth.google_authorization_url(settings, state, verifier, login_hint)
    else:
        flow = oauth.microsoft_auth_flow(settings, login_hint)
        url = flow["auth_uri"]
    console.print("Open this URL, consent, then paste the URL you are sent back to:")
    console.print(url, soft_wrap=True, highlight=False)
    pasted = redirect_url or typer.prompt("redirect URL")
    query = dict(parse_qsl(urlsplit(pasted.strip()).query))
    if provider == "google":
        if query.get("state") != state:
            console.print(
                "[red]the redirect URL does not belong to this consent (state differs)[/]"
            )
            raise typer.Exit(1)
        result = oauth.google_exchange_code(settings, query.get("code", ""), verifier)
    else:
        result = oauth.microsoft_exchange(settings, flow, query)
    with transaction(sessions) as session:
        row = session.scalar(select(Owner).where(Owner.email == owner.lower()))
        if row is None:
            row = Owner(email=owner.lower())
            session.add(row)
            session.flush()
        account = oauth.connect_account(session, row.id, provider, result, settings)
        console.print(f"connected {provider} account {account.address} (id {account.id})")


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)
    app.add_typer(accounts_app, name="accounts")
