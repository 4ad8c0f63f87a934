"""Sentence and clause splitting that copes with how email is written.

Email has bullets, hard-wrapped lines, lines without punctuation ("will send tmrw"),
abbreviations ("Mr. Sato", "9 a.m.") and the occasional wall of text. Rules:

- blank lines and bullet/numbered items always start a new unit;
- inside a paragraph, a line is joined to the previous one when the previous line looks
  hard-wrapped (long, no final punctuation) or the line starts in lower case; otherwise a
  short unpunctuated line stands alone;
- units are split after . ! ? (and after ?/! anywhere), except after known abbreviations.

``clauses`` cuts a sentence at ";", ":", " - ", ", but", ", so", ", and" and " but ", which
separates a decline from a promise ("I can't make it, but I'll watch the recording").
"""

from __future__ import annotations

import re

MAX_SENTENCES = 400
MAX_SENTENCE_CHARS = 600

_BULLET = re.compile(r"^\s*(?:[-*•·◦▪‣–—]|\d{1,2}[.)]|[a-z][.)]|\[[ x]\])\s+", re.I)
_ABBREV = (
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd",
    "co", "corp", "no", "approx", "dept", "est", "fig", "a.m", "p.m", "am", "pm", "jan", "feb",
    "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed",
    "thu", "fri", "sat", "sun", "ave", "rd", "u.s", "u.k",
)  # fmt: skip
_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=\S)|(?<=[?!])(?=[A-Z])")
_CLAUSE = re.compile(r"\s*;\s*|:\s+|\s+[-–—]+\s+|,\s*(?:but|so|and|yet)\s+|\s+but\s+", re.I)


def _units(text: str) -> list[str]:
    units: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            units.append(" ".join(s.strip() for s in current if s.strip()))
            current.clear()

    for raw in text.split("\n"):
        line = raw.rstrip()
        if not line.strip():
            flush()
            continue
        bullet = _BULLET.match(line)
        if bullet:
            flush()
            current.append(line[bullet.end() :])
            continue
        if current:
            prev = current[-1].rstrip()
            wrapped = len(prev) >= 55 and not prev.endswith((".", "!", "?", ":"))
            if not wrapped:
                flush()
        current.append(line)
        if len(units) > MAX_SENTENCES:
            break
    flush()
    return units


def split_sentences(text: str) -> list[str]:
    """The sentences of an email's new text, in order, whitespace-normalised."""
    if not isinstance(text, str) or not text.strip():
        return []
    out: list[str] = []
    for unit in _units(text):
        pieces = _SPLIT.split(unit)
        buf = ""
        for piece in pieces:
            buf = f"{buf} {piece}".strip() if buf else piece.strip()
            last = buf.rsplit(" ", 1)[-1].rstrip(".").lower()
            if buf.endswith(".") and (last in _ABBREV or re.fullmatch(r"[a-z]", last)):
                continue
            if buf:
                out.append(re.sub(r"\s+", " ", buf)[:MAX_SENTENCE_CHARS])
            buf = ""
        if buf:
            out.append(re.sub(r"\s+", " ", buf)[:MAX_SENTENCE_CHARS])
        if len(out) >= MAX_SENTENCES:
            break
    return [s for s in out if re.search(r"\w", s)][:MAX_SENTENCES]


def split_clauses(sentence: str) -> list[str]:
    """The clauses of a sentence (see module docstring); never empty for non-empty input."""
    parts = [p.strip() for p in _CLAUSE.split(sentence) if p and p.strip()]
    return parts or ([sentence.strip()] if sentence.strip() else [])
