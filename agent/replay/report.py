"""What ``rapportd replay`` writes: one record per suggestion (``suggestions.jsonl``) and a
page a person can grade them on (``report.html``, self-contained, readable offline).

A record holds what the owner would see and what it rests on:

- ``id``, ``kind``, ``state``, ``title``, ``score``;
- ``people``: the contact and the recipients / attendees (names and addresses);
- ``reasons``: the review page's own words for it (``why`` and the facts, from
  :func:`rapportd.agent.web.presenters.build_card`);
- ``evidence``: the messages it rests on (Message-ID, provider id, subject, date,
  sender), the exact sentence quoted, and whether that sentence lies in the author's own
  text of the message as :func:`rapportd.agent.core.mailtext.split_reply` cuts it now
  (``own_text``: true / false / null when the sentence is not found in the body); a
  meeting for a thank-you;
- ``draft``: To / Cc / Subject / body as written into the sandbox mailbox (read back from
  the mailbox by rapportd's tag), or ``hold``: calendar, start / end in the owner's zone,
  title, description as written into the sandbox calendar;
- ``outbox``: the state of its write and its error, if any.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core import clock, mailtext
from rapportd.agent.store.models import (
    Account,
    CalendarEvent,
    Commitment,
    Contact,
    ContactIdentity,
    Message,
    OutboxOperation,
    Owner,
    Suggestion,
)

GRADES = ("useful", "harmless", "wrong")
WRONG_REASONS = (
    "misread promise",
    "misread request",
    "quoted text",
    "wrong person",
    "owner's own address",
    "automated sender",
    "duplicate",
    "wrong name",
    "wrong date",
    "awkward text",
)


# ----------------------------------------------------------------------------- records
def message_text(raw: bytes) -> str:
    """The readable body of a raw message (HTML rendered as text)."""
    from rapportd.connectors import mime

    problems: list[str] = []
    text, is_html, _ = mime.body_of(mime.parse_raw(raw), problems)
    if is_html:
        text = mailtext.html_to_text(text)
    return text.replace("\r\n", "\n")


def _squash(text: str) -> str:
    return " ".join(text.split()).lower()


def sentence_pattern(sentence: str) -> re.Pattern[str] | None:
    """A pattern finding ``sentence`` in a body whatever its line breaks and spacing."""
    words = sentence.split()
    if not words:
        return None
    return re.compile(r"\s+".join(re.escape(w) for w in words), re.I)


def where_sentence(sentence: str, own: str, rest: str) -> bool | None:
    """True: in the author's own text; False: only in what it carries; None: not found."""
    needle = _squash(sentence)
    if not needle:
        return None
    if needle in _squash(own):
        return True
    if needle in _squash(rest):
        return False
    return None


def _address_list(values: Iterable[Any]) -> list[dict[str, str]]:
    out = []
    for item in values or []:
        if isinstance(item, dict):
            out.append({"name": str(item.get("name", "")), "address": str(item.get("email", ""))})
        elif isinstance(item, list | tuple) and item:
            out.append({"name": str(item[1]) if len(item) > 1 else "", "address": str(item[0])})
        elif item:
            out.append({"name": "", "address": str(item)})
    return out


def _tagged_message(box: Any, tag: str) -> Any:
    """The sandbox message of a draft carrying rapportd's ``tag`` (header or Graph property)."""
    for draft in box.drafts.values():
        msg = box.messages.get(draft.message_id)
        if msg is None:
            continue
        from rapportd.connectors.mime import TAG_HEADER

        if (msg.header(TAG_HEADER) or "").strip() == tag:
            return msg
        props = (msg.extra or {}).get("props", {})
        if any(v == tag for v in props.values()):
            return msg
    return None


def _tagged_event(box: Any, tag: str) -> Any:
    for event in box.events.values():
        if event.deleted:
            continue
        if (
            tag in event.private_props.values()
            or tag in str(event.extra)
            or (event.transaction_id and event.transaction_id in tag)
        ):
            return event
    return None


def _draft_of(msg: Any) -> dict[str, Any]:
    from rapportd.connectors import mime

    to, subject, body, _tag = mime.draft_text(msg.raw)
    cc = mime.parse_addresses(msg.header("Cc"))
    return {
        "to": [{"name": a.name, "address": a.email} for a in to],
        "cc": [{"name": a.name, "address": a.email} for a in cc],
        "subject": subject,
        "body": body.strip("\n"),
    }


def _hold_of(event: Any, zone: str, account: str) -> dict[str, Any]:
    from rapportd.agent.web.presenters import zone as tz

    return {
        "calendar": account,
        "start": event.start.astimezone(tz(zone)).isoformat(),
        "end": event.end.astimezone(tz(zone)).isoformat(),
        "timezone": zone,
        "title": event.summary,
        "description": event.description,
        "status": event.status,
    }


@dataclass
class Evidence:
    message: Message | None
    sentence: str
    raw: bytes | None


def collect(
    factory: sessionmaker[Session], owner_id: int, sandbox_account: Any, settings: Any
) -> list[dict[str, Any]]:
    """One record per suggestion of the owner (see the module docstring), oldest first."""
    from rapportd.agent.web.presenters import build_card, card_context

    box = sandbox_account.mailbox
    out: list[dict[str, Any]] = []
    with factory() as db:
        owner = db.get(Owner, owner_id)
        assert owner is not None
        zone = owner.timezone or "UTC"
        rows = list(
            db.scalars(
                select(Suggestion).where(Suggestion.owner_id == owner_id).order_by(Suggestion.id)
            )
        )
        ctx = card_context(db, owner_id, zone, clock.now(), rows)
        splits: Splits = {}
        for s in rows:
            card = build_card(ctx, s, with_chart=False)
            out.append(_record(db, s, card, box, zone, sandbox_account.address, splits))
    return out


def _record(
    db: Session, s: Suggestion, card: Any, box: Any, zone: str, account: str, splits: Splits
) -> dict[str, Any]:
    r = s.reasons or {}
    people: list[dict[str, str]] = []
    if s.contact_id is not None:
        contact = db.get(Contact, s.contact_id)
        if contact is not None:
            addresses = db.scalars(
                select(ContactIdentity.address).where(ContactIdentity.contact_id == contact.id)
            ).all()
            people.append(
                {
                    "name": contact.display_name,
                    "address": contact.primary_address,
                    "addresses": sorted(addresses),  # type: ignore[dict-item]
                }
            )
    for person in _address_list(s.to_addrs or []):
        if all(p["address"] != person["address"] for p in people):
            people.append(person)
    evidence = []
    commitment = db.get(Commitment, s.commitment_id) if s.commitment_id else None
    sentence = str(r.get("promise") or r.get("request") or (commitment.text if commitment else ""))
    message_id = (commitment.message_id if commitment else None) or s.reply_to_message_id
    if message_id is not None:
        msg = db.get(Message, message_id)
        if msg is not None:
            evidence.append(_message_evidence(msg, sentence, box, splits))
    if s.event_id is not None:
        event = db.get(CalendarEvent, s.event_id)
        if event is not None:
            evidence.append(
                {
                    "event": event.summary,
                    "start": event.start_at.isoformat() if event.start_at else "",
                    "end": event.end_at.isoformat() if event.end_at else "",
                    "attendees": _address_list(event.attendees or []),
                }
            )
    op = db.scalars(
        select(OutboxOperation)
        .where(
            OutboxOperation.suggestion_id == s.id,
            OutboxOperation.op.in_(("create_draft", "create_hold")),
        )
        .order_by(OutboxOperation.id)
    ).first()
    draft = hold = None
    if op is not None and op.op == "create_draft":
        msg = _tagged_message(box, op.tag)
        draft = _draft_of(msg) if msg is not None else None
    elif op is not None:
        event = _tagged_event(box, op.tag)
        hold = _hold_of(event, zone, account) if event is not None else None
    return {
        "id": s.id,
        "kind": s.kind,
        "state": s.status,
        "title": s.title,
        "score": s.score,
        "people": people,
        "reasons": {
            "why": card.why,
            "facts": [{"label": f.label, "text": f.text} for f in card.facts],
        },
        "evidence": evidence,
        "draft": draft,
        "hold": hold,
        "planned": {
            "to": _address_list(s.to_addrs or []),
            "subject": s.subject,
            "body": s.body,
            "hold_start": s.hold_start.isoformat() if s.hold_start else None,
            "hold_end": s.hold_end.isoformat() if s.hold_end else None,
        },
        "outbox": (
            {"op": op.op, "state": op.state, "error": op.last_error} if op is not None else None
        ),
    }


Splits = dict[str, tuple[str, str, str]]


def _split_body(box: Any, provider_id: str, rfc822_id: str, splits: Splits) -> tuple[str, str, str]:
    """(body, own text, the rest) of a sandbox message, computed once per message. Gmail
    ids are the sandbox's own; Graph ids are not, so the Message-ID finds it then."""
    if provider_id not in splits:
        stored = box.messages.get(provider_id) or box.messages.get(
            box.rfc_ids.get(rfc822_id.strip(), "")
        )
        body = message_text(stored.raw) if stored is not None else ""
        own, rest = mailtext.split_reply(body)
        splits[provider_id] = (body, own, rest)
    return splits[provider_id]


def _message_evidence(msg: Message, sentence: str, box: Any, splits: Splits) -> dict[str, Any]:
    body, own, rest = _split_body(box, msg.provider_id, msg.rfc822_id, splits)
    return {
        "message_id": msg.rfc822_id,
        "provider_id": msg.provider_id,
        "subject": msg.subject,
        "date": msg.sent_at.isoformat() if msg.sent_at else "",
        "sender": {"name": msg.from_name, "address": msg.from_addr},
        "direction": msg.direction,
        "sentence": sentence,
        "own_text": where_sentence(sentence, own, rest) if sentence else None,
        "body": body,
        "body_own": own,
        "body_rest": rest,
    }


def write_jsonl(records: Sequence[dict[str, Any]], path: Path) -> None:
    """``suggestions.jsonl``: the records without the message bodies (they are in the page)."""
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            slim = dict(rec)
            slim["evidence"] = [
                {k: v for k, v in e.items() if k not in ("body", "body_own", "body_rest")}
                for e in rec["evidence"]
            ]
            fh.write(json.dumps(slim, ensure_ascii=False, default=str) + "\n")


# ----------------------------------------------------------------------------- the page
@dataclass
class Summary:
    """What the page's header shows."""

    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    tables: list[tuple[str, list[tuple[str, int | str]]]] = field(default_factory=list)


CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#f4f4f2;color:#222}
header,section.s{max-width:1200px;margin:16px auto;background:#fff;border:1px solid #ddd;border-radius:6px;padding:14px 18px}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:0 0 6px} h3{font-size:13px;margin:10px 0 4px;color:#555;text-transform:uppercase;letter-spacing:.03em}
table{border-collapse:collapse;margin:4px 16px 8px 0;display:inline-table;vertical-align:top} td,th{border:1px solid #e2e2e2;padding:2px 8px;text-align:left;font-size:13px}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.draft,.hold{background:#f7fbff;border:1px solid #cfe0f4;border-radius:4px;padding:8px 10px}
pre{white-space:pre-wrap;word-wrap:break-word;font:13px/1.4 ui-monospace,Menlo,Consolas,monospace;margin:4px 0}
.own{background:#fffdf3;border-left:4px solid #4a8f3c;padding:4px 8px}
.rest{background:#f3f3f3;border-left:4px solid #aaa;color:#666;padding:4px 8px;max-height:260px;overflow:auto}
mark{background:#ffe066;padding:0 1px} .bad mark{background:#ff9f9f}
.meta{color:#555;font-size:12px} .kind{display:inline-block;background:#333;color:#fff;border-radius:3px;padding:0 6px;font-size:12px}
.flag{color:#b00;font-weight:600} .ok{color:#2a7a2a}
.grade{margin-top:8px;padding-top:6px;border-top:1px dashed #ccc} .grade label{margin-right:10px}
.facts td:first-child{color:#555;white-space:nowrap}
"""

JS = """
function key(){return 'rapportd-replay-grades:'+document.title}
function save(){var out={};document.querySelectorAll('section.s[data-id]').forEach(function(s){
 var g=s.querySelector('input[type=radio]:checked');var r=s.querySelector('select');var n=s.querySelector('input[type=text]');
 out[s.dataset.id]={grade:g?g.value:'',reason:r?r.value:'',note:n?n.value:''};});
 localStorage.setItem(key(),JSON.stringify(out));var c={useful:0,harmless:0,wrong:0,'':0};
 Object.values(out).forEach(function(v){c[v.grade]=(c[v.grade]||0)+1});
 document.getElementById('tally').textContent='graded: useful '+c.useful+', harmless '+c.harmless+', wrong '+c.wrong+', not yet '+c[''];return out}
function load(){var d=JSON.parse(localStorage.getItem(key())||'{}');Object.keys(d).forEach(function(id){
 var s=document.querySelector('section.s[data-id="'+id+'"]');if(!s)return;var v=d[id];
 if(v.grade){var i=s.querySelector('input[value="'+v.grade+'"]');if(i)i.checked=true}
 s.querySelector('select').value=v.reason||'';s.querySelector('input[type=text]').value=v.note||''});save()}
function download(){var blob=new Blob([JSON.stringify(save(),null,1)],{type:'application/json'});
 var a=document.createElement('a');a.href=URL.createObjectURL(blob);a.download='grades.json';a.click()}
document.addEventListener('change',save);document.addEventListener('DOMContentLoaded',load);
"""


def _e(text: Any) -> str:
    return html.escape(str(text if text is not None else ""))


def _highlight(text: str, sentence: str) -> str:
    pattern = sentence_pattern(sentence) if sentence else None
    if pattern is None:
        return _e(text)
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(_e(text[last : m.start()]))
        out.append(f"<mark>{_e(m.group(0))}</mark>")
        last = m.end()
    out.append(_e(text[last:]))
    return "".join(out)


def _person(p: dict[str, Any]) -> str:
    return (
        f"{p.get('name')} &lt;{_e(p.get('address'))}&gt;" if p.get("name") else _e(p.get("address"))
    )


def _draft_html(rec: dict[str, Any]) -> str:
    if rec.get("draft"):
        d = rec["draft"]
        cc = f"<div><b>Cc:</b> {', '.join(_person(p) for p in d['cc'])}</div>" if d["cc"] else ""
        return (
            '<div class="draft"><h3>Draft in the mailbox</h3>'
            f"<div><b>To:</b> {', '.join(_person(p) for p in d['to'])}</div>{cc}"
            f"<div><b>Subject:</b> {_e(d['subject'])}</div><pre>{_e(d['body'])}</pre></div>"
        )
    if rec.get("hold"):
        h = rec["hold"]
        return (
            '<div class="hold"><h3>Hold in the calendar</h3>'
            f"<div><b>{_e(h['title'])}</b> ({_e(h['status'])})</div>"
            f"<div>{_e(h['start'][:16].replace('T', ' '))} – {_e(h['end'][11:16])} "
            f"({_e(h['timezone'])})</div><pre>{_e(h['description'])}</pre></div>"
        )
    planned = rec.get("planned") or {}
    outbox = rec.get("outbox") or {}
    return (
        '<div class="draft"><h3>Not in the mailbox</h3>'
        f"<div class='flag'>outbox: {_e(outbox.get('state', 'no write'))} "
        f"{_e(outbox.get('error', ''))}</div>"
        f"<div><b>Subject:</b> {_e(planned.get('subject'))}</div>"
        f"<pre>{_e(planned.get('body'))}</pre></div>"
    )


def _evidence_html(rec: dict[str, Any]) -> str:
    parts = []
    for e in rec["evidence"]:
        if "event" in e:
            who = ", ".join(_person(p) for p in e.get("attendees", []))
            parts.append(
                f"<h3>Meeting</h3><div><b>{_e(e['event'])}</b></div>"
                f"<div class='meta'>{_e(e['start'])} – {_e(e['end'])}</div><div>{who}</div>"
            )
            continue
        flag = {
            True: "<span class='ok'>quoted sentence is in the author's own text</span>",
            False: "<span class='flag'>quoted sentence is OUTSIDE the author's own text</span>",
            None: "<span class='flag'>quoted sentence not found in the body</span>"
            if e.get("sentence")
            else "",
        }[e.get("own_text")]
        sentence = e.get("sentence", "")
        parts.append(
            "<h3>Evidence message</h3>"
            f"<div><b>{_e(e['subject']) or '(no subject)'}</b></div>"
            f"<div class='meta'>{_person(e['sender'])} · {_e(e['date'])} · {_e(e['direction'])}"
            f" · {_e(e['message_id'])}</div>"
            + (f"<div>Quoted: “{_e(sentence)}” — {flag}</div>" if sentence else "")
            + "<div class='meta'>the author's own text (as rapportd cuts it):</div>"
            f"<div class='own'><pre>{_highlight(e.get('body_own', ''), sentence)}</pre></div>"
            "<div class='meta'>what the message carries (quoted, forwarded, signature):</div>"
            f"<div class='rest{' bad' if e.get('own_text') is False else ''}'>"
            f"<pre>{_highlight(e.get('body_rest', ''), sentence)}</pre></div>"
        )
    return "".join(parts) or "<div class='meta'>no message or meeting behind it</div>"


def _grade_html(rec_id: int) -> str:
    radios = "".join(
        f"<label><input type='radio' name='g{rec_id}' value='{g}'> {g}</label>" for g in GRADES
    )
    options = "".join(f"<option>{_e(r)}</option>" for r in WRONG_REASONS)
    return (
        f"<div class='grade'><b>Grade:</b> {radios} <select><option value=''>reason…</option>"
        f"{options}</select> <input type='text' size='50' placeholder='note'></div>"
    )


def render_html(records: Sequence[dict[str, Any]], summary: Summary) -> str:
    head = [f"<header><h1>{_e(summary.title)}</h1>"]
    head.append(
        "<table>" + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in summary.facts)
    )
    head.append("</table>")
    for title, rows in summary.tables:
        head.append(
            f"<table><tr><th colspan=2>{_e(title)}</th></tr>"
            + (
                "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
                or "<tr><td colspan=2>none</td></tr>"
            )
            + "</table>"
        )
    head.append(
        "<p>Grade each suggestion as its owner would: <b>useful</b> (would send / accept it), "
        "<b>harmless</b> (would just delete it), <b>wrong</b> (with the reason). Grades stay "
        "in this browser; <button onclick='download()'>download grades.json</button> "
        "<span id='tally'></span></p></header>"
    )
    body = []
    for rec in records:
        people = ", ".join(_person(p) for p in rec["people"])
        facts = "".join(
            f"<tr><td>{_e(f['label'])}</td><td>{_e(f['text'])}</td></tr>"
            for f in rec["reasons"]["facts"]
        )
        body.append(
            f"<section class='s' data-id='{rec['id']}'>"
            f"<h2><span class='kind'>{_e(rec['kind'])}</span> #{rec['id']} {_e(rec['title'])}</h2>"
            f"<div class='meta'>state {_e(rec['state'])} · score {_e(rec['score'])} · {people}</div>"
            f"<div>{_e(rec['reasons']['why'])}</div><table class='facts'>{facts}</table>"
            f"<div class='cols'><div>{_draft_html(rec)}</div><div>{_evidence_html(rec)}</div></div>"
            f"{_grade_html(rec['id'])}</section>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{_e(summary.title)}</title><style>{CSS}</style><script>{JS}</script></head>"
        f"<body>{''.join(head)}{''.join(body)}</body></html>"
    )


def owner_addresses(factory: sessionmaker[Session], owner_id: int) -> set[str]:
    """The owner's addresses as rapportd knows them: the identity the analysis learned and
    stored (``Owner.identity``), the owner's and the accounts' addresses and aliases."""
    with factory() as db:
        owner = db.get(Owner, owner_id)
        assert owner is not None
        known = {owner.email.lower()}
        identity = getattr(owner, "identity", None) or {}
        known |= {str(a).lower() for a in identity.get("addresses", [])}
        for account in db.scalars(select(Account).where(Account.owner_id == owner_id)):
            known.add(account.address.lower())
            known |= {str(a).lower() for a in account.aliases or []}
        return known


def display_names(factory: sessionmaker[Session], owner_id: int) -> set[str]:
    """Every display name the store holds (senders, recipients, contacts)."""
    names: set[str] = set()
    with factory() as db:
        names |= {
            n
            for n in db.scalars(select(Message.from_name).where(Message.owner_id == owner_id))
            if n
        }
        names |= {
            n
            for n in db.scalars(
                select(ContactIdentity.name).where(ContactIdentity.owner_id == owner_id)
            )
            if n
        }
        names |= {
            n
            for n in db.scalars(select(Contact.display_name).where(Contact.owner_id == owner_id))
            if n
        }
        for to, cc in db.execute(
            select(Message.to_addrs, Message.cc_addrs).where(Message.owner_id == owner_id)
        ):
            for item in [*(to or []), *(cc or [])]:
                person = _address_list([item])
                if person and person[0]["name"]:
                    names.add(person[0]["name"])
    return names


def signatures(box: Any, senders: Iterable[str]) -> dict[str, str]:
    """Sender address -> the tail of their messages' bodies (where people sign), lower-case,
    for the given ``senders`` only."""
    wanted = {s.lower() for s in senders}
    tails: dict[str, list[str]] = {}
    for msg in box.messages.values():
        sender = getaddresses([msg.header("From") or ""])
        if not sender or sender[0][1].lower() not in wanted:
            continue
        try:
            own, rest = mailtext.split_reply(message_text(msg.raw))
        except Exception:
            continue
        lines = [x for x in (own + "\n" + rest[:600]).split("\n") if x.strip()]
        tails.setdefault(sender[0][1].lower(), []).append("\n".join(lines[-12:]))
    return {k: "\n".join(v).lower() for k, v in tails.items()}


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M %Z")
