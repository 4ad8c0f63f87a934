"""The ``rapportd`` command: one typer app; each area registers its own subcommands."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from rapportd.agent import __version__
from rapportd.agent.cli import (
    accounts,
    brief,
    contacts,
    daemon,
    detect,
    owners,
    people,
    sandbox,
    suggestions,
)
from rapportd.agent.core.errors import ConfigError, SchemaError

app = typer.Typer(
    name="rapportd",
    help="rapportd: a relationship agent that drafts the thank-yous, follow-ups and holds "
    "that keep your relationships warm. It never sends mail by itself.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The database: migrations and schema.", no_args_is_help=True)
config_app = typer.Typer(help="Settings.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys for tokens at rest.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(keys_app, name="keys")

console = Console()
err_console = Console(stderr=True)


@app.callback()
def _root(
    log_level: Annotated[
        str | None, typer.Option(help="DEBUG, INFO, WARNING or ERROR (overrides the setting).")
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            help="A settings file (TOML); the same as RAPPORTD_CONFIG. Every command reads its "
            "settings the same way: RAPPORTD_* variables over this file over the defaults.",
            show_default=False,
        ),
    ] = None,
) -> None:
    import os

    from rapportd.agent.core.logs import configure_logging
    from rapportd.agent.core.settings import apply_clock, get_settings

    if config:
        os.environ["RAPPORTD_CONFIG"] = config
        get_settings.cache_clear()
    settings = get_settings()
    apply_clock(settings)  # every subcommand (run, worker, sync, ...) reads the one clock
    configure_logging(log_level or settings.log_level, settings.log_format)


@app.command()
def version() -> None:
    """Print rapportd's version."""
    console.print(f"rapportd {__version__}")


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print the effective settings, secrets masked."""
    from rich.table import Table

    from rapportd.agent.core.settings import get_settings, masked

    data = masked(get_settings())
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    table = Table("setting", "value", title="rapportd settings")

    def rows(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                rows(f"{prefix}.{k}" if prefix else k, v)
        else:
            table.add_row(prefix, json.dumps(value) if isinstance(value, list) else str(value))

    rows("", data)
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the migrations up to REVISION (default: the newest). Running it twice is a no-op."""
    from rapportd.agent.core.settings import get_settings
    from rapportd.agent.store.db import current_revision, make_engine, upgrade

    engine = make_engine(get_settings().effective_database_url)
    before = current_revision(engine)
    upgrade(engine, revision)
    after = current_revision(engine)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(f"{where}: already at revision {after}")
    else:
        console.print(f"{where}: upgraded {before or 'empty'} -> {after}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision.")]) -> None:
    """Undo migrations down to REVISION (``base`` removes every table)."""
    from rapportd.agent.core.settings import get_settings
    from rapportd.agent.store.db import current_revision, downgrade, open_store

    engine = open_store(get_settings(), check=False)
    downgrade(engine, revision)
    console.print(f"now at revision {current_revision(engine) or 'base'}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and whether it is the one this rapportd needs."""
    from rapportd.agent.core.settings import get_settings
    from rapportd.agent.store.db import current_revision, head_revision, open_store

    engine = open_store(get_settings(), check=False)
    current, head = current_revision(engine), head_revision()
    state = "up to date" if current == head else "needs `rapportd db upgrade`"
    console.print(f"revision {current or 'none'} (head {head}): {state}")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new encryption key (for RAPPORTD_ENCRYPTION_KEY or a key file)."""
    from rapportd.agent.core.vault import generate_key

    typer.echo(generate_key())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored token with the newest key (old keys in old_encryption_keys)."""
    from sqlalchemy import select

    from rapportd.agent.core.settings import get_settings
    from rapportd.agent.core.vault import vault_from_settings
    from rapportd.agent.store.db import open_store, session_factory, transaction
    from rapportd.agent.store.models import Account

    settings = get_settings()
    vault = vault_from_settings(settings)
    engine = open_store(settings)
    count = 0
    with transaction(session_factory(engine)) as session:
        for account in session.scalars(select(Account).where(Account.token_blob.is_not(None))):
            assert account.token_blob is not None
            account.token_blob = vault.rotate(account.token_blob)
            count += 1
    console.print(f"re-encrypted {count} token blob(s) with the newest key")


# Each area adds its own subcommands with ``register(app)``, in help order.
for _commands in (sandbox, contacts, detect, people, brief, accounts, suggestions, daemon, owners):
    _commands.register(app)


def main() -> None:
    """Console entry point: run the app; a wrong setting, a missing schema or a database that
    does not answer ends in one clear line naming the setting."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    try:
        app()
    except (ConfigError, SchemaError) as exc:
        _one_line(str(exc))
    except (OperationalError, InterfaceError) as exc:
        from rapportd.agent.core.settings import get_settings
        from rapportd.agent.store.db import unreachable

        _one_line(str(unreachable(get_settings(), exc)))


def _one_line(message: str) -> None:
    err_console.print(f"[bold red]rapportd:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(2)
