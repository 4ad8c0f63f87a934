"""``rapportd sandbox ...``: run the provider sandbox and act as the person against it.

Every subcommand except ``serve`` (and ``generate``) calls the control API of a running
sandbox with httpx (``--url``, or ``RAPPORTD_SANDBOX_URL``, default
``http://127.0.0.1:8780``) and prints its JSON answer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

DEFAULT_URL = "http://127.0.0.1:8780"
DEFAULT_PORT = 8780

sandbox_app = typer.Typer(
    help="The local provider sandbox (Gmail, Calendar, Graph, OAuth).", no_args_is_help=True
)
hold_app = typer.Typer(help="The person acts on a calendar hold.", no_args_is_help=True)
clock_app = typer.Typer(help="The sandbox's clock.", no_args_is_help=True)
faults_app = typer.Typer(help="Injected faults.", no_args_is_help=True)
sandbox_app.add_typer(hold_app, name="hold")
sandbox_app.add_typer(clock_app, name="clock")
sandbox_app.add_typer(faults_app, name="faults")

UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url", help=f"Sandbox base URL (default: $RAPPORTD_SANDBOX_URL or {DEFAULT_URL})."
    ),
]


def _call(
    url: str | None,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> Any:
    import httpx

    base = (url or os.environ.get("RAPPORTD_SANDBOX_URL") or DEFAULT_URL).rstrip("/")
    verify: Any = os.environ.get("RAPPORTD_SANDBOX_CA") or True
    try:
        response = httpx.request(
            method, f"{base}/_sandbox{path}", json=body, params=params, timeout=30, verify=verify
        )
    except httpx.HTTPError as exc:
        typer.echo(f"rapportd sandbox: cannot reach {base} ({exc})", err=True)
        raise typer.Exit(2) from None
    data = response.json() if response.content else {}
    if response.status_code >= 400:
        typer.echo(f"rapportd sandbox: {response.status_code} {data.get('error', data)}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(data, indent=2, default=str))
    return data


@sandbox_app.command("serve")
def serve_cmd(
    seed: Annotated[
        Path | None, typer.Option(help="Scenario JSON, mbox, maildir, ICS or a folder of them.")
    ] = None,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    tls: Annotated[bool, typer.Option("--tls", help="Serve https with a local CA.")] = False,
    account: Annotated[str | None, typer.Option(help="Account for mbox/maildir/ICS seeds.")] = None,
    frozen: Annotated[bool, typer.Option("--frozen", help="Do not let the clock tick.")] = False,
) -> None:
    """Serve the sandbox in the foreground until interrupted."""
    from rapportd.agent.errors import BadData
    from rapportd.connectors.sandbox.scenario import sandbox_from_seed
    from rapportd.connectors.sandbox.server import serve

    try:
        sandbox = sandbox_from_seed(seed, account=account, ticking=not frozen)
    except BadData as exc:
        typer.echo(f"rapportd sandbox: {exc}", err=True)
        raise typer.Exit(2) from None
    counts = {a.address: len(a.mailbox.messages) for a in sandbox.accounts.values()}
    scheme = "https" if tls else "http"
    typer.echo(
        f"sandbox on {scheme}://{host}:{port} now={sandbox.now().isoformat()} "
        f"accounts={json.dumps(counts)}"
    )
    serve(sandbox, host=host, port=port, tls=tls)


@sandbox_app.command("deliver")
def deliver_cmd(
    account: Annotated[str, typer.Argument(help="The receiving sandbox account.")],
    sender: Annotated[str, typer.Option("--from", help="Sender address.")] = "someone@example.org",
    subject: Annotated[str, typer.Option(help="Subject.")] = "",
    body: Annotated[str, typer.Option(help="Text body.")] = "",
    in_reply_to: Annotated[
        str | None, typer.Option(help="Message id (sandbox or Message-ID header) this replies to.")
    ] = None,
    raw_file: Annotated[Path | None, typer.Option(help="A whole RFC 822 message instead.")] = None,
    url: UrlOpt = None,
) -> None:
    """New mail arrives in ACCOUNT."""
    data: dict[str, Any] = {"from": sender, "subject": subject, "body": body}
    if in_reply_to:
        data["in_reply_to"] = in_reply_to
    if raw_file:
        data = {"raw": raw_file.read_text("utf-8")}
    _call(url, "POST", f"/accounts/{account}/deliver", data)


@sandbox_app.command("drafts")
def drafts_cmd(account: Annotated[str, typer.Argument()], url: UrlOpt = None) -> None:
    """List ACCOUNT's drafts (with rapportd's tag)."""
    _call(url, "GET", f"/accounts/{account}/drafts")


@sandbox_app.command("send-draft")
def send_draft_cmd(
    account: Annotated[str, typer.Argument()],
    draft_id: Annotated[str, typer.Argument()],
    url: UrlOpt = None,
) -> None:
    """The person sends a draft as it is."""
    _call(url, "POST", f"/accounts/{account}/drafts/{draft_id}/send")


@sandbox_app.command("edit-draft")
def edit_draft_cmd(
    account: Annotated[str, typer.Argument()],
    draft_id: Annotated[str, typer.Argument()],
    body: Annotated[str | None, typer.Option(help="New text body.")] = None,
    subject: Annotated[str | None, typer.Option(help="New subject.")] = None,
    send: Annotated[bool, typer.Option("--send", help="Send it after editing.")] = False,
    url: UrlOpt = None,
) -> None:
    """The person edits a draft (and maybe sends it)."""
    data: dict[str, Any] = {"send": send}
    if body is not None:
        data["body"] = body
    if subject is not None:
        data["subject"] = subject
    _call(url, "POST", f"/accounts/{account}/drafts/{draft_id}/edit", data)


@sandbox_app.command("delete-draft")
def delete_draft_cmd(
    account: Annotated[str, typer.Argument()],
    draft_id: Annotated[str, typer.Argument()],
    url: UrlOpt = None,
) -> None:
    """The person deletes a draft."""
    _call(url, "DELETE", f"/accounts/{account}/drafts/{draft_id}")


@hold_app.command("accept")
def hold_accept_cmd(
    account: Annotated[str, typer.Argument()],
    event_id: Annotated[str, typer.Argument()],
    url: UrlOpt = None,
) -> None:
    """Confirm a tentative hold."""
    _call(url, "POST", f"/accounts/{account}/holds/{event_id}/accept")


@hold_app.command("move")
def hold_move_cmd(
    account: Annotated[str, typer.Argument()],
    event_id: Annotated[str, typer.Argument()],
    hours: Annotated[float, typer.Option(help="Shift by this many hours.")] = 0,
    minutes: Annotated[float, typer.Option(help="Shift by this many minutes.")] = 0,
    start: Annotated[str | None, typer.Option(help="New start (ISO 8601 with offset).")] = None,
    url: UrlOpt = None,
) -> None:
    """Move a hold (keeps its length when only --start is given)."""
    data: dict[str, Any] = {"hours": hours, "minutes": minutes}
    if start:
        data = {"start": start}
    _call(url, "POST", f"/accounts/{account}/holds/{event_id}/move", data)


@hold_app.command("delete")
def hold_delete_cmd(
    account: Annotated[str, typer.Argument()],
    event_id: Annotated[str, typer.Argument()],
    url: UrlOpt = None,
) -> None:
    """Delete a hold."""
    _call(url, "DELETE", f"/accounts/{account}/holds/{event_id}")


@clock_app.command("advance")
def clock_advance_cmd(
    days: Annotated[float, typer.Option()] = 0,
    hours: Annotated[float, typer.Option()] = 0,
    minutes: Annotated[float, typer.Option()] = 0,
    seconds: Annotated[float, typer.Option()] = 0,
    url: UrlOpt = None,
) -> None:
    """Move the sandbox's clock forward."""
    _call(
        url,
        "POST",
        "/clock/advance",
        {"days": days, "hours": hours, "minutes": minutes, "seconds": seconds},
    )


@faults_app.command("set")
def faults_set_cmd(
    kind: Annotated[
        str,
        typer.Argument(
            help="429, 403_rate, 403_user_rate, 500, 503, latency, "
            "drop, stale_history, expired_sync_token, revoked"
        ),
    ],
    account: Annotated[str, typer.Option(help="Address or *.")] = "*",
    endpoint: Annotated[
        str, typer.Option(help="Method id (gmail.users.messages.get), glob (graph.*) or *.")
    ] = "*",
    count: Annotated[int | None, typer.Option(help="Fire on the next N calls.")] = None,
    rate: Annotated[float | None, typer.Option(help="Fire with this probability.")] = None,
    latency_ms: Annotated[int, typer.Option(help="For latency faults.")] = 0,
    retry_after: Annotated[float | None, typer.Option(help="Retry-After seconds.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Clear other faults first.")] = False,
    url: UrlOpt = None,
) -> None:
    """Add a fault."""
    fault: dict[str, Any] = {
        "kind": kind,
        "account": account,
        "endpoint": endpoint,
        "latency_ms": latency_ms,
    }
    for key, value in (("count", count), ("rate", rate), ("retry_after", retry_after)):
        if value is not None:
            fault[key] = value
    _call(url, "POST", "/faults", {"faults": [fault], "replace": replace})


@faults_app.command("list")
def faults_list_cmd(url: UrlOpt = None) -> None:
    """Show the active faults."""
    _call(url, "GET", "/faults")


@faults_app.command("clear")
def faults_clear_cmd(url: UrlOpt = None) -> None:
    """Remove every fault."""
    _call(url, "DELETE", "/faults")


@sandbox_app.command("stats")
def stats_cmd(
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    url: UrlOpt = None,
) -> None:
    """Calls, statuses and quota units per mailbox."""
    _call(url, "GET", "/stats", params={"account": account} if account else None)


def register(app: typer.Typer) -> None:
    """Add the ``sandbox`` group (and the generator's ``generate`` when it is there)."""
    try:
        from rapportd.connectors.sandbox.generator import register_generate
    except ImportError:
        pass
    else:
        if not getattr(sandbox_app, "_generate_registered", False):
            register_generate(sandbox_app)
            sandbox_app._generate_registered = True  # type: ignore[attr-defined]
    app.add_typer(sandbox_app, name="sandbox")
