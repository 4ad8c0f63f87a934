"""The Microsoft connector: Outlook mail + calendar through Graph, tokens from msal."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import httpx
from rapportd.agent.records import CursorState, DraftSpec, HoldSpec, ItemState, SyncBatch
from rapportd.agent.settings import Settings
from rapportd.connectors.microsoft.calendar import GraphCalendar
from rapportd.connectors.microsoft.client import GraphApi, MsalTokens
from rapportd.connectors.microsoft.mail import FOLDERS, GraphMail
from rapportd.connectors.ratelimit import Limiter


class MicrosoftConnector:
    provider = "microsoft"
    streams: tuple[str, ...] = ("graph_inbox", "graph_sentitems", "graph_calendar")

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

    def sync(self, stream: str, state: CursorState | None) -> Iterator[SyncBatch]:
        if stream in FOLDERS:
            return self.mail.sync(stream, state)
        if stream == "graph_calendar":
            return self.calendar.sync(state)
        raise ValueError(f"unknown microsoft stream {stream!r}")

    def find_draft(self, tag: str) -> ItemState | None:
        return self.mail.find_draft(tag)

    def create_draft(self, spec: DraftSpec) -> ItemState:
        return self.mail.create_draft(spec)

    def update_draft(
        self, provider_id: str, spec: DraftSpec, *, expected_hash: str | None = None
    ) -> ItemState:
        return self.mail.update_draft(provider_id, spec, expected_hash=expected_hash)

    def delete_draft(self, provider_id: str, *, expected_hash: str | None = None) -> None:
        self.mail.delete_draft(provider_id, expected_hash=expected_hash)

    def draft_state(self, provider_id: str, tag: str) -> ItemState:
        return self.mail.draft_state(provider_id, tag)

    def find_hold(self, tag: str) -> ItemState | None:
        return self.calendar.find_hold(tag)

    def create_hold(self, spec: HoldSpec) -> ItemState:
        return self.calendar.create_hold(spec)

    def confirm_hold(self, provider_id: str) -> ItemState:
        return self.calendar.confirm_hold(provider_id)

    def delete_hold(self, provider_id: str, *, expected_hash: str | None = None) -> None:
        self.calendar.delete_hold(provider_id, expected_hash=expected_hash)

    def hold_state(self, provider_id: str, tag: str) -> ItemState:
        return self.calendar.hold_state(provider_id, tag)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        return self.calendar.busy(start, end)
