"""Who the owner is on real mail: all of their addresses (each with the reason rapportd
believes it), the name they go by and the name they sign with.

Sources of the owner's addresses, strongest first:

1. the owner's decisions ("this is me" / "this is not me"); they always win;
2. the accounts' own addresses and the provider's send-as list (``Account.aliases``);
3. every address on mail the provider filed as sent (Gmail ``SENT``, Graph ``sentitems``):
   the owner wrote it, from that address;
4. a look-alike at one of the owner's own domains (never a public mail domain) with
   evidence: it carries the owner's name as its display name, or its local part is a form
   of the owner's name ("skean", "steven.kean", "kean") AND mail addressed only to it
   arrived in the owner's mailbox. The reason is shown and the owner can undo it.

Pure: no I/O. ``agent/analysis/analyse.py`` stores the result on the owner row.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapportd.agent.inference.names import owner_sign_offs, readable_name
from rapportd.agent.inference.people import (
    PUBLIC_DOMAINS,
    canonical_address,
    domain_of,
    message_signals,
    name_forms,
    name_words,
)
from rapportd.agent.inference.types import Msg


@dataclass(frozen=True)
class OwnerIdentity:
    addresses: frozenset[str]
    reasons: dict[str, list[str]] = field(default_factory=dict)  # address -> why it is the owner
    name: str = ""  # readable ("Steven J. Kean")
    sign_off: str = ""  # the name the owner signs with ("Steve")
    sign_off_by_recipient: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "addresses": sorted(self.addresses),
            "reasons": {a: list(r) for a, r in sorted(self.reasons.items())},
            "name": self.name,
            "sign_off": self.sign_off,
            "sign_off_by_recipient": dict(sorted(self.sign_off_by_recipient.items())),
        }


def _local(address: str) -> str:
    local = address.rpartition("@")[0]
    local = local.split("+", 1)[0]
    # "steven.j.kean", "j..kean": middle initials and doubled dots do not change the name
    return re.sub(r"\.{2,}", ".", local)


def _spells_name(address: str, names: Iterable[str]) -> bool:
    local = _local(address)
    bare = re.sub(r"(?<=\.)[a-z]\.", "", local)  # steven.j.kean -> steven.kean
    for n in names:
        forms = name_forms(n)
        if local in forms or bare in forms:
            return True
    return False


def _same_person_name(a: str, b: str) -> bool:
    fa, la = name_words(a)
    fb, lb = name_words(b)
    return bool(fa) and la == lb and (fa == fb or fa.startswith(fb[:3]) or fb.startswith(fa[:3]))


def infer_owner_identity(
    msgs: Sequence[Msg],
    *,
    accounts: Iterable[str],
    provider_aliases: Iterable[str] = (),
    display_name: str = "",
    mine: Iterable[str] = (),
    not_mine: Iterable[str] = (),
) -> OwnerIdentity:
    """The owner's addresses, name and sign-off (see the module docstring). ``mine`` and
    ``not_mine`` are the owner's own decisions."""
    refused = {a.strip().lower() for a in not_mine if a}
    reasons: dict[str, list[str]] = defaultdict(list)

    def add(address: str, why: str) -> None:
        a = address.strip().lower()
        if a and "@" in a and a not in refused and why not in reasons[a]:
            reasons[a].append(why)

    for a in accounts:
        add(a, "your account")
    for a in provider_aliases:
        add(a, "a send-as address of your account")
    for a in mine:
        add(a, "you said it is yours")
    sent_from: Counter[str] = Counter(m.sender for m in msgs if m.direction == "out" and m.sender)
    for a, n in sent_from.items():
        if a.lower() not in reasons:
            add(a, f"you sent {n} message{'s' if n != 1 else ''} from it")

    known = set(reasons)
    names: Counter[str] = Counter()
    if display_name:
        names[readable_name(display_name) or display_name] += 100
    for m in msgs:
        if m.direction == "out" and m.sender_name:
            names[readable_name(m.sender_name)] += 1
    names.pop("", None)
    owner_names = [n for n, _ in names.most_common(5)]
    name = owner_names[0] if owner_names else ""

    domains = {domain_of(a) for a in known} - PUBLIC_DOMAINS
    display: dict[str, Counter[str]] = defaultdict(Counter)
    delivered: Counter[str] = Counter()
    for m in msgs:
        if m.sender_name:
            display[m.sender][m.sender_name] += 1
        for a, n in m.recipient_names:
            if n:
                display[a][n] += 1
        if m.direction == "in" and not message_signals(m):
            direct = m.to or m.recipients
            if len(direct) == 1:
                delivered[direct[0]] += 1
    candidates = {a for m in msgs for a in (m.sender, *m.recipients)} - known - refused
    for a in sorted(candidates):
        if not a or domain_of(a) not in domains or canonical_address(a) in known:
            continue
        shown = [n for n, _ in display[a].most_common(3)]
        if any(_same_person_name(n, own) for n in shown for own in owner_names):
            add(a, f"it carries your name ({readable_name(shown[0])}) at {domain_of(a)}")
        elif _spells_name(a, owner_names) and delivered[a]:
            add(
                a,
                f"it spells your name at {domain_of(a)} and {delivered[a]} message"
                f"{'s' if delivered[a] != 1 else ''} addressed only to it reached your mailbox",
            )
    addresses = frozenset(reasons) | {canonical_address(a) for a in reasons}
    sign_off, per = owner_sign_offs(msgs, addresses, owner_names)
    return OwnerIdentity(
        addresses=frozenset(addresses),
        reasons=dict(reasons),
        name=name,
        sign_off=sign_off,
        sign_off_by_recipient=per,
    )
