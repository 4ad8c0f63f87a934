"""People's names as a person would use them: readable display names, the name to greet
someone with, and the name the owner signs with.

Words:

readable name
    a display name as a person writes it: ``"Kean, Steven J."`` -> ``"Steven J. Kean"``,
    ``"Steven J Kean/HOU/EES@EES"`` -> ``"Steven J Kean"``, ``"JOHN SMITH"`` ->
    ``"John Smith"``. Empty when the "name" is an address or a role.
greeting name
    what to write after "Hi": how the owner greeted this person before ("Rosie - ..."),
    else the name the person signs with ("... Thanks, Jeff"), else the first name of their
    display name. Never an address's local part: with no name, the greeting has none.
fits
    a name fits a person when it is one of their display name's words, a short form of it
    ("Steve" for "Steven", "Rosie" for "Rosalee"), a pet form of it ("Jim" for "James",
    "Peggy" for "Margaret", "Bill" for "William": the ``nicknames`` table), or a word of
    their address.

All functions are pure and total.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from nicknames import NickNamer

from rapportd.agent.inference.types import Msg


def _letters(test: Callable[[str], bool]) -> str:
    """A regex class body of the Latin, Greek and Cyrillic letters (Latin-1, Extended-A/B and
    Additional: "Ł", "ş", "đ", "ř", "ạ") that pass ``test``."""
    spans = ((0x41, 0x530), (0x1E00, 0x1F00))
    chars = (chr(c) for lo, hi in spans for c in range(lo, hi))
    return "".join(re.escape(ch) for ch in chars if test(ch))


_UP, _LOW = _letters(str.isupper), _letters(str.islower)
# A name word: a capital letter, then letters, apostrophes or hyphens ("O'Neil", "Jean-Luc",
# "Małgorzata", "Şule").
_WORD = rf"[{_UP}][{_LOW}'’\-]+"
_NAME_TOKEN = re.compile(rf"^[{_UP}][{_LOW}'’]+(?:-[{_UP}{_LOW}][{_LOW}'’]+)*$")
# Display names of roles, teams and systems, not of a person ("Outlook Migration Team").
_ORG_WORDS = {
    "team", "group", "department", "dept", "desk", "office", "services", "service", "support",
    "center", "centre", "committee", "announcements", "announcement", "news", "newsletter",
    "notifications", "notification", "alerts", "admin", "administrator", "helpdesk", "info",
    "sales", "billing", "marketing", "hr", "it", "system", "systems", "migration", "mailer",
    "daemon", "postmaster", "noreply", "no-reply", "reply", "inc", "llc", "ltd", "gmbh", "corp",
    "corporation", "company", "foundation", "association", "council", "board", "directors",
    "members", "staff", "all", "everyone", "list", "digest", "bulletin", "calendar", "bot",
}  # fmt: skip
_TITLES = {"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "madam", "esq", "jr", "sr", "ii", "iii"}
# Words that open a line without being a name ("Thanks -", "Folks:", "All,").
_NOT_NAMES = {
    "hi", "hello", "hey", "dear", "thanks", "thank", "regards", "best", "cheers", "all",
    "folks", "team", "everyone", "everybody", "guys", "gentlemen", "ladies", "friends",
    "fyi", "please", "attached", "here", "see", "re", "fw", "fwd", "note", "ok", "okay",
    "yes", "no", "sorry", "great", "good", "morning", "afternoon", "evening", "update",
    "question", "questions", "comments", "agreed", "done", "sure", "congratulations",
    "congrats", "welcome", "sincerely", "yours", "love", "again", "also", "and", "or",
    "the", "this", "that", "these", "those", "we", "you", "i", "it", "urgent", "important",
    "confidential", "draft", "subject", "from", "to", "cc", "sent", "date", "call", "let",
    "can", "could", "would", "will", "should", "did", "do", "does", "is", "are", "was",
    "per", "as", "if", "when", "what", "who", "why", "how", "where", "any", "my", "our",
}  # fmt: skip
_LOTUS_SUFFIX = re.compile(r"\s*/[A-Za-z0-9 &.\-]+(?:/[A-Za-z0-9 &.\-]+)*(?:@\S*)?$")
_PAREN = re.compile(r"\(.*?\)|\[.*?\]|<.*?>")
_GREETING_LINE = re.compile(
    rf"^\s*(?:(?i:hi|hello|hey|dear|hiya|morning|good (?:morning|afternoon|evening))[ \t]+)?"
    rf"({_WORD})(?:[ \t]+({_WORD}))?[ \t]*(?:[,:!–—\-]|$)"
)
_SIGNED = re.compile(rf"^\s*[-–—~]?\s*({_WORD})\s*\.?\s*$")


def readable_name(raw: str, address: str = "") -> str:
    """A display name as a person writes it (see the module docstring); "" for none, and
    for a "name" that only repeats ``address``'s local part ("mday" for mday@gmssr.com)."""
    if not isinstance(raw, str):
        return ""
    name = raw.strip().strip("\"'").strip()
    if not name or ("@" in name and " " not in name.strip() and "." in name.rpartition("@")[2]):
        return ""
    name = _PAREN.sub(" ", name)
    name = _LOTUS_SUFFIX.sub("", name) if "/" in name else name
    name = re.sub(r"(?<=\w)@[A-Za-z][\w\-]*(?:@[A-Za-z][\w\-]*)*$", "", name)  # "Joe Hartsoe@Enron"
    name = re.sub(r"\S+@\S+", " ", name)  # an address inside the name field
    name = name.replace('"', " ").replace("'", "'").strip(" ,;")
    if address and "@" in address:
        # the address's local part written as a name: "mday", "jeff.dasovich", "j_smith"
        local = address.rpartition("@")[0]
        if name == local or (name.lower() == local.lower() and re.search(r"[._\-]", local)):
            return ""
    if "," in name:
        last, _, first = name.partition(",")
        if first.strip() and len(last.split()) <= 3:
            name = f"{first.strip()} {last.strip()}"
        else:
            name = last
    words = [w for w in re.split(r"\s+", name) if w]
    if not words or any(any(ch.isdigit() for ch in w) for w in words):
        return ""
    if all(w.isupper() and len(w) > 1 for w in words if w.isalpha()):
        words = [w.capitalize() for w in words]
    words = [w[0].upper() + w[1:] if w[:1].islower() and len(w) > 2 else w for w in words]
    return " ".join(words)


def given_name(display: str, address: str = "") -> str:
    """The first name in a readable display name ("Steven J. Kean" -> "Steven"); "" when
    the display name has no plausible given name (a role, an initial only)."""
    words = readable_name(display, address).split()
    if any(w.strip(".").lower() in _ORG_WORDS for w in words):
        return ""
    for word in words:
        bare = word.strip(".")
        if bare.lower() in _TITLES:
            continue
        if len(bare) >= 2 and _NAME_TOKEN.match(bare) and bare.lower() not in _NOT_NAMES:
            return bare
        return ""
    return ""


def _local_words(address: str) -> list[str]:
    local = address.rpartition("@")[0].lower() if "@" in address else address.lower()
    return [w for w in re.split(r"[._\-+0-9]+", local) if w]


def fits(name: str, address: str, display: str = "") -> bool:
    """Whether ``name`` can be what this person is called (see the module docstring)."""
    n = name.strip().lower()
    if len(n) < 2 or n in _NOT_NAMES:
        return False
    words = [w.strip(".").lower() for w in readable_name(display).split()]
    for w in words:
        if len(w) < 2:
            continue
        if n == w or (len(n) >= 3 and (w.startswith(n[:3]) and n[0] == w[0]) and len(w) >= 3):
            return True
        if _nickname(n, w):
            return True
    local = _local_words(address)
    return any(
        n == w or (len(w) >= 4 and w.startswith(n)) or (len(w) >= 3 and _nickname(n, w))
        for w in local
    )


@cache
def _nicknamer() -> NickNamer:
    return NickNamer()


def _nickname(name: str, word: str) -> bool:
    """Whether ``name`` is a pet form of the given name ``word`` ("jim" of "james", "peggy" of
    "margaret", "bill" of "william"), by the hand-curated English table of ``nicknames``."""
    nn = _nicknamer()
    return name in nn.nicknames_of(word) or word in nn.canonicals_of(name)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def greeted_name(text: str) -> str:
    """The name a message opens with ("Rosie - please print", "Hi Jeff,", "Bonnie: ...");
    "" when it opens otherwise or greets several people."""
    line = _first_line(text)
    m = _GREETING_LINE.match(line)
    if not m:
        return ""
    first = m.group(1)
    if first.lower() in _NOT_NAMES:
        return ""
    rest = line[m.end() :].strip().lower()
    if rest.startswith(("and ", "& ")):
        return ""
    # "Jeff Dasovich:" greets Jeff; "Please Review" is not a greeting.
    if not re.search(r"[,:!–—\-]\s*", line[m.start(1) : m.end()]) and rest:
        return ""
    return first


# "Please forward to Michael Kirby.", "pass this along to Jim", "Can you send it on to Ann
# Lee?": the first words of a message hand it to someone who is not its addressee.
_RELAY = re.compile(
    rf"(?:^|[.!?:;\-–—]\s+|\b(?i:please|pls|kindly|can you|could you|would you|will you)\s+)"
    rf"(?i:forward|pass|send|give)(?:\s+(?i:this|it|these|them|the\s+\w+))?"
    rf"(?:\s+(?i:on|along))?\s+(?i:to)\s+({_WORD}(?:[ \t]+(?:[A-Z]\.[ \t]+)?{_WORD})?)"
)


def relayed_to(text: str) -> str:
    """The person a message asks its addressee to pass it to, in its first two lines
    ("Bonnie: Please forward to Michael Kirby."): what follows speaks to that person, so an
    ask in it is theirs, not the addressee's. "" when the message opens otherwise."""
    head = " ".join([ln for ln in text.splitlines() if ln.strip()][:2])
    m = _RELAY.search(head)
    if not m or m.group(1).split()[0].lower() in _NOT_NAMES:
        return ""
    return m.group(1)


def signed_name(text: str) -> str:
    """The name a message's author signs with: the last line a single name ("Jeff",
    "- Jeff", "Thanks, Jeff"); "" when there is none."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    last = lines[-1]
    m = re.match(rf"^(?:thanks|thank you|regards|best|cheers)[,!.]?\s+({_WORD})\.?$", last, re.I)
    if m:
        return m.group(1)
    m = _SIGNED.match(last)
    if m and m.group(1).lower() not in _NOT_NAMES and len(lines) > 1:
        return m.group(1)
    return ""


@dataclass(frozen=True)
class GreetingName:
    name: str
    source: str  # "you greeted them so" | "they sign so" | "display name" | ""


def learn_greetings(msgs: Sequence[Msg], owner: Iterable[str]) -> dict[str, Counter[str]]:
    """How the owner opened mail to each person: address -> Counter of names. A name counts
    for the one direct recipient it fits (or, with one direct recipient, for them when it
    shares their address's initial)."""
    mine = {a.lower() for a in owner}
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for m in msgs:
        if m.direction != "out" or not m.text:
            continue
        name = greeted_name(m.text)
        if not name:
            continue
        direct = [a for a in (m.to or m.recipients) if a not in mine]
        others = [a for a in m.recipients if a not in mine]
        fitting = [a for a in others if fits(name, a, m.name_of(a))]
        if len(fitting) == 1:
            out[fitting[0]][name] += 1
        elif not fitting and len(direct) == 1 and len(others) == 1:
            a = direct[0]
            if (
                not m.name_of(a)
                and _local_words(a)[:1]
                and (_local_words(a)[0][0] == name[0].lower())
            ):
                out[a][name] += 1
    return out


def learn_signatures(msgs: Sequence[Msg], owner: Iterable[str]) -> dict[str, Counter[str]]:
    """The names people sign their own mail with: address -> Counter of names that fit."""
    mine = {a.lower() for a in owner}
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for m in msgs:
        if not m.text or m.direction != "in" or m.sender in mine:
            continue
        name = signed_name(m.text)
        if name and fits(name, m.sender, m.sender_name):
            out[m.sender][name] += 1
    return out


def greeting_name(
    address: str,
    display: str,
    greetings: Mapping[str, Counter[str]],
    signatures: Mapping[str, Counter[str]],
    *,
    addresses: Iterable[str] = (),
) -> GreetingName:
    """The name to greet a person with (see the module docstring)."""
    all_addrs = [address, *addresses]
    said: Counter[str] = Counter()
    signed: Counter[str] = Counter()
    for a in all_addrs:
        said.update(greetings.get(a, Counter()))
        signed.update(signatures.get(a, Counter()))
    if said:
        return GreetingName(said.most_common(1)[0][0], "you greeted them so")
    if signed:
        return GreetingName(signed.most_common(1)[0][0], "they sign so")
    first = given_name(display, address)
    if first:
        return GreetingName(first, "display name")
    return GreetingName("", "")


def owner_sign_offs(
    msgs: Sequence[Msg], owner: Iterable[str], owner_names: Iterable[str]
) -> tuple[str, dict[str, str]]:
    """The name the owner signs with, overall and per recipient where it differs:
    ``("Steve", {"mom@example.com": "Stevie"})``. Only names that fit the owner count. When
    the owner's mail shows no sign-off, the name people greet the owner with ("Steve - here
    are the projects") is what they call him, and what he would sign with."""
    mine = {a.lower() for a in owner}
    names = [n for n in owner_names if n]
    overall: Counter[str] = Counter()
    called: Counter[str] = Counter()
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for m in msgs:
        if not m.text:
            continue
        if m.direction == "in" and any(a in mine for a in (m.to or m.recipients)):
            greeted = greeted_name(m.text)
            if greeted and any(fits(greeted, "", n) for n in names):
                called[greeted] += 1
            continue
        if m.direction != "out":
            continue
        name = signed_name(m.text)
        if not name or not any(fits(name, "", n) for n in names):
            continue
        overall[name] += 1
        for a in m.recipients:
            if a not in mine:
                per[a][name] += 1
    if not overall:
        return (called.most_common(1)[0][0] if called else ""), {}
    top = overall.most_common(1)[0][0]
    special = {
        a: c.most_common(1)[0][0]
        for a, c in per.items()
        if c.most_common(1)[0][0] != top and c.most_common(1)[0][1] >= 2
    }
    return top, special
