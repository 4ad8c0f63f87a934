"""``rapportd sandbox ...``: run the provider sandbox and act as the person against it.

Every subcommand except ``serve`` (and ``generate``) calls the control API of a running
sandbox with httpx (``--url``, or ``RAPPORTD_SANDBOX_URL``, default
``http://127.0.0.1:8780``) and prints its JSON answer; ``drafts`` and ``holds`` print a
table (``--json`` for scripts).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from rapportd.connectors.sandbox.generator import DEFAULT_NOW, write

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


def _request(
    url: str | None,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> Any:
    """The control API's JSON answer; an unreachable sandbox or an error is one line."""
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
    return data


def _call(
    url: str | None,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> Any:
    """Call the control API and print its JSON answer."""
    data = _request(url, method, path, body, params)
    typer.echo(json.dumps(data, indent=2, default=str))
    return data


def _account_info(url: str | None, address: str) -> dict[str, Any]:
    overview = _request(url, "GET", "")
    for a in overview.get("accounts", []):
        if str(a.get("address", "")).lower() == address.lower():
            return dict(a)
    known = ", ".join(str(a.get("address")) for a in overview.get("accounts", []))
    typer.echo(f"rapportd sandbox: no account {address} (accounts: {known})", err=True)
    raise typer.Exit(1)


def _one_line(text: str, limit: int = 70) -> str:
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1] + "…"


def _local(value: str, tz: str, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.fromisoformat(value).astimezone(zone).strftime(fmt)


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
    from rapportd.agent.core.errors import BadData
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


JsonOpt = Annotated[bool, typer.Option("--json", help="Print the JSON answer (for scripts).")]


@sandbox_app.command("drafts")
def drafts_cmd(
    account: Annotated[str, typer.Argument()], url: UrlOpt = None, as_json: JsonOpt = False
) -> None:
    """ACCOUNT's drafts: recipients, subject, the first words, and rapportd's tag."""
    if as_json:
        _call(url, "GET", f"/accounts/{account}/drafts")
        return
    from rich.console import Console
    from rich.table import Table

    drafts = _request(url, "GET", f"/accounts/{account}/drafts")["drafts"]
    ours = sum(1 for d in drafts if d.get("tag"))
    table = Table(
        "draft id", "to", "subject", "text", "by rapportd",
        title=f"drafts in {account}: {len(drafts)} ({ours} written by rapportd)",
    )  # fmt: skip
    for d in drafts:
        table.add_row(
            str(d["draft_id"]),
            _one_line(str(d.get("to", "")), 40),
            _one_line(str(d.get("subject", "")), 50),
            _one_line(str(d.get("text") or d.get("snippet") or "")),
            "yes" if d.get("tag") else "-",
        )
    Console().print(table)


@sandbox_app.command("holds")
def holds_cmd(
    account: Annotated[str, typer.Argument()],
    url: UrlOpt = None,
    all_events: Annotated[
        bool, typer.Option("--all", help="Every event, not only rapportd's holds.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """ACCOUNT's calendar holds written by rapportd: when (in the calendar's time zone),
    tentative or confirmed, and the title."""
    from rich.console import Console
    from rich.table import Table

    info = _account_info(url, account)
    events = _request(url, "GET", f"/accounts/{account}/events")["events"]
    shown = [e for e in events if all_events or (e.get("tag") and not e.get("deleted"))]
    if as_json:
        typer.echo(json.dumps({"holds" if not all_events else "events": shown}, indent=2))
        return
    google = info.get("provider") == "google"
    tz = str(info.get("timezone") or "UTC")
    table = Table(
        "event id", "when", "state", "title", "by rapportd",
        title=f"{'events' if all_events else 'holds'} in {account}: {len(shown)} (times in {tz})",
    )  # fmt: skip
    for e in shown:
        # Google shows a hold's state in ``status``; Graph in ``showAs`` (tentative / busy)
        state = e.get("status") if google else e.get("show_as")
        if e.get("deleted"):
            state = "deleted"
        elif state == "busy":
            state = "confirmed"
        when = f"{_local(e['start'], tz)}–{_local(e['end'], tz, '%H:%M')}"
        table.add_row(
            _one_line(str(e["id"]), 28),
            when,
            str(state),
            _one_line(str(e.get("summary", "")), 50),
            "yes" if e.get("tag") else "-",
        )
    Console().print(table)


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


@sandbox_app.command("generate")
def generate_cmd(
    out: Path = typer.Argument(..., help="Folder for scenario.json and ground_truth.json."),
    owners: int = typer.Option(
        1, help="How many owners (each with a Gmail and an Outlook account)."
    ),
    days: int = typer.Option(365, help="Days of history before 'now'."),
    seed: int = typer.Option(0, help="Random seed: same seed, same scenario."),
    now: str = typer.Option(DEFAULT_NOW, help="The scenario's 'now' (ISO 8601, UTC)."),
) -> None:
    """Generate a realistic scenario and its ground truth."""
    counts = write(out, owners, days, seed, now)
    typer.echo(json.dumps({"out": str(out), **counts}))


def register(app: typer.Typer) -> None:
    """Add the ``sandbox`` group."""
    app.add_typer(sandbox_app, name="sandbox")
