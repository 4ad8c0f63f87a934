"""The Google connector: Gmail + Google Calendar behind the provider-neutral Connector."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from google.oauth2.credentials import Credentials
from rapportd.agent.records import CursorState, DraftSpec, HoldSpec, ItemState, SyncBatch
from rapportd.agent.settings import Settings
from rapportd.connectors.google.calendar import Calendar
from rapportd.connectors.google.client import GoogleApi
from rapportd.connectors.google.gmail import Gmail
from rapportd.connectors.ratelimit import Limiter
from rapportd.connectors.tokens import google_blob


class GoogleConnector:
    provider = "google"
    streams: tuple[str, ...] = ("gmail", "gcal")

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

    # -------------------------------------------------------------- sync
    def sync(self, stream: str, state: CursorState | None) -> Iterator[SyncBatch]:
        if stream == "gmail":
            return self.gmail.sync(state)
        if stream == "gcal":
            return self.calendar.sync(state)
        raise ValueError(f"unknown google stream {stream!r}")

    # -------------------------------------------------------------- drafts
    def find_draft(self, tag: str) -> ItemState | None:
        return self.gmail.find_draft(tag)

    def create_draft(self, spec: DraftSpec) -> ItemState:
        return self.gmail.create_draft(spec)

    def update_draft(
        self, provider_id: str, spec: DraftSpec, *, expected_hash: str | None = None
    ) -> ItemState:
        return self.gmail.update_draft(provider_id, spec, expected_hash=expected_hash)

    def delete_draft(self, provider_id: str, *, expected_hash: str | None = None) -> None:
        self.gmail.delete_draft(provider_id, expected_hash=expected_hash)

    def draft_state(self, provider_id: str, tag: str) -> ItemState:
        return self.gmail.draft_state(provider_id, tag)

    # -------------------------------------------------------------- holds
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
