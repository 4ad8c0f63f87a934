"""``rapportd run | worker | scheduler | web | demo | replay``: the daemon's commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)


def _serve(roles: set[str], **options: object) -> None:
    from rapportd.agent.core.settings import get_settings
    from rapportd.jobs.daemon import Daemon, DaemonOptions

    opts = DaemonOptions(roles=roles, **{k: v for k, v in options.items() if v is not None})
    daemon = Daemon(get_settings(), opts)
    try:
        daemon.start()
    except BaseException:
        daemon.stop()
        raise
    if daemon.web_url:
        console.print(f"rapportd: review page at [bold]{daemon.web_url}[/]")
    console.print(f"rapportd: running {', '.join(sorted(roles))} (Ctrl-C to stop)")
    daemon.serve_forever()


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        threads: Annotated[
            int | None, typer.Option(help="Worker threads (default: settings.workers).")
        ] = None,
        port: Annotated[
            int | None, typer.Option(help="Web port (default: settings.web_port).")
        ] = None,
        grace: Annotated[
            float | None,
            typer.Option(help="Seconds before work whose message was lost is enqueued again."),
        ] = None,
    ) -> None:
        """Run everything in one process: scheduler, workers and the review page (embedded)."""
        _serve({"scheduler", "worker", "web"}, workers=threads, web_port=port, grace_seconds=grace)

    @app.command("worker")
    def worker(
        threads: Annotated[
            int | None, typer.Option(help="Worker threads (default: settings.workers).")
        ] = None,
        lease_seconds: Annotated[
            float, typer.Option(help="Sync lease length; a dead worker's accounts wait this long.")
        ] = 60.0,
        metrics_port: Annotated[
            int | None, typer.Option(help="Serve this worker's counters on this port.")
        ] = None,
    ) -> None:
        """Process queued work (distributed set-up: run as many as you like)."""
        if metrics_port is not None:
            from prometheus_client import start_http_server

            from rapportd.jobs.metrics import REGISTRY

            start_http_server(metrics_port, addr="127.0.0.1", registry=REGISTRY)
        _serve({"worker"}, workers=threads, lease_seconds=lease_seconds)

    @app.command("scheduler")
    def scheduler(
        interval: Annotated[float, typer.Option(help="Seconds between looks at the store.")] = 2.0,
        grace: Annotated[
            float | None,
            typer.Option(help="Seconds before work whose message was lost is enqueued again."),
        ] = None,
    ) -> None:
        """Enqueue what is due (exactly one is active; extra ones stand by)."""
        _serve({"scheduler"}, tick_seconds=interval, grace_seconds=grace)

    @app.command("web")
    def web(
        host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
        port: Annotated[int | None, typer.Option(help="Port.")] = None,
    ) -> None:
        """Serve the review page, /metrics and the push endpoints."""
        _serve({"web"}, web_host=host, web_port=port)

    @app.command("demo")
    def demo(
        once: Annotated[
            bool, typer.Option("--once", help="Exit after the first full cycle.")
        ] = False,
        port: Annotated[int, typer.Option(help="Port of the review page (0: any free).")] = 0,
        seed: Annotated[int, typer.Option(help="Seed of the generated scenario.")] = 7,
    ) -> None:
        """Try rapportd on a generated mailbox: sandbox, connect, sync, suggest, write back."""
        from rapportd.agent.demo.run import run_demo

        raise typer.Exit(run_demo(once=once, port=port, seed=seed))

    @app.command("replay")
    def replay(
        archives: Annotated[
            list[Path],
            typer.Argument(help="mbox files, maildir folders, folders of messages, ICS files."),
        ],
        owner: Annotated[str, typer.Option(help="The archive owner's address.")],
        as_of: Annotated[
            str, typer.Option("--as-of", help="Run as of this instant, e.g. 2001-07-30T18:00Z.")
        ],
        out: Annotated[Path, typer.Option(help="Folder for the store and the outputs.")],
        provider: Annotated[str, typer.Option(help="google or microsoft.")] = "google",
        alias: Annotated[
            list[str] | None,
            typer.Option(help="Another address of the owner (repeat it); a send-as alias."),
        ] = None,
        timezone: Annotated[
            str, typer.Option(help="The owner's IANA time zone (default: guessed).")
        ] = "",
        org_domain: Annotated[
            list[str] | None,
            typer.Option(help="The owner's organisation domain (repeat it; default: rapportd's)."),
        ] = None,
    ) -> None:
        """Run the whole product on a mail archive as of a date; write suggestions.jsonl and
        report.html to OUT (see docs/REPLAY.md)."""
        from rapportd.agent.core.errors import BadData
        from rapportd.agent.core.settings import parse_instant
        from rapportd.agent.replay.run import ReplayOptions, print_result, run_replay

        try:
            when = parse_instant(as_of)
        except ValueError as exc:
            console.print(f"[bold red]rapportd replay:[/] --as-of: {exc}", highlight=False)
            raise typer.Exit(2) from None
        options = ReplayOptions(
            archives=archives,
            owner=owner,
            as_of=when,
            out=out,
            provider=provider,
            aliases=alias or [],
            timezone=timezone,
            org_domains=org_domain,
        )
        try:
            result = run_replay(options, console=console)
        except BadData as exc:  # a wrong path or option: one line (bad content is skipped)
            console.print(f"[bold red]rapportd replay:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
        print_result(result, console)
