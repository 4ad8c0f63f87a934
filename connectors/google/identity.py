"""The owner's addresses as Gmail lists them: ``users.settings.sendAs.list``.

The answer holds the primary address (``isPrimary``) and every custom "from" address the
person added in Gmail's settings; only those Gmail has verified (``verificationStatus:
accepted``) are the owner's. The call needs ``gmail.readonly`` (or ``gmail.modify``,
``gmail.settings.basic``, ``mail.google.com``); without it Gmail answers 403, which is no
error here: the list is simply unknown. Addresses a Workspace admin gave the user without a
send-as entry do not appear (they show up only as mail the provider marked as sent).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rapportd.agent.core.errors import NotFound, PermanentError
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.records import OwnAddress
from rapportd.connectors.google.client import GMAIL_UNITS, GoogleApi

log = get_logger(__name__)
SOURCE = "gmail.sendAs"


def parse_send_as(entries: Iterable[dict[str, Any]]) -> list[OwnAddress]:
    """``sendAs`` entries → the owner's addresses: the primary and the accepted aliases,
    lower case, once each, primary first (otherwise in Gmail's order)."""
    found: dict[str, OwnAddress] = {}
    for entry in entries:
        address = str(entry.get("sendAsEmail") or "").strip().lower()
        primary = bool(entry.get("isPrimary")) and not any(a.primary for a in found.values())
        if "@" not in address or address in found:
            continue
        if not primary and entry.get("verificationStatus") != "accepted":
            continue  # pending (or unknown): the person has not proved it is theirs
        name = str(entry.get("displayName") or "").strip()
        found[address] = OwnAddress(address, SOURCE, name, primary)
    return sorted(found.values(), key=lambda a: not a.primary)


def send_as_addresses(api: GoogleApi) -> list[OwnAddress]:
    """Read the send-as list (1 quota unit). 403 (scope not granted) or 404: logged at INFO,
    an empty list. Other errors are raised as the client translated them."""
    try:
        answer = api.call(
            lambda: api.gmail.users().settings().sendAs().list(userId="me"),
            units=GMAIL_UNITS["settings.sendAs.list"],
            what="settings.sendAs.list",
        )
    except (NotFound, PermanentError) as exc:
        if isinstance(exc, PermanentError) and exc.status != 403:
            raise
        log.info("identity.send_as_unavailable", status=exc.status)
        return []
    return parse_send_as((answer or {}).get("sendAs") or [])
