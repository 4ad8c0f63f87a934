"""The Microsoft connector: Outlook mail + calendar through Graph, tokens from msal."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from rapportd.agent.core.records import PROVIDER_STREAMS, CursorState, OwnAddress, SyncBatch
from rapportd.agent.core.settings import Settings
from rapportd.connectors.composite import CompositeConnector
from rapportd.connectors.microsoft.calendar import GraphCalendar
from rapportd.connectors.microsoft.client import GraphApi, MsalTokens
from rapportd.connectors.microsoft.identity import proxy_addresses
from rapportd.connectors.microsoft.mail import FOLDERS, GraphMail
from rapportd.connectors.microsoft.push import GraphPush
from rapportd.connectors.ratelimit import Limiter


class MicrosoftConnector(CompositeConnector):
    provider = "microsoft"
    streams: tuple[str, ...] = PROVIDER_STREAMS["microsoft"]

    def __init__(
        self,
        settings: Settings,
        token_data: dict[str, Any],
        address: str,
        *,
        aliases: Sequence[str] = (),
        limiter: Limiter | None = None,
        bucket: str = "",
        transport: httpx.BaseTransport | None = None,
        **api_options: Any,
    ) -> None:
        self.address = address.lower()
        self.tokens = MsalTokens(settings, token_data)
        self.api = GraphApi(
            settings,
            self.tokens.token,
            bucket=bucket or f"microsoft:{self.address}",
            limiter=limiter,
            transport=transport,
            **api_options,
        )
        self.mail = GraphMail(self.api, settings, self.address, aliases)
        self.calendar = GraphCalendar(self.api, settings, self.address, aliases)
        self.draft_part = self.mail
        self.hold_part = self.calendar
        self.push_part = GraphPush(self.api, settings)

    def close(self) -> None:
        """Close the HTTP connections (Graph and the token endpoint)."""
        self.api.client.close()
        http = getattr(self.tokens.app, "http_client", None)
        if http is not None and hasattr(http, "close"):
            http.close()

    def token_data(self) -> dict[str, Any]:
        return self.tokens.data()

    @property
    def requests(self) -> int:
        return self.api.requests

    @property
    def quota_units(self) -> int:
        return 0

    def own_addresses(self) -> list[OwnAddress]:
        """Graph's proxyAddresses (SMTP entries) of ``/me``; see records.Connector."""
        found = proxy_addresses(self.api)
        for part in (self.mail.owner_addresses, self.calendar.owner_addresses):
            part.update(a.address for a in found)
        return found

    def sync(self, stream: str, state: CursorState | None) -> Iterator[SyncBatch]:
        if stream in FOLDERS:
            return self.mail.sync(stream, state)
        if stream == "graph_calendar":
            return self.calendar.sync(state)
        raise ValueError(f"unknown microsoft stream {stream!r}")
