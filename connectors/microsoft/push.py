"""Graph change notifications: subscriptions that post to ``<base_url>/push/graph``.

One subscription per resource rapportd syncs — the inbox and sent items (mail in and out)
and the calendar (a hold accepted, moved or deleted). Each carries a fresh random
``clientState``, which Graph echoes in every notification; rapportd stores only its hash and
ignores a notification without it (jobs/push.py). Graph checks the notification URL when a
subscription is created (``validationToken`` echo, answered by /push/graph). Mail and event
subscriptions live at most 10,080 minutes; rapportd asks for 3 days and the scheduler
renews (PATCH) when less than a day is left. Lifecycle notifications go to the same URL.
"""

from __future__ import annotations

import secrets
from contextlib import suppress
from datetime import datetime, timedelta

from rapportd.agent.core import clock
from rapportd.agent.core.errors import ConfigError, NotFound
from rapportd.agent.core.records import PushChannel
from rapportd.agent.core.settings import Settings
from rapportd.connectors.microsoft.client import GraphApi
from rapportd.connectors.microsoft.mail import parse_time

RESOURCES = {
    "me/mailFolders('inbox')/messages": "created,updated,deleted",
    "me/mailFolders('sentitems')/messages": "created",
    "me/events": "created,updated,deleted",
}
LIFETIME = timedelta(days=3)


def _expiry(now: datetime | None = None) -> str:
    when = (now or clock.now()) + LIFETIME
    return when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _expires(value: object) -> datetime:
    """The subscription's expiry from Graph's answer (our own ask when it does not say)."""
    parsed = parse_time(value) if isinstance(value, str) else None
    return parsed or clock.now() + LIFETIME


class GraphPush:
    def __init__(self, api: GraphApi, settings: Settings) -> None:
        self.api, self.settings = api, settings

    @property
    def notification_url(self) -> str:
        if not self.settings.microsoft.push_notifications:
            raise ConfigError("microsoft.push_notifications is off: Graph push is off")
        return self.settings.push_url + "/graph"

    def start(self) -> list[PushChannel]:
        """Create one subscription per resource (Graph validates the URL before answering)."""
        url = self.notification_url
        channels = []
        for resource, change_type in RESOURCES.items():
            state = secrets.token_urlsafe(32)
            sub = self.api.request(
                "POST",
                "/subscriptions",
                json={
                    "changeType": change_type,
                    "notificationUrl": url,
                    "lifecycleNotificationUrl": url,
                    "resource": resource,
                    "expirationDateTime": _expiry(),
                    "clientState": state,
                },
                what="subscriptions.create",
            )
            channels.append(
                PushChannel(
                    str(sub["id"]),
                    _expires(sub.get("expirationDateTime")),
                    resource=resource,
                    client_state=state,
                )
            )
        return channels

    def renew(self, subscription_id: str) -> datetime | None:
        """Extend the subscription; None when Graph no longer has it (to be created anew)."""
        try:
            sub = self.api.request(
                "PATCH",
                f"/subscriptions/{subscription_id}",
                json={"expirationDateTime": _expiry()},
                idempotent=True,
                what="subscriptions.update",
            )
        except NotFound:
            return None
        return _expires((sub or {}).get("expirationDateTime"))

    def stop(self, subscription_id: str) -> None:
        with suppress(NotFound):  # already gone: nothing to stop
            self.api.request(
                "DELETE",
                f"/subscriptions/{subscription_id}",
                idempotent=True,
                what="subscriptions.delete",
            )
