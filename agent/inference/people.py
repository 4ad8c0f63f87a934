"""People, not addresses: the owner's own identity, automated and bulk senders, internal vs
external, and which addresses belong to the same person.

Words:

canonical address
    the mailbox an address delivers to: lower case, ``+tag`` sub-addressing removed, and
    for Gmail the dots of the local part removed. Two addresses with the same canonical
    form are the same mailbox, hence the same person.
signal
    a reason a single message is not personal mail (a List-Id, a Gmail category ...).
verdict
    whether a sender as a whole is automated, with the reasons.
decision
    the owner's explicit merge or split of two addresses; it always wins over inference.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from rapportd.agent.inference.names import readable_name
from rapportd.agent.inference.types import Meeting, Msg, OwnerProfile

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
# Mail providers anyone can sign up with: an address there says nothing about an organisation.
PUBLIC_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "hotmail.com",
        "hotmail.co.uk", "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com",
        "me.com", "mac.com", "gmx.de", "gmx.net", "gmx.com", "web.de", "proton.me",
        "protonmail.com", "mail.com", "yandex.ru", "yandex.com", "zoho.com", "fastmail.com",
        "orange.fr", "free.fr", "wanadoo.fr", "laposte.net", "t-online.de", "freenet.de",
        "libero.it", "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "earthlink.net",
        "qq.com", "163.com", "126.com", "naver.com", "rediffmail.com", "mail.ru",
    }
)  # fmt: skip

NO_REPLY = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|noreply|donotreply|mailer[-_.]?daemon|postmaster|"
    r"bounces?|notifications?|notify|alerts?|newsletters?|news|marketing|mailer|automated|"
    r"calendar[-_.]?notification|auto[-_.]?confirm|system)([-_.+].*)?$"
)
# Senders of notifications and bulk mail by domain: mail-delivery services that send on behalf
# of companies, and domains that only send a service's notifications (not the domains its
# own staff write from: a LinkedIn employee is a person); plus
# the marketing subdomains companies send bulk mail from ("email.example.com").
NOTIFIER_DOMAIN = re.compile(
    r"(?:^|\.)(?:sendgrid\.net|mailgun\.(?:org|net)|amazonses\.com|mcsv\.net|rsgsv\.net|"
    r"mailchimp(?:app)?\.com|mandrillapp\.com|exacttarget\.com|sfmc-?\w*\.com|"
    r"constantcontact\.com|createsend\.com|cmail\d+\.com|hubspot(?:email)?\.(?:com|net)|"
    r"mktomail\.com|marketo\.(?:com|org)|sparkpostmail\.com|postmarkapp\.com|"
    r"concursolutions\.com|docusign\.net|service-now\.com|atlassian\.net|"
    r"facebookmail\.com|surveymonkeyuser\.com|qualtrics-survey\.com|myworkday\.com)$"
    r"|^(?:e|em|email|emails|mail|mailer|mailing|news|newsletter|newsletters|info|"
    r"notifications?|notify|alerts?|marketing|promo|offers|updates|bounce|bounces)\.[a-z0-9-]+\.",
    re.I,
)
ROLE = re.compile(r"^(info|support|sales|billing|hello|contact|team|admin|help|service)$")
BULK_CATEGORIES = {
    "CATEGORY_PROMOTIONS": "Gmail category Promotions",
    "CATEGORY_SOCIAL": "Gmail category Social",
    "CATEGORY_UPDATES": "Gmail category Updates",
    "CATEGORY_FORUMS": "Gmail category Forums",
}
BULK_SHARE = 0.5  # a sender is bulk when at least this share of its mail carries signals
ONE_WAY_MIN = 6  # ... or when it wrote this often and the owner never wrote back


def name_words(name: str) -> tuple[str, str]:
    """(given name, surname) of a readable name, lower case; ("", "") when not a full name."""
    words = [w.strip(".").lower() for w in readable_name(name).split()]
    words = [w for w in words if len(w) > 1 and w.replace("-", "").isalpha()]
    if len(words) < 2:
        return "", ""
    return words[0], words[-1]


def name_forms(name: str) -> set[str]:
    """Local parts that spell a person's name: first.last, flast, firstlast, last, ..."""
    first, last = name_words(name)
    if not first:
        return set()
    f = first[0]
    return {
        f"{first}.{last}", f"{first}{last}", f"{first}_{last}", f"{first}-{last}",
        f"{f}{last}", f"{f}.{last}", f"{f}_{last}", f"{last}", f"{last}.{first}",
        f"{last}{f}", f"{last}{first}", f"{last}_{first}",
    }  # fmt: skip


@lru_cache(maxsize=65536)
def canonical_address(address: str) -> str:
    """The mailbox an address delivers to (see the module docstring). Cached: analysis
    asks it for the same few thousand addresses hundreds of thousands of times."""
    addr = address.strip().strip("<>").lower()
    if "@" not in addr:
        return addr
    local, _, domain = addr.rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def owner_profile(
    addresses: Iterable[str],
    *,
    org_domains: Iterable[str] = (),
    timezone: str = "UTC",
    sent_from: Iterable[str] = (),
) -> OwnerProfile:
    """The owner's identity: account addresses, aliases, and every address the owner's own
    sent mail came from (a send-as alias is the owner, not a contact)."""
    own = {a.strip().lower() for a in [*addresses, *sent_from] if a and "@" in a}
    own |= {canonical_address(a) for a in own}
    return OwnerProfile(
        addresses=frozenset(own),
        org_domains=frozenset(d.strip().lower().lstrip("@") for d in org_domains if d.strip()),
        timezone=timezone,
    )


def is_owner(address: str, profile: OwnerProfile) -> bool:
    return _is_owner(address, profile.addresses)


@lru_cache(maxsize=65536)
def _is_owner(address: str, owner: frozenset[str]) -> bool:
    # cached: an analysis asks it about the same addresses a million times (a frozenset
    # keeps its hash, so the key costs one string hash)
    a = address.strip().lower()
    return a in owner or canonical_address(a) in owner


def is_internal(address: str, profile: OwnerProfile) -> bool:
    """Inside the owner's organisation: the domain is one of the org domains or below one."""
    dom = domain_of(address)
    return any(dom == d or dom.endswith("." + d) for d in profile.org_domains)


def message_signals(msg: Msg) -> list[str]:
    """Why this one message is not personal mail (empty: it looks personal)."""
    if not (
        msg.list_id or msg.list_unsubscribe or msg.precedence or msg.auto_submitted or msg.labels
    ):
        return []  # most mail: asked several times per message by every analysis step
    reasons = []
    if msg.list_id:
        reasons.append(f"List-Id {msg.list_id}")
    if msg.list_unsubscribe:
        reasons.append("List-Unsubscribe header")
    if msg.precedence.lower() in ("bulk", "list", "junk"):
        reasons.append(f"Precedence: {msg.precedence.lower()}")
    auto = msg.auto_submitted.lower()
    if auto and auto != "no":
        reasons.append(f"Auto-Submitted: {auto}")
    reasons.extend(BULK_CATEGORIES[lab] for lab in msg.labels if lab in BULK_CATEGORIES)
    return reasons


def list_addresses(msg: Msg) -> list[str]:
    """The recipients of a list message that are the list itself: an address whose local
    part names the message's List-Id ("parents-school@groups.example.org" on
    ``List-Id: <parents-school.groups.example.org>``)."""
    list_id = msg.list_id.lower()
    if not list_id:
        return []
    out = []
    for r in msg.recipients:
        local = r.lower().rpartition("@")[0]
        if len(local) >= 3 and local in list_id:
            out.append(r.lower())
    return out


def address_signals(address: str) -> list[str]:
    local, _, domain = address.lower().rpartition("@")
    if NO_REPLY.match(local):
        return [f"no-reply style address ({local}@)"]
    if NOTIFIER_DOMAIN.search(domain):
        return [f"a notification or bulk-mail domain ({domain})"]
    return []


@dataclass(frozen=True)
class SenderVerdict:
    address: str
    automated: bool
    reasons: tuple[str, ...] = ()


@dataclass
class _Tally:
    received: int = 0
    flagged: int = 0
    sent_to: int = 0
    met: int = 0
    list_posts: int = 0  # their posts to a mailing list (bulk by the list's headers)
    signals: Counter[str] = field(default_factory=Counter)


def classify_senders(
    msgs: Sequence[Msg],
    profile: OwnerProfile,
    meetings: Sequence[Meeting] = (),
    *,
    flagged: Mapping[int, Sequence[str]] | None = None,
) -> dict[str, SenderVerdict]:
    """A verdict for every address the owner exchanged mail with.

    Automated when: a mailing list's own address (:func:`list_addresses`); a no-reply style
    address; or at least half of its mail carries bulk
    signals (List-Id, List-Unsubscribe, Precedence, Auto-Submitted other than an auto-reply,
    Gmail Promotions/Social/Updates/Forums, or the message-level reasons in ``flagged``: see
    :mod:`.bulk`); or a one-way sender (at least ``ONE_WAY_MIN``
    messages, the owner never wrote to it nor met it, and it never wrote to the owner alone).
    """
    tally: dict[str, _Tally] = defaultdict(_Tally)
    direct: Counter[str] = Counter()
    lists: dict[str, str] = {}  # list address -> its List-Id
    for m in msgs:
        posted = list_addresses(m)
        for r in posted:
            lists.setdefault(r, m.list_id)
        if posted and m.direction == "in" and m.sender:
            tally[m.sender].list_posts += 1
        if m.direction == "out":
            for r in set(m.recipients):
                if not is_owner(r, profile):
                    tally[r].sent_to += 1
        elif m.direction == "in" and m.sender and not is_owner(m.sender, profile):
            t = tally[m.sender]
            t.received += 1
            sig = [s for s in message_signals(m) if s != "Auto-Submitted: auto-replied"]
            sig += [s for s in (flagged or {}).get(m.id, ()) if s not in sig]
            if sig:
                t.flagged += 1
                t.signals.update(sig)
            if len(m.recipients) == 1 and is_owner(m.recipients[0], profile):
                direct[m.sender] += 1
    for mt in meetings:
        for p in mt.attendees:
            if p.email and not p.is_self:
                tally[p.email.lower()].met += 1
    out: dict[str, SenderVerdict] = {}
    for addr, t in tally.items():
        reasons = address_signals(addr)
        if addr in lists:
            out[addr] = SenderVerdict(addr, True, (f"a mailing list (List-Id {lists[addr]})",))
            continue  # a list is no person, however often the owner posts to it
        received, flagged_n = t.received, t.flagged
        if t.list_posts and received > t.list_posts:
            # a member who also writes to the owner: judged by that mail, not by the list's
            received, flagged_n = received - t.list_posts, max(0, flagged_n - t.list_posts)
        if received and flagged_n / received >= BULK_SHARE:
            top = ", ".join(s for s, _ in t.signals.most_common(3))
            reasons.append(f"{t.flagged} of {t.received} messages look bulk ({top})")
        if t.received >= ONE_WAY_MIN and not t.sent_to and not t.met and not direct[addr]:
            reasons.append(
                f"one-way sender: {t.received} messages, never answered, never to the owner alone"
            )
        # Someone the owner writes to or meets is a person even behind a role address.
        if reasons and (t.sent_to or t.met) and not address_signals(addr):
            reasons = [r for r in reasons if not r.startswith("one-way")]
            if t.sent_to >= 2 and t.flagged < t.received:
                reasons = []
        out[addr] = SenderVerdict(addr, bool(reasons), tuple(reasons))
    return out


# ---------------------------------------------------------------- merging identities


@dataclass(frozen=True)
class Decision:
    address_a: str
    address_b: str
    decision: Literal["merge", "split"]


def normalise_name(name: str) -> str:
    """``"Smith, John (ACME)"`` -> ``"john smith"``; empty unless it looks like a full name."""
    n = re.sub(r"\(.*?\)|\[.*?\]|[\"']", " ", name).strip()
    if "," in n:
        last, _, first = n.partition(",")
        n = f"{first} {last}"
    tokens = [t for t in re.split(r"[\s.]+", n.lower()) if t and "@" not in t]
    if len(tokens) < 2:
        return ""
    return " ".join(sorted(tokens))


class _Clusters:
    def __init__(self, items: Iterable[str]) -> None:
        self.parent = {a: a for a in items}

    def find(self, a: str) -> str:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def members(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for a in list(self.parent):
            out[self.find(a)].append(a)
        return out


@dataclass(frozen=True)
class Identities:
    """Which addresses are one person: ``cluster_of[address]`` is the cluster key (the
    cluster's smallest address) and ``reasons[key]`` says why its members were merged."""

    cluster_of: dict[str, str]
    reasons: dict[str, list[str]]

    def members(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for a, k in self.cluster_of.items():
            out[k].append(a)
        return {k: sorted(v) for k, v in out.items()}


def reply_as_pairs(msgs: Sequence[Msg], profile: OwnerProfile) -> set[tuple[str, str]]:
    """(asked, answered) pairs: the owner wrote to ``asked`` only, and the reply to that very
    message came from ``answered``, a different address."""
    by_id = {m.rfc822_id: m for m in msgs if m.rfc822_id and m.direction == "out"}
    pairs = set()
    for m in msgs:
        if m.direction != "in" or not m.in_reply_to or m.in_reply_to not in by_id:
            continue
        asked = [r for r in by_id[m.in_reply_to].recipients if not is_owner(r, profile)]
        if len(asked) == 1 and asked[0] != m.sender and m.sender not in asked:
            pairs.add((asked[0], m.sender))
    return pairs


def _spelled_pairs(addrs: Sequence[str], names: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(named address, other address, name) where the other address, at the same
    organisation's domain, spells that person's name and names nobody else: "mpalmer@x" for
    Mark Palmer <mark.palmer@x>. Never at public mail domains; never when the other address
    carries a different name, or when two named people at the domain could own it."""
    by_domain: dict[str, list[str]] = defaultdict(list)
    for a in addrs:
        by_domain[domain_of(a)].append(a)
    out = []
    for domain, group in by_domain.items():
        if domain in PUBLIC_DOMAINS or len(group) < 2:
            continue
        named = {a: names[a] for a in group if name_words(names.get(a, ""))[0]}
        # each form of each name, and the form cut to a short user id ("kmagrude")
        spelled_by: dict[str, set[str]] = defaultdict(set)
        for a, n in named.items():
            for form in name_forms(n):
                spelled_by[form].add(a)
                for k in range(6, len(form)):
                    spelled_by[form[:k]].add(a)
        for b in group:
            local = b.rpartition("@")[0].replace("..", ".")
            owners = spelled_by.get(local, set()) - {b}
            if len(owners) != 1:
                continue
            a = next(iter(owners))
            other = names.get(b, "")
            if (
                other
                and normalise_name(other) != normalise_name(named[a])
                and name_words(other)[1] != name_words(named[a])[1]
            ):
                continue
            out.append((a, b, readable_name(named[a])))
    return out


def merge_identities(
    addresses: Iterable[str],
    names: Mapping[str, str],
    *,
    reply_as: Iterable[tuple[str, str]] = (),
    decisions: Sequence[Decision] = (),
) -> Identities:
    """Cluster addresses into people.

    Rules, in order: explicit merges; the same canonical mailbox; the same full display name
    with the same local part on another domain; an address that spells a named person's name
    at the same organisation's domain (see :func:`_spelled_pairs`); the same full display name
    where one address answered a message sent only to the other. An automatic merge never joins two addresses
    the owner split (explicit decisions always win).
    """
    addrs = sorted({a.strip().lower() for a in addresses if a})
    clusters = _Clusters(addrs)
    reasons: dict[tuple[str, str], str] = {}
    splits = {
        frozenset((d.address_a.lower(), d.address_b.lower()))
        for d in decisions
        if d.decision == "split"
    }

    def blocked(a: str, b: str) -> bool:
        if not splits:
            return False
        ra, rb = clusters.find(a), clusters.find(b)
        group = clusters.members()
        left, right = group.get(ra, [a]), group.get(rb, [b])
        return any(frozenset((x, y)) in splits for x in left for y in right)

    def merge(a: str, b: str, why: str, explicit: bool = False) -> None:
        if clusters.find(a) == clusters.find(b):
            return
        if not explicit and blocked(a, b):
            return
        clusters.union(a, b)
        reasons[(a, b)] = why

    for d in decisions:
        if d.decision == "merge":
            merge(d.address_a.lower(), d.address_b.lower(), "merged by the owner", explicit=True)
    by_canon: dict[str, list[str]] = defaultdict(list)
    for a in addrs:
        by_canon[canonical_address(a)].append(a)
    for group in by_canon.values():
        for other in group[1:]:
            merge(group[0], other, f"same mailbox ({canonical_address(other)})")
    by_name: dict[str, list[str]] = defaultdict(list)
    for a in addrs:
        n = normalise_name(names.get(a, ""))
        if n:
            by_name[n].append(a)
    for name, group in by_name.items():
        by_local: dict[str, list[str]] = defaultdict(list)
        for a in group:
            by_local[a.rpartition("@")[0]].append(a)
        for same in by_local.values():
            for other in same[1:]:
                merge(same[0], other, f"same name ({name}) and same local part")
    for a, b, name in _spelled_pairs(addrs, names):
        merge(a, b, f"{b} spells {name}'s name at {domain_of(b)}")
    name_of = {a: normalise_name(names.get(a, "")) for a in addrs}
    for asked, answered in sorted(reply_as):
        if asked in name_of and name_of.get(asked) and name_of.get(asked) == name_of.get(answered):
            merge(asked, answered, f"{answered} answered mail sent only to {asked}")
    cluster_of = {a: clusters.find(a) for a in addrs}
    why: dict[str, list[str]] = defaultdict(list)
    for (a, b), text in reasons.items():
        why[cluster_of[a]].append(f"{a} + {b}: {text}")
    return Identities(cluster_of, dict(why))
