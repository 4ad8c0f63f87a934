"""``rapportd owners``: create and list the people who sign in to the review page."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

owners_app = typer.Typer(help="Owners: the people who use this rapportd.", no_args_is_help=True)
console = Console()


def register(app: typer.Typer) -> None:
    app.add_typer(owners_app, name="owners")


def _sessions():  # type: ignore[no-untyped-def]
    from rapportd.agent.core.settings import get_settings
    from rapportd.agent.store.db import open_store, session_factory

    return session_factory(open_store(get_settings()))


@owners_app.command("add")
def owners_add(
    email: Annotated[str, typer.Argument(help="The owner's address (their sign-in name).")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    timezone: Annotated[str, typer.Option(help="IANA time zone, e.g. Europe/Paris.")] = "",
    password: Annotated[
        str | None,
        typer.Option(
            envvar="RAPPORTD_OWNER_PASSWORD",
            help="Read from RAPPORTD_OWNER_PASSWORD or prompted (hidden) when not given.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a local owner with an argon2-hashed password, or set a new password for one."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from sqlalchemy import func, select

    from rapportd.agent.core.settings import get_settings
    from rapportd.agent.store.db import transaction
    from rapportd.agent.store.models import Owner
    from rapportd.agent.web.security import hash_password

    email = email.strip().lower()
    if "@" not in email or " " in email:
        raise typer.BadParameter(f"{email!r} is not an email address", param_hint="EMAIL")
    tz = timezone or get_settings().default_timezone
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(
            f"{tz!r} is not an IANA time zone", param_hint="--timezone"
        ) from None
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise typer.BadParameter("use at least 8 characters", param_hint="password")
    with transaction(_sessions()) as db:
        owner = db.scalar(select(Owner).where(func.lower(Owner.email) == email))
        created = owner is None
        if owner is None:
            owner = Owner(email=email, display_name=name or email.split("@")[0], timezone=tz)
            db.add(owner)
        elif name:
            owner.display_name = name
        owner.password_hash = hash_password(password)
        db.flush()
        owner_id = owner.id
    verb = "created" if created else "updated the password of"
    console.print(f"{verb} owner {owner_id} <{email}>")


@owners_app.command("list")
def owners_list() -> None:
    """List the owners (id, email, whether they have a local password)."""
    from rich.table import Table
    from sqlalchemy import select

    from rapportd.agent.store.db import transaction
    from rapportd.agent.store.models import Owner

    table = Table("id", "email", "name", "password", "time zone")
    with transaction(_sessions()) as db:
        for o in db.scalars(select(Owner).order_by(Owner.id)):
            table.add_row(
                str(o.id), o.email, o.display_name, "yes" if o.password_hash else "no", o.timezone
            )
    console.print(table)
