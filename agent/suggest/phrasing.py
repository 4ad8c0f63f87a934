"""Words for drafts, made from what was said rather than quoted from it (pure).

A draft a person would send names things: "the revised pricing", "whether we should include
the analytics module", "Delta Foods quarterly review". It does not paste the owner's own
sentence back at the recipient ("I promised you 'I'll send the revised pricing by
Thursday'"), nor make a topic of a subject line that is a greeting or a logistics question
("Long time no see", "Dinner on Saturday?").

- :func:`promised_object` — the thing a promise is about, as an object ("the API docs"),
  or "" when the promise names no deliverable (a plan, a feeling, "I'll try");
- :func:`ask_phrase` — what an ask is about, as a phrase that follows "Thanks for asking"
  ("about the case study", "whether we should include the analytics module");
- :func:`topic_of` — a subject line as a topic, or "" when it is none;
- :func:`meeting_title` — a meeting's summary without "Re:", "FW:", invitation prefixes,
  tags and internal codes;
- :func:`day_phrase` — a date as a person writes it in a note ("Tuesday", "Tuesday 15 December").
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rapportd.agent.suggest.proposal import clean_subject

# Where the object of a deed ends: a time, a condition, a clause.
_STOP = (
    r"(?=\s+(?:by|before|on|in|at|within|until|till|tomorrow|today|tonight|next|this|"
    r"later|soon|shortly|early|first thing|asap|when|once|as soon as|after|over the|"
    r"if|so|and (?:then|I|we|will|let|get|come|send|call|revert|forward|share|e-?mail|pass|circulate)|but|because|for you to|for your|to review|ready|done|"
    r"finished|to you|to me|to us|from me|over|across|around|end of|EOD|EOW|ahead of)\b"
    r"|\s*[,.;:!?()\"“”]|\s+-\s|\s*$)"
)
_DET = r"(?:the|a|an|my|our|your|some|all the|all of the|those|these|that|this|his|her|their)"
_NP = rf"(?P<obj>{_DET}\s+[^,.;:!?()\"“”]+?|(?-i:[A-Z])[\w&'’\-]*(?:\s+[\w&'’\-]+){{0,5}}?|(?:updated|revised|final|new|draft)\s+[^,.;:!?()\"“”]+?){_STOP}"
_IOBJ = r"(?:(?:you|me|us|him|her|them|(?-i:[A-Z][a-z]+))\s+)?"
_GIVE = r"(?:send|re-?send|get|forward|share|e-?mail|mail|provide|circulate|deliver|bring|give|pass along|post|upload|drop off)"
_MAKE = r"(?:prepare|draft|write|write up|finish|complete|put together|pull together|finalize|finalise|update|revise|compile|do|dig out|find|track down|pull)"
_REVIEW = r"(?:review|look at|look over|go through|read|check|comment on)"
_OWNER = r"(?:(?:^|[.!?]\s+|\band\s+|\bthen\s+)will|I(?:'ll| will| shall|'d| would| can| could| am going to|'m going to| should| must| need to| have to| plan to| want to| hope to| promise to)|let me|we(?:'ll| will| can))\s+(?:also\s+|try to\s+|definitely\s+|just\s+|still\s+)?"
_ACK_BACK = re.compile(
    r"\b(?:get|come|circle|report)\s+back\s+to\s+you(?:\s+(?:on|about|regarding|re)\s+"
    + _NP.replace("?P<obj>", "?P<about>")
    + r")?",
    re.I,
)
_PRONOUNS = {"it", "that", "this", "them", "those", "these", "something", "anything", "one"}
_GENERIC = {"thing", "things", "stuff", "info", "information", "more", "details", "rest"}


def _clean_object(obj: str) -> str:
    obj = " ".join(obj.split()).strip(" -–—'\"’")
    obj = re.sub(r"\s+(?:to|for|with)\s+(?:you|me|us)$", "", obj, flags=re.I)
    words = obj.split()
    if not words or len(words) > 9:
        return ""
    if words[0].lower() in _PRONOUNS or (len(words) <= 2 and words[-1].lower() in _GENERIC):
        return ""
    if words[0] in ("This", "That", "The", "My", "Our", "Your", "A", "An", "Those", "These"):
        words[0] = words[0].lower()
    if words[0] == "our":
        words[0] = "the"  # "I owe you the travel plans", not "our travel plans"
    return " ".join(words)


def promised_object(text: str) -> str:
    """The deliverable of an owner's promise as an object ("the API docs"), else ""."""
    t = " ".join(text.split())
    m = re.search(rf"\bexpect\s+{_NP.replace(_STOP, '')}\s+from\s+me\b", t, re.I)
    if m:
        return _clean_object(m.group("obj"))
    m = re.search(
        rf"{_OWNER}have\s+{_NP.replace(_STOP, '')}\s+(?:ready|done|finished|over|to you|sent)\b",
        t,
        re.I,
    )
    if m:
        return _clean_object(m.group("obj"))
    for verbs, form in ((_GIVE, "{}"), (_MAKE, "{}"), (_REVIEW, "my comments on {}")):
        m = re.search(
            rf"{_OWNER}(?:\w+\s+and\s+)?{verbs}\s+{_IOBJ}(?:over\s+|along\s+|out\s+)?{_NP}", t, re.I
        )
        if m:
            obj = _clean_object(m.group("obj"))
            if obj:
                return form.format(obj)
    m = re.search(
        rf"\byou(?:'ll| will)?\s+(?:have|get|receive)\s+{_NP.replace(_STOP, '')}\s+from\s+me\b"
        rf"|{_OWNER}make sure you (?:get|have|receive)\s+{_NP.replace('?P<obj>', '?P<obj2>')}"
        rf"|{_OWNER}(?:follow up|circle back|come back|get back)\b[^.?!]{{0,25}}?\bwith\s+"
        + _NP.replace("?P<obj>", "?P<obj3>"),
        t,
        re.I,
    )
    if m:
        obj = _clean_object(m.group("obj") or m.group("obj2") or m.group("obj3") or "")
        if obj:
            return obj
    m = _ACK_BACK.search(t)
    if m and re.search(_OWNER, t[: m.start()] + " ", re.I):
        about = _clean_object(m.group("about") or "")
        return f"an answer on {about}" if about else "an answer"
    if re.search(rf"{_OWNER}(?:[^.?!]{{0,30}}\band\s+)?(?:let you know|confirm)\b", t, re.I):
        return "an answer"
    return ""


_FLIP = {
    "me": "you",
    "my": "your",
    "mine": "yours",
    "you": "me",
    "your": "my",
    "yours": "mine",
    "i": "you",
    "myself": "yourself",
    "yourself": "myself",
}


# "you" as a subject becomes "I" (not "me"), with the verb agreeing: "whether you are
# joining" -> "whether I am joining"; and "I am" -> "you are" the other way.
_SUBJECT = re.compile(
    r"\b(?P<who>you|I)(?P<verb>'re|'m|'ve|'ll|'d|\s+(?:are|am|were|was|have|had|will|would|"
    r"can|could|should|shall|might|may|must|do|did|need|want|plan|intend)\b)",
    re.I,
)
_AGREE = {
    ("i", "are"): "am",
    ("i", "were"): "was",
    ("i", "'re"): "'m",
    ("you", "am"): "are",
    ("you", "was"): "were",
    ("you", "'m"): "'re",
}


def _flip(text: str) -> str:
    """The asker's words as the owner would say them back ("your" <-> "my", "you are" <->
    "I am")."""

    def subject(m: re.Match[str]) -> str:
        who = "I" if m.group("who").lower() == "you" else "you"
        verb = m.group("verb")
        word = verb.strip().lower()
        agreed = _AGREE.get((who.lower(), word))
        if agreed is not None:
            verb = verb[: len(verb) - len(verb.lstrip())] + agreed
        return "\x00" + who + verb  # marked: the word swap below leaves it alone

    def swap(m: re.Match[str]) -> str:
        w = m.group(0)
        out = _FLIP[w.lower()]
        return out.capitalize() if w[0].isupper() and w != "I" else out

    marked = _SUBJECT.sub(subject, text)
    parts = re.split(r"(\x00(?:I|you|You)\b)", marked)
    return "".join(
        p[1:]
        if p.startswith("\x00")
        else re.sub(r"\b(?:me|my|mine|you|your|yours|I|myself|yourself)\b", swap, p)
        for p in parts
    )


_ASK_GIVE = re.compile(
    rf"\b(?:{_GIVE}|have|see|get|shar(?:e|ing)|review(?:ing)?|look(?:ing)?\s+(?:over|at)|"
    rf"take a look at)\s+(?:me|us)?\s*(?:over\s+|along\s+)?(?:a copy of\s+)?{_NP}",
    re.I,
)
_WHETHER = re.compile(
    r"\b(?:tell|let)\s+(?:me|us)\s+(?:know\s+)?(?:[\w\s]{0,30}?\s)?(?:if|whether)\s+(?P<clause>[^.?!;]{4,120})",
    re.I,
)
_CONFIRM = re.compile(r"\bconfirm\s+(?:[\w\s]{0,25}?\s)?that\s+(?P<clause>[^.?!;]{4,120})", re.I)
_ABOUT = re.compile(
    r"\b(?:thoughts|views|comments|feedback|input|opinion|take|advice|update)\s+(?:on|about|regarding)\s+"
    + _NP.replace("?P<obj>", "?P<about>")
    + r"|\bthink\s+(?:about|of)\s+"
    + _NP.replace("?P<obj>", "?P<about2>"),
    re.I,
)
_CLAUSE_END = re.compile(
    r"\s+(?:by|before|in|within)\s+(?:the end|end|next|this|tomorrow|today|monday|tuesday|"
    r"wednesday|thursday|friday|a couple|\d).*$",
    re.I,
)


def ask_phrase(text: str, *, flip: bool = True) -> str:
    """What an ask is about, to follow "Thanks for asking" or "my question" (see the module
    docstring); "" when it cannot be said without quoting. ``flip`` turns the asker's
    "me"/"you" round, for an ask made to the owner."""
    turn = _flip if flip else (lambda x: x)
    t = " ".join(text.split())
    m = _WHETHER.search(t) or _CONFIRM.search(t)
    if m:
        clause = _CLAUSE_END.sub("", m.group("clause")).strip(" ,")
        if 2 <= len(clause.split()) <= 16:
            return "whether " + turn(clause)
    m = _ABOUT.search(t)
    if m:
        obj = _clean_object(m.group("about") or m.group("about2") or "")
        if obj:
            return "about " + turn(obj)
    m = _ASK_GIVE.search(t)
    if m:
        obj = _clean_object(m.group("obj"))
        if obj:
            return "about " + turn(obj)
    return ""


# Subjects that are a greeting, a thank-you, small talk or a logistics question, not a topic.
_NOT_TOPIC = re.compile(
    r"^(?:hi|hello|hey|hiya|greetings|long time|long time no see|catch(?:ing)?\s*up|checking in|"
    r"check in|quick (?:question|note|one)|question|questions|thanks?|thank you|many thanks|"
    r"fyi|update|news|hello again|how are you|how are things|good morning|good news|"
    r"(?:lunch|dinner|coffee|drinks|breakfast|call|meeting|meet|chat|phone call|visit)"
    r"(?:\s+\S+){0,3}|(?:this|next|on)?\s*(?:weekend|tomorrow|today|tonight|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday)|your (?:call|message|note|email|e-mail|voicemail)|"
    r"(?:re)?schedul\w*.*|availability|are you (?:free|around|available).*|"
    r"no subject|untitled|test|hmm+|ok|okay|yes|no|sorry|congrat\w*|happy \w+( \w+)?|"
    r"welcome|great to (?:see|meet) you|nice to (?:see|meet) you|following up|follow up|"
    r"sent from .*|message|note|reminder|invitation|accepted|declined|tentative|"
    r"(?:\w+\s+)?plans|(?:the\s+)?(?:party|trip|game|photos|pictures|drinks tonight))\W*$",
    re.I,
)
_CODE = re.compile(
    r"\[[^\]]*\]|\((?:#|ref|ticket|case|no\.?\s*\d|number|vol\.?|issue)[^)]*\)|\b[A-Z]{2,6}-\d{2,}\b:?|#\d{3,}\b|\bref\.?\s*\d+\b",
    re.I,
)
_INVITE = re.compile(
    r"^(?:(?:updated\s+)?invitation|invite|accepted|declined|tentative(?:ly accepted)?|"
    r"canceled|cancelled|new event|updated event|reminder)\s*:\s*",
    re.I,
)


def meeting_title(summary: str) -> str:
    """A meeting's summary without reply/forward prefixes, invitation prefixes, "@ when"
    suffixes, bracketed tags and internal codes ("[EXT] Re: PRJ-12: Pricing" -> "Pricing")."""
    s = _CODE.sub(" ", summary or "")
    for _ in range(3):
        s = _INVITE.sub("", clean_subject(s.strip(" -–—:")))
    s = re.sub(r"\s@\s.*$", "", s)  # Google: "Title @ Tue 1 Dec 2pm (owner@x)"
    s = " ".join(s.split()).strip(" -–—:;,")
    return s


_FORWARD = re.compile(r"^\s*(?:(?:re|aw|sv)\s*:\s*)*(?:fw|fwd)\s*:", re.I)
_DATED = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b"
    r"|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
    re.I,
)
MAX_TOPIC_WORDS = 7


def topic_of(subject: str) -> str:
    """A subject line as a topic to mention, or "" when it is a greeting, small talk, a
    logistics question, a code or nothing at all."""
    if _FORWARD.match(subject or ""):
        return ""  # someone else's mail passed on (a news item, a memo), not a conversation
    s = meeting_title(subject)
    if not s or _NOT_TOPIC.match(s) or s.endswith("?") or "@" in s or _DATED.search(s):
        return ""
    if len(s.split()) > MAX_TOPIC_WORDS:
        return ""  # a headline or a sentence, not what two people talk about
    if not re.search(r"[A-Za-zÀ-ÿ]{3}", s) or len(s) > 70:
        return ""
    if s.isupper():
        return ""  # "CONFIDENTIAL - DO NOT DISTRIBUTE", "URGENT": shouted, not a topic
    return s


def day_phrase(when: datetime, now: datetime, tz: ZoneInfo) -> str:
    """ "the end of today", "tomorrow", "Tuesday" within the coming week, else "Tuesday 15
    December" (in the owner's zone; it follows "by" or "for" in a draft)."""
    local = when.astimezone(tz)
    days = (local.date() - now.astimezone(tz).date()).days
    if timedelta(0) <= when - now and days == 0:
        return "the end of today"  # "all on track for Thursday" written on a Thursday
    if timedelta(0) <= when - now and days == 1:
        return "tomorrow"
    if timedelta(0) <= when - now < timedelta(days=6):
        return f"{local:%A}"
    return date_words(when, tz)


_NUMBERS = (
    "no",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
)


def span_words(days: int) -> str:
    """A silence as a person says it: "three weeks", "about two months", "over a year"."""
    if days < 14:
        return "a couple of weeks" if days >= 10 else "a few days"
    if days < 60:
        weeks = round(days / 7)
        return f"{_NUMBERS[weeks]} weeks" if weeks < len(_NUMBERS) else "a couple of months"
    if days < 365:
        months = round(days / 30.4)
        return "a couple of months" if months == 2 else f"about {_NUMBERS[months]} months"
    return "over a year"


def date_words(when: datetime, tz: ZoneInfo) -> str:
    """ "Tuesday 10 November" in the owner's zone."""
    local = when.astimezone(tz)
    return f"{local:%A} {local.day} {local:%B}"


def join_names(names: list[str]) -> str:
    """ "Ana", "Ana and Ben", "Ana, Ben and Carl" (empty names left out)."""
    names = [n for n in names if n]
    if len(names) <= 1:
        return names[0] if names else ""
    return ", ".join(names[:-1]) + " and " + names[-1]


def pronoun(obj: str) -> str:
    """ "them" for a plural object ("the API docs", "my comments on X"), else "it"."""
    head = re.split(r"\s+(?:of|on|for|from|about|with|to)\s+", obj, maxsplit=1)[0].split()
    last = head[-1].lower() if head else ""
    plural = last.endswith("s") and not last.endswith(("ss", "us", "is", "news", "ics"))
    return "them" if plural or last in ("people", "data") else "it"


def their_object(obj: str) -> str:
    """A promise made *to* the owner, named from the owner's side: "my comments on X" ->
    "your comments on X", "an answer" -> "your answer"."""
    if obj.startswith("an answer"):
        return "your answer" + obj[len("an answer") :]
    return re.sub(r"^my\b", "your", obj)


def names_someone(title: str, names: list[str]) -> bool:
    """Whether a meeting title is about the people in it ("Call with Sofia García",
    "Ana / Yusuf") rather than a topic."""
    words = {w.lower() for n in names for w in n.split() if len(w) >= 3}
    return any(w.lower().strip(",:;()") in words for w in title.split())
