"""Mail archives as one person's mailbox: read mbox, maildir, folders of raw messages and ICS
files, decide which mail is the owner's sent mail, and load it all into a sandbox account.

Used by ``rapportd replay``. Words:

archive
    what the person hands in: files and folders, read recursively. A folder with ``cur`` /
    ``new`` is a maildir; a ``*.mbox`` file (or any file starting with ``From ``) is an
    mbox; ``*.ics`` is a calendar; any other file that parses as an RFC 822 message (a
    header block with at least one of From, Date or Message-ID) is one message (``*.eml``,
    the ``*.txt`` files of the Enron corpus, ...).
folder hint
    where the archive says a message was filed: the ``X-Folder`` header (last part of the
    path), ``X-Gmail-Labels``, the maildir folder's name or the mbox file's name.
sent mail
    decided the way a provider would: From is the owner (or an alias), or a folder hint
    names a sent folder ("Sent", "Sent Items", "Sent Mail", "Gesendete Objekte",
    "Éléments envoyés", "Elementos enviados", ...). It gets the provider's sent marker
    (Gmail ``SENT`` label, Graph ``sentitems`` folder); the rest arrives in the inbox.
skip
    a file or message that is not loaded, with its reason (unreadable, not a message, no
    usable Date, dated after the as-of instant). Nothing is dropped without a record.

One adapter: archives exported from the CMU Enron corpus keep display names only in
``X-From`` / ``X-To`` / ``X-cc`` while ``From`` / ``To`` / ``Cc`` hold bare addresses.
When an address has no display name and those headers give one that plausibly belongs to
it (a word of the name, or its first five letters, appears in the address's local part),
the name is written into the header at load time, raw ("Kean, Steven J." stays as it is).
"""

from __future__ import annotations

import mailbox as mailbox_lib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import formataddr, getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from rapportd.agent.core.errors import BadData
from rapportd.connectors.sandbox.state import Account, Sandbox

_HEADERS = BytesHeaderParser(policy=compat32)
MAX_MESSAGE_BYTES = 50 * 1024 * 1024
# A maildir's own bookkeeping files (Maildir++, Dovecot, Courier), not mail.
MAILDIR_FILES = ("maildirfolder", "dovecot", "courier", ".uidvalidity", "subscriptions")

# Folder names mail clients give the sent folder, lower-cased, accents and _/- removed.
SENT_FOLDERS = {
    "sent", "sent items", "sent mail", "sent messages", "sent email", "sentitems", "sentmail",
    "outbox sent", "gesendet", "gesendete objekte", "gesendete elemente", "gesendete nachrichten",
    "envoyes", "elements envoyes", "messages envoyes", "courrier envoye", "enviados",
    "elementos enviados", "mensajes enviados", "correo enviado", "posta inviata", "inviata",
    "elementi inviati", "verzonden", "verzonden items", "skickat", "skickade objekt", "sendt",
    "sendte elementer", "lahetetyt", "wyslane", "enviadas", "itens enviados",
}  # fmt: skip


@dataclass
class ArchiveMessage:
    raw: bytes
    source: str  # file (and position) it came from
    sent: bool
    date: datetime
    folder_hint: str = ""


@dataclass
class ArchiveSkip:
    source: str
    reason: str


@dataclass
class Archive:
    messages: list[ArchiveMessage] = field(default_factory=list)
    calendars: list[Path] = field(default_factory=list)
    skipped: list[ArchiveSkip] = field(default_factory=list)
    names_filled: int = 0  # messages whose names came from X-From / X-To / X-cc

    @property
    def sent(self) -> int:
        return sum(1 for m in self.messages if m.sent)


def normalise_folder(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[_\-.\[\]]+", " ", text)
    return " ".join(text.split())


def is_sent_folder(name: str) -> bool:
    """Whether a folder (or label) name is a mail client's sent folder."""
    return normalise_folder(name) in SENT_FOLDERS


def folder_hints(headers: Any) -> list[str]:
    """Folder names the message's own headers give (X-Folder's last part, X-Gmail-Labels)."""
    hints: list[str] = []
    folder = str(headers.get("X-Folder") or "").strip()
    if folder:
        hints.append(re.split(r"[\\/]", folder.rstrip("\\/"))[-1])
    labels = str(headers.get("X-Gmail-Labels") or "")
    hints += [x.strip() for x in labels.split(",") if x.strip()]
    return hints


# ----------------------------------------------------------------------------- reading
def read_archive(
    paths: Sequence[Path | str],
    *,
    owner: str,
    aliases: Iterable[str] = (),
    as_of: datetime,
) -> Archive:
    """Everything in ``paths`` as one mailbox of ``owner``; never raises on bad content
    (a path that does not exist is a :class:`BadData`)."""
    archive = Archive()
    mine = {owner.lower(), *(a.lower() for a in aliases)}
    for raw_path in paths:
        path = Path(raw_path)
        if not path.exists():
            raise BadData(f"{path}: no such archive file or folder")
        for raw, source, hint in _walk(path, archive):
            _add(archive, raw, source, hint, mine, as_of)
    archive.messages.sort(key=lambda m: (m.date, m.source))  # parents before replies
    return archive


def _walk(path: Path, archive: Archive) -> Iterator[tuple[bytes, str, str]]:
    """(raw bytes, source, folder hint) of every message under ``path``."""
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            yield from _maildir(path, archive)
            children = [
                c
                for c in sorted(path.iterdir())
                if c.name not in ("cur", "new", "tmp") and not c.name.startswith(MAILDIR_FILES)
            ]
        else:
            children = sorted(path.iterdir())
        for child in children:
            yield from _walk(child, archive)
        return
    suffix = path.suffix.lower()
    if suffix == ".ics":
        archive.calendars.append(path)
        return
    try:
        with path.open("rb") as fh:
            head = fh.read(5)
    except OSError as exc:
        archive.skipped.append(ArchiveSkip(str(path), f"unreadable file ({exc.strerror})"))
        return
    if suffix in (".mbox", ".mbx") or head == b"From ":
        yield from _mbox(path, archive)
        return
    try:
        size = path.stat().st_size
        if size > MAX_MESSAGE_BYTES:
            archive.skipped.append(ArchiveSkip(str(path), f"file of {size} bytes: too big"))
            return
        yield path.read_bytes(), str(path), ""
    except OSError as exc:
        archive.skipped.append(ArchiveSkip(str(path), f"unreadable file ({exc.strerror})"))


def _maildir(path: Path, archive: Archive) -> Iterator[tuple[bytes, str, str]]:
    hint = path.name.lstrip(".")
    try:
        box = mailbox_lib.Maildir(str(path), factory=None, create=False)
        keys = list(box.keys())
    except (OSError, mailbox_lib.Error) as exc:
        archive.skipped.append(ArchiveSkip(str(path), f"unreadable maildir ({exc})"))
        return
    for key in keys:
        try:
            raw = box.get_bytes(key)
        except (OSError, mailbox_lib.Error, KeyError) as exc:
            archive.skipped.append(ArchiveSkip(f"{path}:{key}", f"unreadable ({exc})"))
            continue
        yield raw, f"{path}:{key}", hint


def _mbox(path: Path, archive: Archive) -> Iterator[tuple[bytes, str, str]]:
    hint = path.stem if path.suffix.lower() in (".mbox", ".mbx") else path.name
    try:
        box = mailbox_lib.mbox(str(path), factory=None, create=False)
        keys = list(box.keys())
    except (OSError, mailbox_lib.Error, UnicodeError) as exc:
        archive.skipped.append(ArchiveSkip(str(path), f"unreadable mbox ({exc})"))
        return
    for i, key in enumerate(keys):
        try:
            raw = box.get_bytes(key)
        except (OSError, mailbox_lib.Error, KeyError) as exc:
            archive.skipped.append(ArchiveSkip(f"{path}#{i + 1}", f"unreadable ({exc})"))
            continue
        yield raw, f"{path}#{i + 1}", hint


def _add(
    archive: Archive, raw: bytes, source: str, hint: str, mine: set[str], as_of: datetime
) -> None:
    raw = raw.replace(b"\r\n", b"\n")
    head, sep, _body = raw.partition(b"\n\n")
    if not sep or not re.match(rb"[!-9;-~]+:", head):
        archive.skipped.append(ArchiveSkip(source, "not a mail message (no header block)"))
        return
    try:
        headers = _HEADERS.parsebytes(raw)
    except Exception as exc:  # the parser is lenient; be total anyway
        archive.skipped.append(ArchiveSkip(source, f"unparseable header block ({exc})"))
        return
    if not any(headers.get(h) for h in ("From", "Date", "Message-ID")):
        archive.skipped.append(
            ArchiveSkip(source, "not a mail message (no From, Date or Message-ID header)")
        )
        return
    date = _date(str(headers.get("Date") or ""))
    if date is None:
        shown = str(headers.get("Date") or "").strip()[:60]
        reason = f"unusable Date header ({shown!r})" if shown else "no Date header"
        archive.skipped.append(ArchiveSkip(source, f"{reason}: cannot place it in time"))
        return
    if date > as_of:
        archive.skipped.append(
            ArchiveSkip(source, f"dated {date:%Y-%m-%d}, after the as-of instant: not yet there")
        )
        return
    raw, filled = fill_enron_names(raw, headers)
    archive.names_filled += filled
    senders = [a.lower() for _n, a in getaddresses([str(headers.get("From") or "")])]
    hints = [h for h in [hint, *folder_hints(headers)] if h]
    sent = any(s in mine for s in senders) or any(is_sent_folder(h) for h in hints)
    archive.messages.append(
        ArchiveMessage(raw.replace(b"\n", b"\r\n"), source, sent, date, hints[0] if hints else "")
    )


def _date(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# ----------------------------------------------------------------------------- names
_X_HEADERS = {"from": "x-from", "to": "x-to", "cc": "x-cc"}


def _x_names(value: str) -> list[str]:
    """The display names of an X-To / X-cc / X-From value, in order, raw.

    Entries with an address in angle brackets (``Last, First </O=ENRON/...>``, ``"A" <a@b>``)
    are split at the brackets, since the names themselves may hold commas; a plain list
    (``A B, C D``) is split at the commas."""
    value = " ".join(value.split())
    if not value:
        return []
    if "<" in value:
        names = []
        for m in re.finditer(r"\s*,?\s*([^<>]*?)\s*<[^<>]*>", value):
            names.append(m.group(1).strip().strip('"').strip("'").strip())
        return names
    return [x.strip().strip('"').strip() for x in value.split(",")]


def _belongs(name: str, address: str) -> bool:
    """Whether ``name`` plausibly names ``address`` (guards against a shifted list)."""
    local = re.sub(r"[^a-z]", "", address.split("@")[0].lower())
    words = [re.sub(r"[^a-z]", "", w) for w in unicodedata.normalize("NFKD", name).lower().split()]
    return any(len(w) >= 3 and (w in local or w[:5] in local) for w in words)


def fill_enron_names(raw: bytes, headers: Any) -> tuple[bytes, int]:
    """``raw`` with display names from X-From / X-To / X-cc put into From / To / Cc where
    those have bare addresses (see the module docstring); (raw, 1 if anything changed)."""
    changes: dict[str, list[str]] = {}
    for name, x_name in _X_HEADERS.items():
        x_value = headers.get(x_name)
        value = headers.get(name)
        if not x_value or not value:
            continue
        pairs = getaddresses([" ".join(str(value).split())])
        if not pairs or any(display for display, _ in pairs):
            continue
        names = _x_names(str(x_value))
        if len(names) != len(pairs):
            continue
        out, changed = [], False
        for (_blank, address), display in zip(pairs, names, strict=True):
            if display and "@" not in display and _belongs(display, address):
                out.append(formataddr((display, address), charset="utf-8"))
                changed = True
            else:
                out.append(address)
        if changed:
            changes[name] = out
    if not changes:
        return raw, 0
    return _replace_headers(raw, changes), 1


def _replace_headers(raw: bytes, values: dict[str, list[str]]) -> bytes:
    """``raw`` (LF line ends) with the first header of each name in ``values`` replaced."""
    head, _sep, body = raw.partition(b"\n\n")
    lines = head.split(b"\n")
    out: list[bytes] = []
    skipping = False
    done: set[str] = set()
    for line in lines:
        if skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = False
        name = line.split(b":", 1)[0].strip().decode("ascii", "replace").lower()
        if name in values and name not in done and b":" in line:
            folded = _fold(name.capitalize(), values[name])
            out.append(folded.encode("utf-8"))
            done.add(name)
            skipping = True
            continue
        out.append(line)
    return b"\n".join(out) + b"\n\n" + body


def _fold(name: str, entries: list[str], width: int = 78) -> str:
    """``Name: a, b, c`` folded between entries (never inside a quoted display name)."""
    out, current = [], f"{name}: {entries[0]}"
    for entry in entries[1:]:
        if len(current) + 2 + len(entry) > width:
            out.append(current + ",")
            current = "\t" + entry
        else:
            current += ", " + entry
    out.append(current)
    return "\n".join(out)


# ----------------------------------------------------------------------------- loading
def load_archive(sandbox: Sandbox, account: Account, archive: Archive) -> list[ArchiveSkip]:
    """Put the archive's mail and calendars into ``account`` (Gmail ``SENT`` / ``INBOX``
    labels, or Graph ``sentitems`` / ``inbox`` folders); returns what could not be loaded."""
    from rapportd.connectors.sandbox.scenario import load_ics

    skipped: list[ArchiveSkip] = []
    box = account.mailbox
    for m in archive.messages:
        try:
            if account.provider == "microsoft":
                box.add_message(m.raw, folder="sentitems" if m.sent else "inbox")
            else:
                box.add_message(m.raw, labels=["SENT"] if m.sent else ["INBOX"])
        except Exception as exc:  # one odd message must not stop the load
            skipped.append(ArchiveSkip(m.source, f"the sandbox refused it ({exc})"[:300]))
    for path in archive.calendars:
        try:
            load_ics(sandbox, path, account.address)
        except (BadData, ValueError, KeyError, TypeError, AttributeError) as exc:
            skipped.append(ArchiveSkip(str(path), f"unreadable calendar ({exc})"[:300]))
    return skipped
