"""Conversations between the owner and the people in their life, with the promises and
requests inside them and what became of each (kept, late, never; answered or not).

A thread is planned first (who writes when, which message carries the commitment), then
written: each reply quotes the one before it (Gmail ``On ... wrote:`` or Outlook's
``From:/Sent:`` block) and ends with a signature.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from rapportd.connectors.sandbox import gen_phrases as ph
from rapportd.connectors.sandbox.gen_mail import Mail, gmail_quote, outlook_quote
from rapportd.connectors.sandbox.gen_people import Person
from rapportd.connectors.sandbox.gen_world import World

MONTH_ABBR = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def contact_times(w: World, p: Person) -> list[datetime]:
    """When threads with ``p`` start: regular with jitter, bursty, or fading."""
    rng = w.rng
    gap = p.rhythm.mean_gap_days
    end = w.now
    if p.fading and p.fade_after_days is not None:
        end = min(end, w.start + timedelta(days=p.fade_after_days))
    out: list[datetime] = []
    t = w.start + timedelta(days=rng.uniform(0, gap))
    if p.rhythm.kind == "irregular":
        while t < end:  # bursts of 2-5 threads within ~10 days, then a quiet spell
            size = rng.randint(2, 5)
            for _ in range(size):
                if t < end:
                    out.append(t)
                t += timedelta(days=rng.uniform(0.5, 3))
            t += timedelta(days=rng.expovariate(1 / max(1.0, gap * size - 5)))
        return out
    while t < end:
        out.append(t)
        t += timedelta(days=gap * min(1.6, max(0.5, rng.gauss(1.0, 0.18))))
    return out


def _body(
    w: World,
    writer_first: str,
    reader_first: str,
    personal: bool,
    key_sentence: str,
    signature: str,
) -> str:
    rng = w.rng
    lines = ph.PERSONAL_LINES if personal else ph.WORK_LINES
    paras = [ph.pick(rng, ph.GREETINGS, first=reader_first)]
    filler = rng.sample(lines, rng.randint(1, 2))
    if key_sentence:
        pos = rng.randint(0, len(filler))
        filler.insert(pos, key_sentence)
    paras.append(" ".join(filler) if rng.random() < 0.5 else "\n\n".join(filler))
    paras.append(f"{rng.choice(ph.CLOSINGS)}\n{writer_first}")
    text = "\n\n".join(paras)
    if signature:
        text += "\n\n" + signature
    if rng.random() < 0.05:
        text += "\n\nSent from my iPhone"
    return text


def _signature(name: str, title: str, company: str) -> str:
    lines = ["-- ", name]
    if title:
        lines.append(title)
    if company:
        lines.append(company.replace("-", " ").title())
    return "\n".join(lines)


def _plan(w: World, p: Person) -> tuple[list[bool], str]:
    """Who writes each message (True = the owner) and the thread's special kind."""
    rng = w.rng
    n = rng.choices([1, 2, 3, 4, 5], [22, 35, 22, 13, 8])[0]
    owner_first = rng.random() < 0.45
    writers = [(i % 2 == 0) == owner_first for i in range(n)]
    roll = rng.random()
    kind = ""
    if p.category in ("client", "colleague", "vendor", "friend", "family"):
        if roll < 0.14:
            kind = "owner_commit"
        elif roll < 0.24:
            kind = "request"
        elif roll < 0.30:
            kind = "their_commit"
    if kind == "owner_commit" and True not in writers:
        writers.append(True)
    if kind in ("request", "their_commit") and False not in writers:
        writers.insert(0, False)
    return writers, kind


def person_thread(w: World, p: Person, t0: datetime) -> None:
    """Write one thread with ``p`` starting around ``t0`` (UTC) into one of the accounts."""
    rng = w.rng
    o = w.owner
    provider = rng.choice(p.accounts)
    personal = p.category in ("friend", "family")
    work = not personal
    owner_addr = w.account_address(provider)
    if provider == "microsoft" and rng.random() < 0.05:
        owner_addr = o.aliases[0]
    contact_addr = rng.choice(p.emails) if len(p.emails) > 1 else p.email
    outlook = provider == "microsoft" and p.outlook_quoting
    cc: list[tuple[str, str]] = []
    if p.category == "colleague" and rng.random() < 0.3:
        cc = [
            (x.name, x.email)
            for x in rng.sample(w_colleagues(w), k=rng.randint(1, 2))
            if x.email != p.email
        ]
    month = ph.MONTHS[t0.month - 1]
    subject = ph.pick(
        rng,
        ph.SUBJECTS_PERSONAL if personal else ph.SUBJECTS_WORK,
        company=p.company.replace("-", " ").title() or "you",
        month=month,
        q=str((t0.month - 1) // 3 + 1),
    )
    writers, kind = _plan(w, p)
    owner_sig = "" if personal else _signature(o.name, o.title, "")
    their_sig = "" if personal else _signature(p.name, p.title, p.company)
    first_of = {True: o.first, False: p.name.split()[0]}

    mails: list[Mail] = []
    special: dict[str, Any] = {}
    when = t0
    for i, by_owner in enumerate(writers):
        tz = o.timezone if by_owner else p.timezone
        if i:
            when = when + timedelta(hours=min(96.0, rng.lognormvariate(math.log(5), 1.1)))
        sent = w.local(when, tz, work=work)
        when = sent
        if sent >= w.now:
            break
        key = ""
        if not special:
            if kind == "owner_commit" and by_owner:
                phrase = ph.commitment(rng, sent.date(), personal)
                special = {"kind": "commitment", "phrase": phrase, "by_owner": True, "index": i}
            elif kind in ("request", "their_commit") and not by_owner:
                maker = ph.request if kind == "request" else ph.commitment
                phrase = maker(rng, sent.date(), personal)
                special = {
                    "kind": "request" if kind == "request" else "commitment",
                    "phrase": phrase,
                    "by_owner": False,
                    "index": i,
                }
            if special:
                key = special["phrase"].sentence
        if (
            special
            and kind == "request"
            and by_owner
            and i > special["index"]
            and "answered_index" not in special
        ):
            if rng.random() < 0.35:  # the request goes unanswered: the thread stops here
                break
            key = rng.choice(ph.ANSWER)
            special["answered_index"] = i
        _append(
            w,
            mails,
            subject,
            sent,
            by_owner,
            owner_addr,
            contact_addr,
            p,
            cc,
            key,
            first_of,
            owner_sig if by_owner else their_sig,
            outlook,
            personal,
        )
    if not mails:
        return
    if special and special["kind"] == "commitment":
        _deliver(
            w,
            mails,
            special,
            subject,
            owner_addr,
            contact_addr,
            p,
            cc,
            first_of,
            owner_sig,
            their_sig,
            outlook,
            personal,
        )
    for m in mails:
        w.emit(m, provider, sent_by_owner=m.sender[1] == owner_addr)
    if special and special["index"] < len(mails):
        _record(w, mails, special, owner_addr, contact_addr)


def w_colleagues(w: World) -> list[Person]:
    return [p for p in w.cast if p.category == "colleague"]


def _append(
    w: World,
    mails: list[Mail],
    subject: str,
    sent: datetime,
    by_owner: bool,
    owner_addr: str,
    contact_addr: str,
    p: Person,
    cc: list[tuple[str, str]],
    key: str,
    first_of: dict[bool, str],
    signature: str,
    outlook: bool,
    personal: bool,
    attachment: str = "",
) -> Mail:
    rng = w.rng
    prev = mails[-1] if mails else None
    sender = (w.owner.name, owner_addr) if by_owner else (p.name, contact_addr)
    to = [(p.name, contact_addr)] if by_owner else [(w.owner.name, owner_addr)]
    text = _body(w, first_of[by_owner], first_of[not by_owner], personal, key, signature)
    domain = owner_addr.split("@")[1] if by_owner else contact_addr.split("@")[1]
    mail = Mail(
        w.new_message_id(domain),
        sent,
        sender,
        to,
        subject,
        text,
        cc=cc,
        html_only=p.html_only and not by_owner,
        attachment=attachment,
    )
    if prev is not None:
        mail.subject = ("RE: " if outlook else "Re: ") + subject
        mail.in_reply_to = prev.message_id
        mail.references = [*prev.references, prev.message_id][-10:]
        mail.quote = outlook_quote(prev) if outlook else gmail_quote(prev)
        if rng.random() < 0.1:
            mail.quote = ""  # some people delete the history
    mails.append(mail)
    return mail


def _deliver(
    w: World,
    mails: list[Mail],
    special: dict[str, Any],
    subject: str,
    owner_addr: str,
    contact_addr: str,
    p: Person,
    cc: list[tuple[str, str]],
    first_of: dict[bool, str],
    owner_sig: str,
    their_sig: str,
    outlook: bool,
    personal: bool,
) -> None:
    """Maybe write the message that keeps the promise, on time or late."""
    rng = w.rng
    phrase: ph.Phrase = special["phrase"]
    by_owner: bool = special["by_owner"]
    made = mails[special["index"]].sent
    outcome = rng.choices(["kept", "late", "never"], [55, 20, 25])[0]
    if phrase.due is None:
        outcome = "kept" if rng.random() < 0.6 else "never"
    if outcome == "never":
        return
    if phrase.due is None:
        target = made + timedelta(days=rng.uniform(0.5, 10))
    elif outcome == "kept":
        span = max(0.0, (phrase.due - made.date()).days)
        target = made + timedelta(days=rng.uniform(0, span), hours=rng.uniform(0.5, 3))
    else:
        target = made + timedelta(days=(phrase.due - made.date()).days + rng.randint(1, 10))
    target = max(target, mails[-1].sent + timedelta(minutes=rng.randint(20, 300)))
    tz = w.owner.timezone if by_owner else p.timezone
    sent = w.local(target, tz, work=not personal)
    if sent >= w.now:
        return
    late = phrase.due is not None and sent.date() > phrase.due
    text = ph.delivery(rng, phrase.obj, late)
    attachment = ph.attachment_name(rng, phrase.obj) if phrase.obj else ""
    mail = _append(
        w,
        mails,
        subject,
        sent,
        by_owner,
        owner_addr,
        contact_addr,
        p,
        cc,
        text,
        first_of,
        owner_sig if by_owner else their_sig,
        outlook,
        personal,
        attachment=attachment,
    )
    special["delivered_index"] = len(mails) - 1
    special["delivered_sentence"] = text
    mail.alternative = False


def _record(
    w: World, mails: list[Mail], special: dict[str, Any], owner_addr: str, contact_addr: str
) -> None:
    phrase: ph.Phrase = special["phrase"]
    made = mails[special["index"]]
    by = owner_addr if special["by_owner"] else contact_addr
    to = [a for _, a in made.to]
    today = w.now.astimezone(made.sent.tzinfo).date()
    kept: bool | None = None
    answered: bool | None = None
    delivered = None
    if special["kind"] == "commitment":
        if "delivered_index" in special:
            delivered = mails[special["delivered_index"]]
            kept = phrase.due is None or delivered.sent.date() <= phrase.due
        elif phrase.due is not None and phrase.due < today:
            kept = False
    else:
        answered = "answered_index" in special
    w.commitments.append(
        {
            "message_id": made.message_id,
            "kind": special["kind"],
            "by": by,
            "to": to,
            "owner_is_author": special["by_owner"],
            "sentence": phrase.sentence,
            "sent_at": made.sent.isoformat(),
            "due": phrase.due.isoformat() if phrase.due else None,
            "kept": kept,
            "answered": answered,
            "delivered_message_id": delivered.message_id if delivered else None,
            "delivered_at": delivered.sent.isoformat() if delivered else None,
            "answered_message_id": (
                mails[special["answered_index"]].message_id if "answered_index" in special else None
            ),
            "thread": [m.message_id for m in mails],
        }
    )
