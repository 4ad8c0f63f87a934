"""The subset of Gmail's search language (``q``) the sandbox understands.

``newer_than:/older_than:`` (``Nd``, ``Nm``, ``Ny``, ``Nh``), ``after:/before:``
(``YYYY/MM/DD`` at midnight US Pacific as Gmail documents, or epoch seconds), ``in:``
(inbox, sent, drafts, spam, trash, anywhere), ``label:``, ``is:`` (unread, starred,
important), ``from:``, ``to:``, ``rfc822msgid:``, and a leading ``-`` for negation.
Anything else is matched as a word in the subject or the sender.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rapportd.connectors.sandbox.state import Mailbox, StoredMessage

PACIFIC = ZoneInfo("America/Los_Angeles")
_AGE = re.compile(r"^(\d+)([dmyh])$")
_AGE_UNIT = {
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "m": timedelta(days=30),
    "y": timedelta(days=365),
}
Predicate = Callable[[StoredMessage], bool]


class QueryError(ValueError):
    """A ``q`` the sandbox cannot read (Gmail answers 400 Invalid query)."""


@dataclass
class Query:
    predicates: list[Predicate] = field(default_factory=list)
    mentions_spam_trash: bool = False

    def __call__(self, msg: StoredMessage) -> bool:
        return all(p(msg) for p in self.predicates)


def _date_ms(value: str) -> int:
    if value.isdigit():
        return int(value) * 1000
    for fmt in ("%Y/%m/%d", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            day = datetime.strptime(value, fmt).replace(tzinfo=PACIFIC)
        except ValueError:
            continue
        return int(day.timestamp() * 1000)
    raise QueryError(f"Invalid date {value!r}")


def _age_ms(value: str, now_ms: int) -> int:
    match = _AGE.match(value.lower())
    if not match:
        raise QueryError(f"Invalid age {value!r}")
    delta = _AGE_UNIT[match.group(2)] * int(match.group(1))
    return now_ms - int(delta.total_seconds() * 1000)


def _term(key: str, value: str, mailbox: Mailbox, now_ms: int, q: Query) -> Predicate:
    key = key.lower()
    if key == "newer_than":
        cutoff = _age_ms(value, now_ms)
        return lambda m: m.internal_date_ms >= cutoff
    if key == "older_than":
        cutoff = _age_ms(value, now_ms)
        return lambda m: m.internal_date_ms < cutoff
    if key == "after":
        cutoff = _date_ms(value)
        return lambda m: m.internal_date_ms >= cutoff
    if key == "before":
        cutoff = _date_ms(value)
        return lambda m: m.internal_date_ms < cutoff
    if key == "in":
        where = value.lower()
        if where == "anywhere":
            q.mentions_spam_trash = True
            return lambda m: True
        label = {
            "inbox": "INBOX",
            "sent": "SENT",
            "drafts": "DRAFT",
            "draft": "DRAFT",
            "spam": "SPAM",
            "trash": "TRASH",
            "starred": "STARRED",
        }.get(where)
        if label is None:
            raise QueryError(f"Invalid in: {value!r}")
        q.mentions_spam_trash |= label in ("SPAM", "TRASH")
        return lambda m: label in m.labels
    if key == "label":
        lid = mailbox.label_id(value) or mailbox.label_id(value.replace("-", " "))
        q.mentions_spam_trash |= lid in ("SPAM", "TRASH")
        return lambda m: lid is not None and lid in m.labels
    if key == "is":
        label = {"unread": "UNREAD", "starred": "STARRED", "important": "IMPORTANT"}.get(
            value.lower()
        )
        if label is None:
            raise QueryError(f"Invalid is: {value!r}")
        return lambda m: label in m.labels
    if key in ("from", "to"):
        needle = value.lower()
        names = ("From",) if key == "from" else ("To", "Cc", "Bcc")
        return lambda m: any(needle in (m.header(n) or "").lower() for n in names)
    if key == "rfc822msgid":
        wanted = value.strip("<>")
        return lambda m: (m.header("Message-ID") or "").strip().strip("<>") == wanted
    if key == "subject":
        needle = value.lower()
        return lambda m: needle in (m.header("Subject") or "").lower()
    raise QueryError(f"Unsupported operator {key}:")


def parse_query(text: str, mailbox: Mailbox, now_ms: int) -> Query:
    """Compile ``q`` into a predicate over stored messages; QueryError if unreadable."""
    q = Query()
    try:
        tokens = shlex.split(text or "")
    except ValueError as exc:
        raise QueryError(str(exc)) from exc
    for token in tokens:
        negate = token.startswith("-") and len(token) > 1
        body = token[1:] if negate else token
        if ":" in body:
            key, value = body.split(":", 1)
            pred = _term(key, value, mailbox, now_ms, q)
        else:
            word = body.lower()

            def pred(m: StoredMessage, word: str = word) -> bool:
                return (
                    word in (m.header("Subject") or "").lower()
                    or word in (m.header("From") or "").lower()
                )

        if negate:

            def negated(m: StoredMessage, p: Predicate = pred) -> bool:
                return not p(m)

            q.predicates.append(negated)
        else:
            q.predicates.append(pred)
    return q
