"""``rapportd demo``: rapportd on a generated mailbox, with nothing but Python.

It generates a scenario (one owner with a Gmail and an Outlook account), serves it with
the local provider sandbox, connects both accounts through the real OAuth flows, then runs
the embedded daemon (scheduler + workers + review page) and shows sync -> analysis ->
suggestions -> write-back as progress bars. The store is a fresh SQLite file in
``<data_dir>/demo``: the demo never touches real data.
"""

from __future__ import annotations

import json
import secrets
import shlex
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core import clock
from rapportd.agent.core.logs import configure_logging
from rapportd.agent.core.settings import Settings, get_settings
from rapportd.agent.demo.world import (
    add_owner,
    connect_with_oauth,
    make_world,
    sandbox_settings,
    shared_clock,
)
from rapportd.agent.store.db import make_engine, session_factory, upgrade
from rapportd.agent.store.models import (
    Account,
    CalendarEvent,
    Commitment,
    Contact,
    Message,
    OutboxOperation,
    Owner,
    Suggestion,
)
from rapportd.jobs.daemon import Daemon, DaemonOptions

console = Console()
CYCLE_TIMEOUT = 110.0
CONFIG_FILE = "rapportd.toml"
ENV_FILE = "demo.env"


@dataclass
class Stage:
    synced: int = 0
    accounts: int = 0
    analysed: int = 0
    owners: int = 0
    suggestions: int = 0
    ops_total: int = 0
    ops_done: int = 0
    ops_busy: int = 0


def stage(factory: sessionmaker[Session]) -> Stage:
    with factory() as s:
        n = lambda q: int(s.scalar(q) or 0)  # noqa: E731
        count = select(func.count())
        return Stage(
            synced=n(count.select_from(Account).where(Account.last_sync_at.is_not(None))),
            accounts=n(count.select_from(Account)),
            analysed=n(count.select_from(Owner).where(Owner.analysed_at.is_not(None))),
            owners=n(count.select_from(Owner)),
            suggestions=n(count.select_from(Suggestion)),
            ops_total=n(count.select_from(OutboxOperation)),
            ops_done=n(
                count.select_from(OutboxOperation).where(
                    OutboxOperation.state.not_in(("pending", "writing"))
                )
            ),
            ops_busy=n(
                count.select_from(OutboxOperation).where(
                    OutboxOperation.state.in_(("pending", "writing"))
                )
            ),
        )


def cycle_complete(st: Stage) -> bool:
    return (
        st.accounts > 0
        and st.synced == st.accounts
        and st.analysed == st.owners
        and st.suggestions > 0
        and st.ops_total > 0
        and st.ops_busy == 0
    )


def summary(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as s:
        n = lambda q: int(s.scalar(q) or 0)  # noqa: E731
        count = select(func.count())
        written = (
            count.select_from(OutboxOperation)
            .where(OutboxOperation.state.not_in(("pending", "writing", "failed")))
            .where(OutboxOperation.written_at.is_not(None))
        )
        return {
            "messages synced": n(count.select_from(Message).where(Message.deleted.is_(False))),
            "events synced": n(
                count.select_from(CalendarEvent).where(CalendarEvent.deleted.is_(False))
            ),
            "contacts": n(count.select_from(Contact).where(Contact.is_automated.is_(False))),
            "overdue relationships": n(
                count.select_from(Contact).where(
                    Contact.is_automated.is_(False), Contact.overdue_score > 1.0
                )
            ),
            "promises found": n(count.select_from(Commitment)),
            "suggestions": n(count.select_from(Suggestion)),
            "drafts written": n(written.where(OutboxOperation.op == "create_draft")),
            "holds written": n(written.where(OutboxOperation.op == "create_hold")),
        }


def demo_dir(base: Settings) -> Path:
    """``<data_dir>/demo``; or ``data_dir`` itself when it already is the demo's folder (the
    person sourced the demo's env file and runs the demo again)."""
    if base.data_dir.name == "demo" and (base.data_dir / ENV_FILE).exists():
        return base.data_dir
    return base.data_dir / "demo"


def demo_settings(
    base: Settings,
    google_url: str,
    ms_url: str,
    ca_file: str | None,
    *,
    data_dir: Path | None = None,
    **overrides: Any,
) -> Settings:
    """Settings for a fresh embedded store (``data_dir``, default :func:`demo_dir`) whose
    providers are the sandbox; ``overrides`` as in :func:`sandbox_settings`."""
    data_dir = data_dir or demo_dir(base)
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{data_dir / 'rapportd.sqlite3'}",
        "broker": "embedded",
        "workers": base.workers,
        "web_host": "127.0.0.1",
        "log_level": base.log_level,
        **overrides,
    }
    settings = sandbox_settings(google_url, ca_file, data_dir, **values)
    ms = settings.microsoft.model_copy(
        update={"authority_host": ms_url, "graph_base_url": ms_url + "/v1.0"}
    )
    return settings.model_copy(update={"microsoft": ms})


def _toml(value: object) -> str:
    """A TOML value for the few types the demo's config holds (JSON strings are TOML strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))


def write_cli_files(settings: Settings, sandbox_url: str) -> Path:
    """The demo's settings as ``<demo dir>/rapportd.toml``, and ``demo.env`` that points the
    CLI at it (``RAPPORTD_CONFIG``) and at the sandbox (``RAPPORTD_SANDBOX_URL``). Returns
    the env file. Only the sandbox's own client secret is in them: no real secret."""
    g, m = settings.google, settings.microsoft
    sections: dict[str, dict[str, object]] = {
        "": {
            "data_dir": settings.data_dir,
            "database_url": settings.effective_database_url,
            "broker": settings.broker,
        },
        "google": {
            "client_id": g.client_id,
            "client_secret": g.client_secret.get_secret_value(),
            "api_root": g.api_root,
            "gmail_root": g.gmail_root,
            "auth_uri": g.auth_uri,
            "token_uri": g.token_uri,
            "push_certs_url": g.push_certs_url,
        },
        "microsoft": {
            "client_id": m.client_id,
            "client_secret": m.client_secret.get_secret_value(),
            "authority_host": m.authority_host,
            "tenant": m.tenant,
            "graph_base_url": m.graph_base_url,
            "ca_file": m.ca_file,
        },
    }
    lines = ["# rapportd demo: the settings of the demo's store and sandbox (rewritten every run)"]
    for name, values in sections.items():
        if name:
            lines += ["", f"[{name}]"]
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = settings.data_dir / CONFIG_FILE
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {"RAPPORTD_CONFIG": str(config), "RAPPORTD_SANDBOX_URL": sandbox_url.rstrip("/")}
    env_file = settings.data_dir / ENV_FILE
    env_file.write_text(
        "# rapportd demo: `. this-file` and the CLI uses the demo's store and sandbox\n"
        + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()),
        encoding="utf-8",
    )
    return env_file


def run_demo(once: bool = False, port: int = 0, seed: int = 7, days: int = 120) -> int:
    """The ``rapportd demo`` command; returns the exit code."""
    from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
    from rapportd.connectors.sandbox.server import start_sandbox

    warnings.filterwarnings("ignore", message="response_mode='form_post'")
    base = get_settings()
    if base.log_level != "DEBUG":
        configure_logging("WARNING", base.log_format)
    started = time.monotonic()
    console.print("[bold]rapportd demo[/] — a generated mailbox, served by the local sandbox")
    previous_clock = clock.current()
    held = shared_clock()  # one clock for the product and the sandbox it talks to
    world = make_world(seed=seed, days=days)
    sandbox = sandbox_from_scenario(world.scenario, f"demo seed {seed}", clock=held)
    plain = start_sandbox(sandbox)
    secure = start_sandbox(sandbox, tls=True)  # msal signs in over TLS only
    handles = [plain, secure]
    daemon: Daemon | None = None
    try:
        ms_url = secure.base_url
        settings = demo_settings(base, plain.base_url, ms_url, secure.ca_file)
        shutil.rmtree(settings.data_dir, ignore_errors=True)  # a fresh store every run
        env_file = write_cli_files(settings, plain.base_url)
        console.print(
            f"data folder: [bold]{escape(str(settings.data_dir))}[/] "
            "(a fresh store every run; nothing else is touched)",
            highlight=False,
        )
        console.print(
            f"sandbox: Google at {plain.base_url}, Microsoft at {ms_url}", highlight=False
        )
        engine = make_engine(settings.effective_database_url)
        upgrade(engine)
        factory = session_factory(engine)
        owner = world.owner
        owner_id = add_owner(factory, owner)
        password = _give_password(factory, owner_id)
        console.print(
            f"owner [bold]{owner['name']}[/]: {owner['counts']['messages']} messages, "
            f"{owner['counts']['events']} events over {days} days"
        )
        connect_with_oauth(factory, settings, owner_id, "google", owner["accounts"]["google"])
        console.print(f"connected Google account {owner['accounts']['google']} (OAuth + PKCE)")
        connect_with_oauth(factory, settings, owner_id, "microsoft", owner["accounts"]["microsoft"])
        console.print(f"connected Microsoft account {owner['accounts']['microsoft']} (msal, TLS)")

        roles = {"scheduler", "worker", "web"}
        daemon = Daemon(
            settings,
            DaemonOptions(roles=roles, tick_seconds=0.3, web_port=port),
            engine=engine,
        )
        daemon.start()
        ok = _follow(factory)
        table = Table(title="first cycle", show_header=False)
        figures = summary(factory)
        for name, value in figures.items():
            table.add_row(name, str(value))
        console.print(table)
        console.print(f"done in {time.monotonic() - started:.1f}s")
        if daemon.web_url:
            console.print(f"review page: [bold]{daemon.web_url}/[/]")
            console.print(
                f"sign in as [bold]{owner['accounts']['google']}[/], password [bold]{password}[/]"
            )
        else:
            console.print("[yellow]the review page is not available in this build")
        wrote = figures["drafts written"] > 0 and figures["holds written"] > 0
        if not ok or not wrote:
            console.print("[red]the first cycle did not complete with drafts and holds written")
        console.print(
            f"use the CLI on it: [bold]. {escape(shlex.quote(str(env_file)))}[/]  then "
            "`rapportd contacts`, `rapportd suggestions list`, "
            f"`rapportd sandbox drafts {owner['accounts']['google']}`",
            highlight=False,
            soft_wrap=True,
        )
        if once:
            console.print("(the sandbox stops with the demo; the store stays in the data folder)")
            return 0 if ok and wrote else 1
        console.print("the daemon keeps running (Ctrl-C to stop)")
        daemon.serve_forever()
        daemon = None
        return 0
    finally:
        if daemon is not None:
            daemon.stop()
        for h in handles:
            h.stop()
        clock.use(previous_clock)


def _give_password(factory: sessionmaker[Session], owner_id: int) -> str:
    """A fresh password for the demo owner, so that the person can sign in to the review
    page (the demo store is thrown away at the next run)."""
    from rapportd.agent.web.security import hash_password

    password = secrets.token_urlsafe(9)
    with factory() as session, session.begin():
        owner = session.get(Owner, owner_id)
        assert owner is not None
        owner.password_hash = hash_password(password)
    return password


def _follow(factory: sessionmaker[Session]) -> bool:
    """Progress bars until the first cycle is complete (or the timeout)."""
    columns: list[Any] = [
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    deadline = time.monotonic() + CYCLE_TIMEOUT
    with Progress(*columns, console=console, transient=False) as progress:
        sync = progress.add_task("sync", total=None)
        analysis = progress.add_task("analysis", total=None)
        suggest = progress.add_task("suggestions", total=None)
        write = progress.add_task("write-back", total=None)
        while True:
            st = stage(factory)
            progress.update(sync, total=st.accounts, completed=st.synced)
            progress.update(analysis, total=st.owners, completed=st.analysed)
            progress.update(
                suggest,
                total=max(st.suggestions, 1),
                completed=st.suggestions if st.analysed else 0,
            )
            progress.update(write, total=max(st.ops_total, 1), completed=st.ops_done)
            if cycle_complete(st):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.3)
