"""Seeds: fill a :class:`Sandbox` from a JSON scenario, mbox, maildir or ICS files.

A bad seed stops with one :class:`~rapportd.agent.core.errors.BadData` line naming the file and
the field (``scenario.json: messages[3].account: unknown account 'x@y'``).

Non-JSON seeds need an account: ``load_path(sb, path, account="ana@example.com")`` (made
as a Google account if missing). A folder loads every ``*.json``, ``*.mbox``, ``*.ics``
and maildir (a folder with ``cur``/``new``) inside, JSON first (it creates accounts).
"""

from __future__ import annotations

import json
import mailbox as mailbox_lib
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rapportd.agent.core.clock import HeldClock
from rapportd.agent.core.errors import BadData
from rapportd.connectors.sandbox.faults import FaultPlan
from rapportd.connectors.sandbox.state import Draft, NotFoundError, Sandbox, StoredEvent

PROVIDERS = ("google", "microsoft")
RESPONSES = ("accepted", "declined", "tentative", "needsAction", "none")
STATUSES = ("confirmed", "tentative", "cancelled")
B32HEX = "abcdefghijklmnopqrstuv0123456789"


class _Where:
    """Builds the ``file: field: reason`` line of a BadData."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, reason: str) -> BadData:
        return BadData(f"{self.source}: {field}: {reason}")


def _get(
    where: _Where,
    obj: Any,
    field: str,
    key: str,
    kind: type | tuple[type, ...],
    required: bool = True,
    default: Any = None,
) -> Any:
    if not isinstance(obj, dict):
        raise where.fail(field, "must be an object")
    if key not in obj or obj[key] is None:
        if required:
            raise where.fail(f"{field}.{key}", "missing")
        return default
    value = obj[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise where.fail(f"{field}.{key}", f"must be {names}, not {type(value).__name__}")
    return value


def _instant(where: _Where, field: str, value: str) -> datetime:
    if not isinstance(value, str):
        raise where.fail(field, f"must be an ISO 8601 time string, not {type(value).__name__}")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise where.fail(field, f"not an ISO 8601 time: {value!r}") from None
    if when.tzinfo is None:
        raise where.fail(field, f"needs a UTC offset: {value!r}")
    return when


def sandbox_from_scenario(
    data: dict[str, Any],
    source: str = "scenario",
    *,
    ticking: bool = True,
    clock: HeldClock | None = None,
) -> Sandbox:
    """A new sandbox whose clock, horizon and contents come from a scenario dict.

    ``clock``: share this clock (the product's, in one process) instead of one of the
    sandbox's own; the scenario's ``now`` is then not applied (the caller holds the clock)."""
    where = _Where(source)
    if not isinstance(data, dict):
        raise where.fail("(top)", "must be a JSON object")
    now = _instant(where, "now", data["now"]) if data.get("now") else None
    horizon = data.get("history_horizon_hours", 168)
    if not isinstance(horizon, int | float) or horizon <= 0:
        raise where.fail("history_horizon_hours", "must be a positive number")
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise where.fail("seed", "must be an integer")
    sandbox = Sandbox(
        now=now, ticking=ticking, seed=seed, history_horizon_hours=float(horizon), clock=clock
    )
    load_scenario(sandbox, data, source)
    return sandbox


def _shape_error(where: _Where, exc: Exception) -> BadData:
    """A value of the wrong shape that no field check caught: still one line, naming the file
    (found by tests/reliability/test_bad_config.py)."""
    detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    return where.fail("(structure)", f"a value has the wrong type or shape ({detail})")


def load_scenario(sandbox: Sandbox, data: dict[str, Any], source: str = "scenario") -> None:
    """Add a scenario's accounts, clients, messages, events, faults and quota to ``sandbox``."""
    where = _Where(source)
    if data.get("version", 1) != 1:
        raise where.fail("version", f"unsupported version {data.get('version')!r} (expected 1)")
    try:
        _load_all(sandbox, where, data)
    except (TypeError, AttributeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        raise _shape_error(where, exc) from None


def _load_all(sandbox: Sandbox, where: _Where, data: dict[str, Any]) -> None:
    with sandbox.lock:
        for i, acct in enumerate(data.get("accounts") or []):
            f = f"accounts[{i}]"
            provider = _get(where, acct, f, "provider", str)
            if provider not in PROVIDERS:
                raise where.fail(f + ".provider", f"must be google or microsoft, not {provider!r}")
            address = _get(where, acct, f, "address", str)
            if "@" not in address:
                raise where.fail(f + ".address", f"not an email address: {address!r}")
            if address.lower() in sandbox.accounts:
                raise where.fail(f + ".address", f"duplicate account {address}")
            aliases = _get(where, acct, f, "aliases", list, False, [])
            pending = _get(where, acct, f, "pending_aliases", list, False, [])
            for key, values in (("aliases", aliases), ("pending_aliases", pending)):
                for j, alias in enumerate(values):
                    if not isinstance(alias, str) or "@" not in alias:
                        raise where.fail(f"{f}.{key}[{j}]", f"not an email address: {alias!r}")
            sandbox.add_account(
                provider,
                address,
                display_name=_get(where, acct, f, "display_name", str, False, ""),
                timezone=_get(where, acct, f, "timezone", str, False, "UTC"),
                owner=_get(where, acct, f, "owner", str, False, ""),
                aliases=aliases,
                pending_aliases=pending,
            )
        for i, client in enumerate(data.get("oauth_clients") or []):
            f = f"oauth_clients[{i}]"
            provider = _get(where, client, f, "provider", str)
            if provider not in PROVIDERS:
                raise where.fail(f + ".provider", f"must be google or microsoft, not {provider!r}")
            sandbox.add_client(
                provider,
                _get(where, client, f, "client_id", str),
                _get(where, client, f, "client_secret", str),
            )
        _load_messages(sandbox, where, data.get("messages") or [])
        _load_events(sandbox, where, data.get("events") or [])
        _load_faults(sandbox.faults, where, data.get("faults") or [])
        quota = data.get("quota") or {}
        try:
            sandbox.quota.update(quota)
        except (ValueError, TypeError) as exc:
            raise where.fail("quota", str(exc)) from None


def _account(sandbox: Sandbox, where: _Where, field: str, address: str) -> Any:
    try:
        return sandbox.account(address)
    except NotFoundError:
        raise where.fail(field, f"unknown account {address!r}") from None


def _load_messages(sandbox: Sandbox, where: _Where, items: Iterable[Any]) -> None:
    for i, item in enumerate(items):
        f = f"messages[{i}]"
        account = _account(sandbox, where, f + ".account", _get(where, item, f, "account", str))
        raw = _get(where, item, f, "raw", str)
        if "\n\n" not in raw.replace("\r\n", "\n") and ":" not in raw.split("\n", 1)[0]:
            raise where.fail(f + ".raw", "not an RFC 822 message (no header block)")
        labels = _get(where, item, f, "labels", list, False, None)
        folder = _get(where, item, f, "folder", str, False, None)
        internal = _get(where, item, f, "internal_date", str, False, None)
        ms = (
            int(_instant(where, f + ".internal_date", internal).timestamp() * 1000)
            if internal
            else None
        )
        data = raw.encode("utf-8", errors="surrogateescape")
        if "\r\n" not in raw:
            data = data.replace(b"\n", b"\r\n")
        mb = account.mailbox
        msg = mb.add_message(
            data,
            labels=labels,
            folder=folder,
            internal_date_ms=ms,
            id=_get(where, item, f, "id", str, False, None),
            thread_id=_get(where, item, f, "thread_id", str, False, None),
        )
        if "DRAFT" in msg.labels:  # a seeded draft is a draft, not just a labelled message
            draft = Draft(mb._new_draft_id(), msg.id)
            mb.drafts[draft.id] = draft


def _event_id(sandbox: Sandbox) -> str:
    return "".join(sandbox.rng.choice(B32HEX) for _ in range(26))


def _load_events(sandbox: Sandbox, where: _Where, items: Iterable[Any]) -> None:
    for i, item in enumerate(items):
        f = f"events[{i}]"
        account = _account(sandbox, where, f + ".account", _get(where, item, f, "account", str))
        start = _instant(where, f + ".start", _get(where, item, f, "start", str))
        end = _instant(where, f + ".end", _get(where, item, f, "end", str))
        if end < start:
            raise where.fail(f + ".end", "is before start")
        status = _get(where, item, f, "status", str, False, "confirmed")
        if status not in STATUSES:
            raise where.fail(f + ".status", f"must be one of {', '.join(STATUSES)}")
        attendees = []
        for j, att in enumerate(_get(where, item, f, "attendees", list, False, [])):
            af = f"{f}.attendees[{j}]"
            response = _get(where, att, af, "response", str, False, "needsAction")
            if response not in RESPONSES:
                raise where.fail(af + ".response", f"must be one of {', '.join(RESPONSES)}")
            attendees.append(
                {
                    "email": _get(where, att, af, "email", str).lower(),
                    "name": _get(where, att, af, "name", str, False, ""),
                    "response": response,
                }
            )
        event = StoredEvent(
            id=_get(where, item, f, "id", str, False, None) or _event_id(sandbox),
            summary=_get(where, item, f, "summary", str, False, ""),
            start=start,
            end=end,
            timezone=_get(where, item, f, "timezone", str, False, account.timezone),
            all_day=bool(item.get("all_day", False)),
            organizer=_get(where, item, f, "organizer", str, False, account.address).lower(),
            attendees=attendees,
            status=status,
            show_as=_get(
                where,
                item,
                f,
                "show_as",
                str,
                False,
                "tentative" if status == "tentative" else "busy",
            ),
            description=_get(where, item, f, "description", str, False, ""),
            series_id=_get(where, item, f, "series_id", str, False, ""),
            private_props=dict(_get(where, item, f, "private", dict, False, {})),
            created=start - timedelta(days=7),
        )
        if event.id in account.mailbox.events:
            raise where.fail(f + ".id", f"duplicate event id {event.id}")
        deleted = status == "cancelled"
        account.mailbox.insert_event(event)
        if deleted:
            account.mailbox.delete_event(event.id)


def _load_faults(plan: FaultPlan, where: _Where, items: Iterable[Any]) -> None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise where.fail(f"faults[{i}]", "must be an object")
        try:
            plan.add_json(item)
        except (ValueError, TypeError) as exc:
            raise where.fail(f"faults[{i}]", str(exc)) from None


# ----------------------------------------------------------------------------- files
def _ensure_account(sandbox: Sandbox, address: str | None, source: str) -> Any:
    if not address:
        accounts = list(sandbox.accounts.values())
        if len(accounts) == 1:
            return accounts[0]
        raise BadData(f"{source}: account: name the account these messages belong to")
    try:
        return sandbox.account(address)
    except NotFoundError:
        return sandbox.add_account("google", address)


def load_mbox(sandbox: Sandbox, path: Path, account: str | None = None) -> int:
    acct = _ensure_account(sandbox, account, str(path))
    count = 0
    for msg in mailbox_lib.mbox(str(path), create=False):
        acct.mailbox.add_message(msg.as_bytes())
        count += 1
    return count


def load_maildir(sandbox: Sandbox, path: Path, account: str | None = None) -> int:
    acct = _ensure_account(sandbox, account, str(path))
    count = 0
    for msg in mailbox_lib.Maildir(str(path), factory=None, create=False):
        labels = None if "S" in msg.get_flags() else ["INBOX", "UNREAD"]
        acct.mailbox.add_message(msg.as_bytes(), labels=labels)
        count += 1
    return count


def load_ics(
    sandbox: Sandbox, path: Path, account: str | None = None, *, horizon_days: int = 400
) -> int:
    """VEVENTs of an ICS file (recurrences expanded ``horizon_days`` around now)."""
    import icalendar
    import recurring_ical_events

    acct = _ensure_account(sandbox, account, str(path))
    try:
        cal = icalendar.Calendar.from_ical(path.read_bytes())
    except ValueError as exc:
        raise BadData(f"{path}: not an iCalendar file ({exc})") from None
    now = sandbox.now()
    count = 0
    for comp in recurring_ical_events.of(cal).between(
        now - timedelta(days=horizon_days), now + timedelta(days=horizon_days)
    ):
        start, end = comp.get("DTSTART").dt, comp.get("DTEND").dt if comp.get("DTEND") else None
        all_day = isinstance(start, date) and not isinstance(start, datetime)
        zone = acct.timezone
        if all_day:
            start = datetime(start.year, start.month, start.day, tzinfo=UTC)
            end = (
                start + timedelta(days=1)
                if end is None
                else datetime(end.year, end.month, end.day, tzinfo=UTC)
            )
        else:
            start = start if start.tzinfo else start.replace(tzinfo=UTC)
            end = (end if end.tzinfo else end.replace(tzinfo=UTC)) if end else start
            zone = str(getattr(start.tzinfo, "key", zone))
        uid = str(comp.get("UID", ""))
        rid = comp.get("RECURRENCE-ID")
        is_series = bool(comp.get("RRULE")) or rid is not None
        status = str(comp.get("STATUS", "CONFIRMED")).lower()
        attendees = []
        for att in (
            comp.get("ATTENDEE", [])
            if isinstance(comp.get("ATTENDEE"), list)
            else ([comp["ATTENDEE"]] if comp.get("ATTENDEE") else [])
        ):
            params = getattr(att, "params", {})
            part = str(params.get("PARTSTAT", "NEEDS-ACTION")).upper()
            attendees.append(
                {
                    "email": str(att).split(":", 1)[-1].lower(),
                    "name": str(params.get("CN", "")),
                    "response": {
                        "ACCEPTED": "accepted",
                        "DECLINED": "declined",
                        "TENTATIVE": "tentative",
                    }.get(part, "needsAction"),
                }
            )
        organizer = str(comp.get("ORGANIZER", acct.address)).split(":", 1)[-1].lower()
        base = "".join(c if c in B32HEX else "" for c in uid.lower()) or _event_id(sandbox)
        event_id = base[:40] if len(base) >= 5 else _event_id(sandbox)
        if is_series:
            event_id = f"{event_id}_{start.strftime('%Y%m%dT%H%M%SZ').lower()}"
            event_id = "".join(c for c in event_id if c in B32HEX)
        if event_id in acct.mailbox.events:
            continue
        event = StoredEvent(
            event_id,
            str(comp.get("SUMMARY", "")),
            start,
            end,
            zone,
            all_day,
            organizer,
            attendees,
            status if status in STATUSES else "confirmed",
            "free" if str(comp.get("TRANSP", "")).upper() == "TRANSPARENT" else "busy",
            str(comp.get("DESCRIPTION", "")),
            base if is_series else "",
        )
        acct.mailbox.insert_event(event)
        count += 1
    return count


def load_path(sandbox: Sandbox, path: Path | str, account: str | None = None) -> None:
    """Load one seed file or a folder of them (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise BadData(f"{path}: no such seed file or folder")
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            load_maildir(sandbox, path, account)
            return
        children = sorted(path.iterdir(), key=lambda p: (p.suffix != ".json", p.name))
        for child in children:
            if child.suffix in (".json", ".mbox", ".ics") or (child / "cur").is_dir():
                if child.name == "ground_truth.json":
                    continue
                load_path(sandbox, child, account)
        return
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text("utf-8"))
        except ValueError as exc:
            raise BadData(f"{path}: not valid JSON ({exc})") from None
        load_scenario(sandbox, data, str(path))
    elif path.suffix in (".mbox", ".mbx") or path.name.endswith("mbox"):
        load_mbox(sandbox, path, account)
    elif path.suffix == ".ics":
        load_ics(sandbox, path, account)
    else:
        raise BadData(f"{path}: unknown seed type (want .json, .mbox, .ics or a maildir)")


def sandbox_from_seed(
    path: Path | str | None, *, account: str | None = None, ticking: bool = True
) -> Sandbox:
    """A sandbox from a seed (a JSON scenario sets the clock and horizon), or an empty one."""
    if path is None:
        return Sandbox(ticking=ticking)
    path = Path(path)
    if path.is_file() and path.suffix == ".json":
        try:
            data = json.loads(path.read_text("utf-8"))
        except ValueError as exc:
            raise BadData(f"{path}: not valid JSON ({exc})") from None
        return sandbox_from_scenario(data, str(path), ticking=ticking)
    sandbox = Sandbox(ticking=ticking)
    load_path(sandbox, path, account)
    return sandbox
