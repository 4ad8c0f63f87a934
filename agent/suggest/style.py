"""The owner's writing habits, learned from their sent mail: greeting, sign-off, signature.

Drafts should read like the owner wrote them: "Hi Ana," or "Hello Ana,", "Best," or
"Cheers,", and the signature block they actually use.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

GREETING = re.compile(r"^\s*(hi|hello|hey|dear|good morning|good afternoon|hiya|morning)\b", re.I)
SIGN_OFFS = (
    "best regards",
    "kind regards",
    "warm regards",
    "warmly",
    "regards",
    "best wishes",
    "all the best",
    "best",
    "cheers",
    "thanks",
    "thank you",
    "many thanks",
    "thanks again",
    "talk soon",
    "speak soon",
    "yours",
    "take care",
)
SIGN_OFF = re.compile(
    r"^\s*(" + "|".join(re.escape(s) for s in SIGN_OFFS) + r")\s*[,!.]?\s*$", re.I
)
MAX_SIGNATURE_LINES = 4
# An owner who signs fewer than this share of at least this many sent messages does not sign.
UNSIGNED_SAMPLES = 8
UNSIGNED_SHARE = 0.2
# A last line that is a name ("Steve", "- Steve", "Jeff D."): the message is signed.
_NAME_LINE = re.compile(r"^[-–—~]?\s*[A-Z][a-zà-ÿ'’\-]+(?:\s+[A-Z][a-zà-ÿ'’\-]*\.?)?\.?$")


@dataclass(frozen=True)
class Style:
    greeting: str = "Hi"  # the word before the first name
    sign_off: str = "Best,"
    signature: str = ""  # the lines after the sign-off (name, title)
    samples: int = 0
    tone: str = "plain"  # "casual" when the owner writes briefly and warmly, else "plain"

    def greet(self, first_name: str) -> str:
        if first_name:
            return f"{self.greeting} {first_name},"
        return "Hello," if self.greeting == "Dear" else f"{self.greeting},"  # never "Dear,"


def learn_style(sent_texts: Iterable[str], owner_name: str = "") -> Style:
    """The most common greeting word, sign-off line and signature block in ``sent_texts``."""
    greetings: Counter[str] = Counter()
    sign_offs: Counter[str] = Counter()
    signatures: Counter[str] = Counter()
    lengths: list[int] = []
    n = signed = 0
    for text in sent_texts:
        lines = [ln.rstrip() for ln in text.strip().splitlines()]
        if not lines:
            continue
        n += 1
        lengths.append(len(text.split()))
        g = GREETING.match(lines[0])
        if g:
            greetings[g.group(1).capitalize()] += 1
        if _NAME_LINE.match(lines[-1].strip()):
            signed += 1
        for i in range(len(lines) - 1, max(-1, len(lines) - 2 - MAX_SIGNATURE_LINES), -1):
            if SIGN_OFF.match(lines[i]):
                word = lines[i].strip()
                if not word.endswith((",", "!", ".")):
                    word += ","
                sign_offs[word[0].upper() + word[1:]] += 1
                tail = "\n".join(ln.strip() for ln in lines[i + 1 :] if ln.strip())
                if tail:
                    signatures[tail] += 1
                    if not _NAME_LINE.match(lines[-1].strip()):
                        signed += 1  # a signature block ("Jeff Dasovich\nDirector")
                break
    greeting = greetings.most_common(1)[0][0] if greetings else "Hi"
    tone = _tone(greeting if greetings else "", lengths, sign_offs)
    sign_off = sign_offs.most_common(1)[0][0] if sign_offs else "Best,"
    signature = ""
    if signatures:
        block, count = signatures.most_common(1)[0]
        if count >= 2 or n <= 2:
            signature = block
    unsigning = n >= UNSIGNED_SAMPLES and signed < UNSIGNED_SHARE * n
    if not signature and owner_name and not unsigning:
        # a guess from the display name ("Steven J Kean" -> "Steven"), only for an owner
        # whose mail shows too little to tell: one who ends messages without a name is not
        # signed with a name they may not go by ("Steven" for a "Steve")
        signature = owner_name.split()[0]
    return Style(greeting=greeting, sign_off=sign_off, signature=signature, samples=n, tone=tone)


CASUAL_GREETINGS = frozenset({"Hey", "Hiya", "Hi"})
CASUAL_SIGN_OFFS = frozenset({"Cheers,", "Thanks,", "Take care,", "Talk soon,", "Speak soon,"})
CASUAL_WORDS = 60  # a median message this short reads as a note between people who know each other


def _tone(greeting: str, lengths: list[int], sign_offs: Counter[str]) -> str:
    """Casual when the owner's mail is short and greets or signs off informally (or not at
    all); "Dear" and long letters are plain."""
    if not lengths or greeting == "Dear":
        return "plain"
    short = sorted(lengths)[len(lengths) // 2] <= CASUAL_WORDS
    sign = sign_offs.most_common(1)[0][0] if sign_offs else ""
    informal = greeting in CASUAL_GREETINGS or not greeting or sign in CASUAL_SIGN_OFFS
    return "casual" if short and informal else "plain"
