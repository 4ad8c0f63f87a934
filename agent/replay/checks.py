"""Mechanical checks on a replay's suggestions: faults a person would spot at once, counted
without grading. ``benchmarks/realmail.py`` prints them; ``tests/jobs/test_replay.py``
asserts them on a small real archive.

- ``to_owner``: a draft or hold addressed to one of the owner's own addresses (as rapportd
  knows them, plus any the caller knows to be the owner's);
- ``duplicates``: a suggestion repeating an earlier one (same kind and people, and the same
  quoted sentence or the same draft body once case and spacing are ignored);
- ``local_part_greetings``: a greeting whose name is the local part of a recipient's
  address ("Hi Kevinscott"), or a name found in no display name and no signature of the
  recipients;
- ``quoted_outside_own_text``: a quoted sentence that lies in what a message carries
  (quoted reply, forward, header block, signature) rather than in its author's own text:
  either :func:`rapportd.agent.core.mailtext.split_reply` puts it there, or the sentence itself
  reads as a line of a quoted message's header block whatever the split says (Outlook's
  "-----Original Message-----" and "From:/Sent:/To:/Subject:" lines, Lotus Notes'
  "Name <addr> on 07/16/2001 01:58 PM ... Please respond to", "Forwarded by", "On ...
  wrote:", "> " quoting) — so the check does not lean only on the splitter it checks;
  ``quoted_not_found``: a quoted sentence that is not in the message body at all;
- ``outbox_writing``: outbox rows left in ``writing``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hallo|bonjour|hola)"
    r"\s+([^\s,!:;.]+(?:\s+[^\s,!:;.]+)?)\s*[,!:;.]?",
    re.I,
)
HEADER_LINE = re.compile(
    r"(^\s*>)|(-{2,}\s*Original Message\s*-{2,})|(\bForwarded by\b)|(-{3,}\s*Forwarded)"
    r"|(\bPlease respond to\b)|(\bwrote:\s*$)"
    r"|(\bon \d{1,2}/\d{1,2}/\d{2,4},? \d{1,2}:\d{2}(:\d{2})?\s*[AP]M\b)"
    r"|(^\s*(From|Sent|To|Cc|Subject|Date)\s*:\s*\S)",
    re.I | re.M,
)
CHECKS = (
    "to_owner",
    "duplicates",
    "local_part_greetings",
    "quoted_outside_own_text",
    "quoted_not_found",
    "outbox_writing",
)


@dataclass
class Finding:
    id: int
    detail: str


@dataclass
class Checks:
    found: dict[str, list[Finding]] = field(default_factory=lambda: {c: [] for c in CHECKS})

    def count(self, name: str) -> int:
        return len(self.found[name])

    def lines(self) -> list[str]:
        out = []
        for name in CHECKS:
            items = self.found[name]
            shown = "; ".join(f"#{f.id} {f.detail}" for f in items[:6])
            more = f"; … {len(items) - 6} more" if len(items) > 6 else ""
            out.append(f"{name}: {len(items)}" + (f"  ({shown}{more})" if items else ""))
        return out


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def recipients(rec: dict[str, Any]) -> list[dict[str, str]]:
    """Who the written item goes to (draft To/Cc, or the planned To if nothing was written)."""
    if rec.get("draft"):
        return [*rec["draft"]["to"], *rec["draft"]["cc"]]
    return list((rec.get("planned") or {}).get("to") or [])


def people_key(rec: dict[str, Any]) -> tuple[str, ...]:
    addrs = {p["address"].lower() for p in recipients(rec) if p.get("address")}
    addrs |= {p["address"].lower() for p in rec.get("people", []) if p.get("address")}
    return tuple(sorted(addrs))


def body_of(rec: dict[str, Any]) -> str:
    if rec.get("draft"):
        return str(rec["draft"]["body"])
    return str((rec.get("planned") or {}).get("body") or "")


def greeting_name(body: str) -> str:
    first = next((line for line in body.split("\n") if line.strip()), "")
    m = GREETING.match(first)
    return m.group(1).strip() if m else ""


def run_checks(
    records: Sequence[dict[str, Any]],
    *,
    owner_addresses: Iterable[str],
    display_names: Iterable[str],
    signatures: dict[str, str],
    outbox_writing: Iterable[int],
) -> Checks:
    checks = Checks()
    mine = {a.lower() for a in owner_addresses}
    name_words = {w for n in display_names for w in _norm(n).split()}
    seen_sentence: dict[tuple[Any, ...], int] = {}
    seen_body: dict[tuple[Any, ...], int] = {}
    for rec in records:
        rid = int(rec["id"])
        to = recipients(rec)
        own = sorted({p["address"].lower() for p in to} & mine)
        if own:
            checks.found["to_owner"].append(Finding(rid, ", ".join(own)))
        key = (rec["kind"], people_key(rec))
        sentences = [_norm(e.get("sentence", "")) for e in rec["evidence"] if e.get("sentence")]
        body = _norm(body_of(rec))
        dup_of = None
        for s in sentences:
            dup_of = dup_of or seen_sentence.get((*key, s))
            seen_sentence.setdefault((*key, s), rid)
        if body:
            dup_of = dup_of or seen_body.get((*key, body))
            seen_body.setdefault((*key, body), rid)
        if dup_of is not None:
            checks.found["duplicates"].append(Finding(rid, f"repeats #{dup_of}"))
        name = greeting_name(body_of(rec))
        if name:
            first = _letters(name.split()[0])
            locals_ = {_letters(p["address"].split("@")[0]) for p in to if p.get("address")}
            tails = " ".join(signatures.get(p["address"].lower(), "") for p in to)
            if _letters(name) in locals_ or first in locals_:
                checks.found["local_part_greetings"].append(
                    Finding(rid, f"'{name}' is an address's local part")
                )
            elif first and first not in name_words and first not in _letters(tails):
                checks.found["local_part_greetings"].append(
                    Finding(rid, f"'{name}' is in no display name or signature")
                )
        for e in rec["evidence"]:
            if not e.get("sentence"):
                continue
            if e.get("own_text") is False:
                checks.found["quoted_outside_own_text"].append(
                    Finding(rid, f"“{e['sentence'][:60]}” is outside the split's own text")
                )
            elif HEADER_LINE.search(e["sentence"]):
                checks.found["quoted_outside_own_text"].append(
                    Finding(rid, f"“{e['sentence'][:60]}” reads as a quoted header line")
                )
            elif e.get("own_text") is None:
                checks.found["quoted_not_found"].append(
                    Finding(rid, f"“{e['sentence'][:60]}” not in {e.get('message_id', '')}")
                )
    for op_id in outbox_writing:
        checks.found["outbox_writing"].append(Finding(op_id, "outbox op left in writing"))
    return checks
