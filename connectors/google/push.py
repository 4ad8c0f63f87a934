"""Gmail push: a watch on the mailbox that publishes to the Pub/Sub topic ``google.push_topic``.

Gmail has one watch per mailbox, with no id of its own: rapportd names it
``gmail-watch:<address>``. A watch lasts 7 days; calling ``users.watch`` again renews it,
which the scheduler does when less than a day is left (jobs/scheduler.py). Notifications reach rapportd through the Pub/Sub
push subscription set up in Google Cloud (``/push/gmail``, see jobs/push_auth.py); they only
say "this mailbox changed", and the next delta sync does the rest.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rapportd.agent.core import clock
from rapportd.agent.core.errors import ConfigError
from rapportd.agent.core.records import PushChannel
from rapportd.agent.core.settings import Settings
from rapportd.connectors.google.client import GoogleApi

WATCH_LABELS = ["INBOX", "SENT"]  # mail in and out; drafts and spam do not wake a sync
DEFAULT_LIFETIME = timedelta(days=7)  # what Gmail grants when its answer does not say


def watch_id(address: str) -> str:
    return f"gmail-watch:{address.lower()}"


class GmailPush:
    def __init__(self, api: GoogleApi, settings: Settings, address: str) -> None:
        self.api, self.settings, self.address = api, settings, address.lower()

    def start(self) -> list[PushChannel]:
        """Open (or renew) the mailbox's watch; one channel."""
        topic = self.settings.google.push_topic
        if not topic:
            raise ConfigError("google.push_topic is not set: Gmail push is off")
        answer = self.api.call(
            lambda: self.api.gmail.users().watch(
                userId="me",
                body={
                    "topicName": topic,
                    "labelIds": WATCH_LABELS,
                    "labelFilterBehavior": "include",
                },
            ),
            units=100,
            write=True,
            what="users.watch",
        )
        return [PushChannel(watch_id(self.address), _expiry(answer), resource=topic)]

    def renew(self, subscription_id: str) -> datetime:
        """Call watch again; the watch's new expiry."""
        (channel,) = self.start()
        return channel.expires_at

    def stop(self, subscription_id: str) -> None:
        self.api.call(
            lambda: self.api.gmail.users().stop(userId="me"),
            units=50,
            write=True,
            what="users.stop",
        )


def _expiry(answer: object) -> datetime:
    """The watch's expiry from Gmail's answer (``expiration``: ms since the epoch)."""
    expiration = answer.get("expiration") if isinstance(answer, dict) else None
    if isinstance(expiration, str | int) and str(expiration).isdigit():
        return datetime.fromtimestamp(int(expiration) / 1000, UTC)
    return clock.now() + DEFAULT_LIFETIME
