"""A connector made of two parts: a mail part that keeps drafts and a calendar part that
keeps holds. Google (Gmail + Calendar) and Microsoft (Graph mail + calendar) are both this
shape; the delegation lives here once, each provider only builds its parts and routes its
streams."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from rapportd.agent.core.errors import Conflict, NotOurs
from rapportd.agent.core.records import DraftSpec, HoldSpec, ItemState, PushChannel


def refuse_if_changed(
    kind: str, provider_id: str, current: ItemState, expected: str | None
) -> None:
    """Raise Conflict when the item no longer hashes to what rapportd wrote (``expected``):
    the person changed it, and rapportd must not update or delete it."""
    if expected and current.content_hash != expected:
        raise Conflict(f"{kind} {provider_id} was changed by its owner", status=409)


def refuse_if_not_ours(kind: str, provider_id: str, current: ItemState, tag: str) -> None:
    """Raise NotOurs unless the item itself carries rapportd's ``tag``: an item found by id
    or by a tag filter is only acted on when its own header / extended property says it is
    rapportd's (a loose filter or a wrong id must never reach the person's own items)."""
    if not tag or current.tag != tag:
        found = f"tag {current.tag!r}" if current.tag else "no rapportd tag"
        raise NotOurs(f"{kind} {provider_id} carries {found}; not rapportd's {tag!r}", status=409)


def carries(found: ItemState | None, tag: str) -> ItemState | None:
    """``found`` if it carries ``tag`` itself, else None (for adoption by a tag filter)."""
    return found if found is not None and tag and found.tag == tag else None


class DraftPart(Protocol):
    def find_draft(self, tag: str) -> ItemState | None: ...

    def create_draft(self, spec: DraftSpec) -> ItemState: ...

    def update_draft(
        self, provider_id: str, spec: DraftSpec, *, expected_hash: str | None = None
    ) -> ItemState: ...

    def delete_draft(
        self, provider_id: str, *, tag: str, expected_hash: str | None = None
    ) -> None: ...

    def draft_state(self, provider_id: str, tag: str) -> ItemState: ...


class HoldPart(Protocol):
    def find_hold(self, tag: str) -> ItemState | None: ...

    def create_hold(self, spec: HoldSpec) -> ItemState: ...

    def confirm_hold(self, provider_id: str, *, tag: str) -> ItemState: ...

    def delete_hold(
        self, provider_id: str, *, tag: str, expected_hash: str | None = None
    ) -> None: ...

    def hold_state(self, provider_id: str, tag: str) -> ItemState: ...

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]: ...


class PushPart(Protocol):
    def start(self) -> list[PushChannel]: ...

    def renew(self, subscription_id: str) -> datetime | None: ...

    def stop(self, subscription_id: str) -> None: ...


class CompositeConnector:
    """Drafts go to ``draft_part``, holds and free/busy to ``hold_part``, push channels
    (Gmail watch, Graph subscriptions) to ``push_part``."""

    draft_part: DraftPart
    hold_part: HoldPart
    push_part: PushPart

    # -------------------------------------------------------------- push
    def start_push(self) -> list[PushChannel]:
        """Open the account's push channels (a ConfigError when push is not configured)."""
        return self.push_part.start()

    def renew_push(self, subscription_id: str) -> datetime | None:
        """Extend one channel; its new expiry, or None when the provider lost it."""
        return self.push_part.renew(subscription_id)

    def stop_push(self, subscription_id: str) -> None:
        self.push_part.stop(subscription_id)

    # -------------------------------------------------------------- drafts
    def find_draft(self, tag: str) -> ItemState | None:
        return self.draft_part.find_draft(tag)

    def create_draft(self, spec: DraftSpec) -> ItemState:
        return self.draft_part.create_draft(spec)

    def update_draft(
        self, provider_id: str, spec: DraftSpec, *, expected_hash: str | None = None
    ) -> ItemState:
        return self.draft_part.update_draft(provider_id, spec, expected_hash=expected_hash)

    def delete_draft(self, provider_id: str, *, tag: str, expected_hash: str | None = None) -> None:
        self.draft_part.delete_draft(provider_id, tag=tag, expected_hash=expected_hash)

    def draft_state(self, provider_id: str, tag: str) -> ItemState:
        return self.draft_part.draft_state(provider_id, tag)

    # -------------------------------------------------------------- holds
    def find_hold(self, tag: str) -> ItemState | None:
        return self.hold_part.find_hold(tag)

    def create_hold(self, spec: HoldSpec) -> ItemState:
        return self.hold_part.create_hold(spec)

    def confirm_hold(self, provider_id: str, *, tag: str) -> ItemState:
        return self.hold_part.confirm_hold(provider_id, tag=tag)

    def delete_hold(self, provider_id: str, *, tag: str, expected_hash: str | None = None) -> None:
        self.hold_part.delete_hold(provider_id, tag=tag, expected_hash=expected_hash)

    def hold_state(self, provider_id: str, tag: str) -> ItemState:
        return self.hold_part.hold_state(provider_id, tag)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        return self.hold_part.busy(start, end)
