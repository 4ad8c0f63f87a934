"""Links into the person's own Gmail / Outlook: the thread a promise came from, the draft
rapportd wrote, the calendar day of a hold. Only ever https links to the providers' web
apps, built from ids rapportd stored; nothing here fetches anything."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from rapportd.agent.store.models import Account

GMAIL = "https://mail.google.com/mail/u/?authuser="
OUTLOOK = "https://outlook.office.com"


def provider_name(account: Account | None) -> str:
    if account is None:
        return "your mailbox"
    return "Gmail" if account.provider == "google" else "Outlook"


def calendar_name(account: Account | None) -> str:
    if account is None:
        return "your calendar"
    return "Google Calendar" if account.provider == "google" else "Outlook"


def thread_link(account: Account | None, *, thread_id: str, message_id: str = "") -> str | None:
    """The conversation in the provider's web app, or None if we lack the ids."""
    if account is None:
        return None
    if account.provider == "google" and thread_id:
        return f"{GMAIL}{quote(account.address)}#all/{quote(thread_id, safe='')}"
    if account.provider == "microsoft" and message_id:
        return f"{OUTLOOK}/mail/deeplink/read/{quote(message_id, safe='')}"
    return None


def drafts_link(account: Account | None) -> str | None:
    """Where the person finds (and sends) the draft rapportd wrote."""
    if account is None:
        return None
    if account.provider == "google":
        return f"{GMAIL}{quote(account.address)}#drafts"
    return f"{OUTLOOK}/mail/drafts"


def calendar_link(account: Account | None, day: datetime | None) -> str | None:
    if account is None or day is None:
        return None
    if account.provider == "google":
        return (
            f"https://calendar.google.com/calendar/u/?authuser={quote(account.address)}"
            f"#r/day/{day:%Y/%m/%d}"
        )
    return f"{OUTLOOK}/calendar/view/day/{day:%Y/%m/%d}"
