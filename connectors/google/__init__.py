"""The Google connector: Gmail + Google Calendar behind the provider-neutral Connector."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from google.oauth2.credentials import Credentials

from rapportd.agent.core.records import PROVIDER_STREAMS, CursorState, OwnAddress, SyncBatch
from rapportd.agent.core.settings import Settings
from rapportd.connectors.composite import CompositeConnector
from rapportd.connectors.google.calendar import Calendar
from rapportd.connectors.google.client import GoogleApi
from rapportd.connectors.google.gmail import Gmail
from rapportd.connectors.google.identity import send_as_addresses
from rapportd.connectors.google.push import GmailPush
from rapportd.connectors.ratelimit import Limiter
from rapportd.connectors.tokens import google_blob


class GoogleConnector(CompositeConnector):
    provider = "google"
    streams: tuple[str, ...] = PROVIDER_STREAMS["google"]

    def __init__(
        self,
        settings: Settings,
        credentials: Credentials,
        address: str,
        *,
        aliases: Sequence[str] = (),
        limiter: Limiter | None = None,
        bucket: str = "",
        ca_file: str = "",
        **api_options: Any,
    ) -> None:
        self.address = address.lower()
        self.api = GoogleApi(
            settings,
            credentials,
            bucket=bucket or f"google:{self.address}",
            limiter=limiter,
            ca_file=ca_file,
            **api_options,
        )
        self.gmail = Gmail(self.api, settings, self.address, aliases)
        self.calendar = Calendar(self.api, settings)
        self.draft_part = self.gmail
        self.hold_part = self.calendar
        self.push_part = GmailPush(self.api, settings, self.address)

    # -------------------------------------------------------------- tokens / counters
    def close(self) -> None:
        """Nothing to close: httplib2 connections belong to per-thread services."""

    def token_data(self) -> dict[str, Any]:
        """What to store (encrypted) so the next run does not need to refresh again."""
        return google_blob(self.api.credentials)

    @property
    def requests(self) -> int:
        return self.api.requests

    @property
    def quota_units(self) -> int:
        return self.api.units

    # -------------------------------------------------------------- identity
    def own_addresses(self) -> list[OwnAddress]:
        """Gmail's send-as list (the primary and accepted aliases); see records.Connector."""
        found = send_as_addresses(self.api)
        self.gmail.owner_addresses.update(a.address for a in found)
        return found

    # -------------------------------------------------------------- sync
    def sync(self, stream: str, state: CursorState | None) -> Iterator[SyncBatch]:
        if stream == "gmail":
            return self.gmail.sync(state)
        if stream == "gcal":
            return self.calendar.sync(state)
        raise ValueError(f"unknown google stream {stream!r}")
