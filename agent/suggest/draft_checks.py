"""Would a person send this draft as written? Mechanical checks (pure).

One definition, used by the LLM drafter (an answer that fails falls back to the template)
and by ``benchmarks/drafts.py`` (which counts failures over every draft of a run):

placeholder
    a bracketed blank or a to-do the owner must fill in: "[your answer]", "[attach or
    paste]", "{{name}}", "<NAME>", "TODO", "XXX", "TBD".
local-part name
    a name made from an address's local part: "Hi henrik.weber," or a To header
    ``"henrik.weber@…" <henrik.weber@…>``, when the person's readable name is unknown or
    different.
quoted first-person
    a quotation in the body that speaks in the first person ("I promised you 'I'll send the
    revised pricing'"): the owner's own sentence pasted back at the recipient.
subject as topic
    a subject line that is no topic (a greeting, small talk, a logistics question; see
    :func:`phrasing.topic_of`) written into the body as if it were one ("about Long time no
    see").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rapportd.agent.suggest.phrasing import meeting_title, topic_of
from rapportd.agent.suggest.style import GREETING

PLACEHOLDER = re.compile(
    r"\[[^\]\n]{0,60}\]|\{\{.*?\}\}|<[A-Z][A-Z _-]{2,}>|\bTODO\b|\bXXX+\b|\bTBD\b|\bFIXME\b"
)
_QUOTE = re.compile(r"[“\"]([^”\"\n]{3,400})[”\"]")
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I'll|I've|I'd|me|my|mine|we'll|we will|we're)\b")


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER.findall(text)


def quoted_first_person(body: str) -> list[str]:
    """Quotations in ``body`` that speak in the first person."""
    return [q for q in _QUOTE.findall(body) if _FIRST_PERSON.search(q)]


def _local_words(address: str) -> set[str]:
    local = address.rpartition("@")[0].lower()
    return {local, *(w for w in re.split(r"[._\-+0-9]+", local) if w)}


def _address_like(word: str) -> bool:
    """Written as an address's local part is ("henrik.weber", "jsmith"), not as a name."""
    return any(c in word for c in "._+") or word.islower()


def greeting_name(body: str) -> str:
    """The name after the greeting word on the first line ("Hi Ana," -> "Ana")."""
    first = body.strip().splitlines()[0] if body.strip() else ""
    m = GREETING.match(first)
    rest = first[m.end() :] if m else ""
    return rest.strip(" ,:!-—")


def local_part_names(
    body: str, to: Sequence[Sequence[str]], known_names: Iterable[str] = ()
) -> list[str]:
    """Names in the greeting or the To header that are an address's local part (or an
    address), unless that word is also the person's known name."""
    known = {w.lower() for n in known_names for w in n.split()}
    out = []
    for address, name in ((str(x[0]), str(x[1]) if len(x) > 1 else "") for x in to):
        made = "@" in name or (_address_like(name) and name.lower() in _local_words(address))
        if made and name.lower() not in known:
            out.append(name)
    greeted = greeting_name(body)
    for word in re.split(r",\s*|\s+and\s+", greeted):
        w = word.strip()
        if not w:
            continue
        if "@" in w or (
            w.lower() not in known
            and any(
                w.lower() == lw and ("." in w or w.islower())
                for x in to
                for lw in _local_words(str(x[0]))
            )
        ):
            out.append(w)
    return out


def subject_as_topic(body: str, subjects: Iterable[str]) -> list[str]:
    """Subject lines that are no topic but appear in ``body`` as one."""
    out = []
    low = body.lower()
    for subject in subjects:
        shown = meeting_title(subject)
        if len(shown) < 4 or topic_of(subject):
            continue
        if re.search(
            rf"(?:about|on|regarding|re:?|with|for)\s+[“\"]?{re.escape(shown.lower())}", low
        ):
            out.append(shown)
    return out


def sentences(body: str) -> list[str]:
    """The sentences of a draft's body other than its greeting and its sign-off block
    (everything from the last short line on): what must differ between two drafts."""
    lines = [ln.strip() for ln in body.strip().splitlines()]
    if lines and GREETING.match(lines[0]):
        lines = lines[1:]
    while lines and (not lines[-1] or len(lines[-1].split()) <= 3):
        lines.pop()  # sign-off and signature lines
    text = " ".join(ln for ln in lines if ln)
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 3]


def problems(
    body: str,
    to: Sequence[Sequence[str]] = (),
    *,
    subject: str = "",
    known_names: Iterable[str] = (),
    subjects: Iterable[str] = (),
) -> list[str]:
    """Every check this draft fails, as short labels ("placeholder: [your answer]")."""
    out = [f"placeholder: {p}" for p in placeholders(subject + "\n" + body)]
    out += [f"quoted first-person: {q}" for q in quoted_first_person(body)]
    out += [f"local-part name: {n}" for n in local_part_names(body, to, known_names)]
    out += [f"subject as topic: {s}" for s in subject_as_topic(body, subjects)]
    return out
