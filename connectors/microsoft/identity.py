"""The owner's addresses as Microsoft Graph lists them: ``GET /me?$select=proxyAddresses``.

``proxyAddresses`` holds Exchange's addresses of the mailbox: ``SMTP:`` (upper case) the
primary, ``smtp:`` every alias; other types (``X500:``, ``SIP:``, ``EUM:`` …) are not mail
addresses and are left out. ``User.Read`` allows it; without that scope Graph answers 403,
which is no error here: the list is simply unknown. When Graph gives no proxyAddresses
(some account types leave it empty) ``mail`` is the primary, and failing that the
``userPrincipalName`` when it is an address (a guest's ``…#EXT#@…`` name is not).
"""

from __future__ import annotations

from typing import Any

from rapportd.agent.core.errors import NotFound, PermanentError
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.records import OwnAddress
from rapportd.connectors.microsoft.client import GraphApi

log = get_logger(__name__)
SELECT = "proxyAddresses,mail,userPrincipalName,displayName"


def _address(value: Any) -> str:
    text = str(value or "").strip().lower()
    return text if "@" in text and "#ext#" not in text else ""


def parse_user(user: dict[str, Any]) -> list[OwnAddress]:
    """A Graph ``user`` → the owner's addresses, lower case, once each, primary first.
    The primary is the ``SMTP:`` entry, else ``mail``, else the userPrincipalName."""
    name = str(user.get("displayName") or "").strip()
    smtp: list[tuple[str, bool]] = []
    for entry in user.get("proxyAddresses") or []:
        kind, sep, value = str(entry).partition(":")
        if sep and kind.lower() == "smtp" and (address := _address(value)):
            smtp.append((address, kind == "SMTP"))
    mail = _address(user.get("mail"))
    sources = [(a, "graph.proxyAddresses") for a, _ in smtp] + [(mail, "graph.mail")]
    primary = next((a for a, upper in smtp if upper), "") or mail
    if not primary:
        primary = _address(user.get("userPrincipalName"))
        if not smtp:
            sources.append((primary, "graph.userPrincipalName"))
    found: dict[str, OwnAddress] = {}
    for address, source in sources:
        if address and address not in found:
            found[address] = OwnAddress(address, source, name, address == primary)
    return sorted(found.values(), key=lambda a: not a.primary)


def proxy_addresses(api: GraphApi) -> list[OwnAddress]:
    """Read ``/me`` with the address fields. 403 (scope not granted) or 404: logged at
    INFO, an empty list. Other errors are raised as the client translated them."""
    try:
        user = api.request("GET", "me", params={"$select": SELECT}, what="GET /me")
    except (NotFound, PermanentError) as exc:
        if isinstance(exc, PermanentError) and exc.status != 403:
            raise
        log.info("identity.proxy_addresses_unavailable", status=exc.status)
        return []
    return parse_user(user or {})
