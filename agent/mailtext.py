"""Mail text utilities shared by connectors and inference: HTML to text, and the *new* text.

- :func:`html_to_text` renders an HTML body as plain text with selectolax: script/style are
  dropped, block elements end lines, list items get "- ", blockquotes get "> ".
- :func:`split_reply` separates what the author wrote in this message from the quoted history
  and the signature. It asks quotequail (maintained, knows many client formats) and adds
  rules for what it misses: "On ... wrote:" (also wrapped over two lines), Outlook
  "-----Original Message-----" and "From: / Sent:" header blocks, forwarded-message markers,
  ">" lines, the "-- " signature delimiter, sign-offs followed by a name/title/phone block,
  mobile footers ("Sent from my iPhone") and legal disclaimers.

All functions are pure and total (never raise on any ``str``) and cap their work so that a
20 MB body cannot hang a worker: only the first ``MAX_SCAN_CHARS`` are examined for the
split; everything after that is treated as history.
"""

from __future__ import annotations

import re

MAX_HTML_CHARS = 4_000_000
MAX_SCAN_CHARS = 100_000
MAX_QUOTEQUAIL_CHARS = 30_000
MAX_DEPTH = 150

_SKIP_TAGS = {"script", "style", "head", "title", "meta", "noscript", "template", "svg", "link"}
_BLOCK_TAGS = {
    "p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol", "h1", "h2",
    "h3", "h4", "h5", "h6", "pre", "hr", "address", "center", "dl", "dt", "dd", "form", "body",
    "html", "main", "nav", "aside", "figure", "fieldset",
}  # fmt: skip


def html_to_text(html: str) -> str:
    """Plain text of an HTML body (never raises; returns "" for unreadable input)."""
    if not isinstance(html, str) or not html:
        return ""
    try:
        from selectolax.lexbor import LexborHTMLParser

        tree = LexborHTMLParser(html[:MAX_HTML_CHARS])
        root = tree.body or tree.root
        if root is None:
            return ""
        out: list[str] = []
        _render(root, out, 0)
        return _tidy("".join(out))
    except Exception:
        return _tidy(re.sub(r"<[^>]{0,2000}>", " ", html[:MAX_HTML_CHARS]))


def _render(node: object, out: list[str], depth: int) -> None:
    tag = getattr(node, "tag", "")
    if tag == "-text":
        out.append(re.sub(r"\s+", " ", getattr(node, "text_content", "") or ""))
        return
    if tag in _SKIP_TAGS or tag == "-comment":
        return
    if depth > MAX_DEPTH:
        out.append(getattr(node, "text", lambda **_: "")(separator=" "))
        return
    if tag == "br":
        out.append("\n")
        return
    if tag == "blockquote":
        inner: list[str] = []
        for child in node.iter(include_text=True):  # type: ignore[attr-defined]
            _render(child, inner, depth + 1)
        text = _tidy("".join(inner))
        out.append("\n" + "\n".join("> " + line if line else ">" for line in text.split("\n")))
        out.append("\n")
        return
    if tag == "li":
        out.append("\n- ")
    elif tag in ("td", "th"):
        out.append(" ")
    elif tag in _BLOCK_TAGS:
        out.append("\n")
    for child in node.iter(include_text=True):  # type: ignore[attr-defined]
        _render(child, out, depth + 1)
    if tag in _BLOCK_TAGS or tag == "li":
        out.append("\n")


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- split_reply -------------------------------------------------------------------------

_ON_WROTE = re.compile(r"^\s*(?:on|le|am|el|op)\b.{0,300}?\b(?:wrote|a écrit|schrieb|escribió|schreef)\s*:\s*$", re.I | re.S)  # fmt: skip
_SEPARATORS = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|forwarded message|message d'origine|ursprüngliche nachricht)\s*-{2,}"
    r"|-{5,}\s*forwarded message.*|begin forwarded message:?|_{10,}|\*{10,}"
    r"|from:\s.*\bsent:\s.*)\s*$",
    re.I,
)
_HEADER = re.compile(r"^\s*\*?(?:from|de|von)\s*:\*?\s+\S", re.I)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(?:sent|date|to|subject|cc|envoyé|gesendet|datum|an|betreff)\s*:", re.I
)
_SIG_DELIM = re.compile(r"^(?:--|—|-- ?|__+|_{2,})\s*$")
_FOOTER = re.compile(
    r"^\s*(?:sent from (?:my|mail|outlook|yahoo|the)\b.*|get outlook for\b.*|sent via\b.*"
    r"|sent with\b.*|download outlook\b.*|sent from samsung\b.*)$",
    re.I,
)
_DISCLAIMER = re.compile(
    r"^\s*(?:confidential(?:ity)?(?: notice)?\s*:|disclaimer\s*:|notice\s*:|important\s*:\s*this"
    r"|this (?:e-?mail|message|communication)(?: and any (?:files|attachments)[^.]{0,40})?\s+(?:is|are|may)\s+(?:confidential|intended|privileged|for the)"
    r"|the information (?:contained )?in this (?:e-?mail|message)|if you (?:are not|have received) th"
    r"|please consider the environment|privileged (?:&|and) confidential)",
    re.I,
)
_SIGNOFF = re.compile(
    r"^\s*(?:(?:many |kind |warm |best |with )?(?:thanks|thank you|regards|wishes)(?: so much| again| in advance)?"
    r"|best|cheers|sincerely(?: yours)?|yours(?: truly| sincerely)?|warmly|talk soon|speak soon|ta"
    r"|all the best|take care|cordially|rgds|br|thx|tks|best regards|kind regards|warm regards"
    r"|respectfully|love|xo+|later|see you|have a (?:great|good|nice) (?:day|one|weekend))"
    r"\s*[,.!]*\s*(?:\w+\s*)?$",
    re.I,
)
_INITIAL = re.compile(r"^\s*(?:-|—|–|~)\s?[A-Z][\w.]{0,20}\s*$")
_NAME_LINE = re.compile(r"^\s*[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}\s*$")
_PS = re.compile(r"^\s*p\.?\s?s\.?\b", re.I)


# A reply header or separator inside a line: bodies whose HTML was flattened to one line (a
# provider's text rendering, or a client that drops the line breaks) still carry "On Mon, 19
# Oct 2026 at 09:00, Ann <ann@x.com> wrote: > ...". "On" must be capitalised and the header
# must name a date/time digit or an address, so prose ("on the call he wrote:") is left alone.
_INLINE_HISTORY = re.compile(
    r"(?<=\S)\s+(?=On\s(?=[^\n]{0,250}?(?:\d|@))[^\n]{0,250}?\bwrote\s*:"
    r"|-{2,}\s*(?:Original Message|Forwarded message)\s*-{2,}"
    r"|From:\s[^\n]{1,200}?\sSent:\s)",
)


_HEADER_THEN_QUOTE = re.compile(
    r"^(On\s(?=[^\n]{0,250}?(?:\d|@))[^\n]{0,250}?\bwrote\s*:)[ \t]+(?=\S)", re.M
)


def _break_inline_history(scan: str) -> str:
    """Start a new line where quoted history begins inside a line (see _INLINE_HISTORY)."""
    scan = _INLINE_HISTORY.sub("\n", scan)
    return _HEADER_THEN_QUOTE.sub("\\1\n", scan)


def split_reply(text: str) -> tuple[str, str]:
    """``(new_text, quoted_and_signature)``: what the author wrote now, and everything else."""
    if not isinstance(text, str) or not text:
        return "", ""
    try:
        return _split(text)
    except Exception:  # total by contract
        return text[:MAX_SCAN_CHARS].strip(), text[MAX_SCAN_CHARS:]


def new_text(text: str) -> str:
    """The new text of a message body (quotes, signature, footers removed)."""
    return split_reply(text)[0]


def _split(text: str) -> tuple[str, str]:
    scan = text[:MAX_SCAN_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    scan = _break_inline_history(scan)
    tail = text[MAX_SCAN_CHARS:]
    lines = scan.split("\n")
    cut = _quote_start(lines)
    qq = _quotequail_start(scan)
    if qq is not None and qq < cut and _looks_like_quote_start(lines, qq):
        cut = qq
    body, history = lines[:cut], lines[cut:]
    sig = _signature_start(body)
    ps: list[str] = []
    if sig is not None:
        after = body[sig:]
        ps_at = next((i for i, line in enumerate(after) if _PS.match(line)), None)
        if ps_at is not None:
            ps = _until_blank(after[ps_at:])
        history = after + history
        body = body[:sig]
    new = "\n".join(body + (["", *ps] if ps else [])).strip()
    rest = "\n".join(history).strip("\n")
    return new, rest + tail


def _until_blank(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if not line.strip() and out:
            break
        out.append(line)
    return out


def _quote_start(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(">"):
            return i
        if _SEPARATORS.match(stripped):
            return i
        if _HEADER.match(stripped) and any(_HEADER_NEXT.match(n) for n in lines[i + 1 : i + 5]):
            return i
        if len(stripped) < 400 and stripped.lower().startswith(("on ", "le ", "am ", "el ", "op ")):
            joined = stripped
            for k in range(1, 3):
                if _ON_WROTE.match(joined):
                    return i
                if i + k < len(lines):
                    joined = joined + " " + lines[i + k].strip()
            if _ON_WROTE.match(joined):
                return i
        if re.match(r"^.{0,200}\bwrote:\s*$", stripped, re.I) and i + 1 < len(lines):
            nxt = next((n for n in lines[i + 1 :] if n.strip()), "")
            if nxt.lstrip().startswith(">"):
                return i
    return len(lines)


def _quotequail_start(scan: str) -> int | None:
    """Line index where quotequail sees the first quoted chunk (None when it sees none)."""
    if len(scan) > MAX_QUOTEQUAIL_CHARS:
        return None
    try:
        import quotequail

        chunks = quotequail.quote(scan)
    except Exception:
        return None
    seen = 0
    for is_new, chunk in chunks:
        if not is_new:
            return seen
        seen += chunk.count("\n") + 1
    return None


def _looks_like_quote_start(lines: list[str], idx: int) -> bool:
    """quotequail is trusted only where a quote marker or header really is near."""
    window = [line.strip() for line in lines[max(0, idx - 2) : idx + 2] if line.strip()]
    return any(
        w.startswith(">") or _SEPARATORS.match(w) or _HEADER.match(w) or w.endswith(":")
        for w in window
    )


def _signature_start(lines: list[str]) -> int | None:
    content_seen = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if _SIG_DELIM.match(line) and content_seen:
            return i
        if _FOOTER.match(stripped) or _DISCLAIMER.match(stripped):
            return i
        if content_seen and (
            _INITIAL.match(stripped)
            or (_SIGNOFF.match(stripped) and _name_block_follows(lines[i + 1 :]))
        ):
            return i
        if not _is_greeting(stripped):
            content_seen = True
    return _trailing_name_block(lines)


def _trailing_name_block(lines: list[str]) -> int | None:
    """A last paragraph that starts with a bare full name ("Tom Becker") and has a few short
    lines (title, company, phone) is a signature even without a sign-off."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and lines[start - 1].strip():
        start -= 1
    block = lines[start:end]
    if not block or start == 0 or len(block) > 8:
        return None
    if not any(line.strip() for line in lines[:start]):
        return None
    first = block[0].strip()
    if _FULL_NAME.match(first) or (_FOOTER.match(first) or _DISCLAIMER.match(first)):
        return start
    return None


_FULL_NAME = re.compile(
    r"^[A-Z][a-z'’-]+(?:\s+[A-Z]\.?)?(?:\s+[A-Z][a-zA-Z'’-]+){1,2}\s*(?:[|,].{0,60})?$"
)


def _name_block_follows(rest: list[str]) -> bool:
    following = [line.strip() for line in rest if line.strip()]
    if not following:
        return True
    first = following[0]
    return bool(_NAME_LINE.match(first) and len(first) <= 40) or bool(_INITIAL.match(first))


_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|morning|afternoon|greetings|hiya|yo)\b.{0,40}$",
    re.I,
)
_NAME_GREETING = re.compile(r"^[A-Z][\w.'-]{0,20}(?: [A-Z][\w.'-]{0,20})?\s*[,:-]\s*$")


def _is_greeting(line: str) -> bool:
    return bool(_GREETING.match(line) or _NAME_GREETING.match(line))


def strip_greeting(text: str) -> str:
    """The text without a leading salutation line ("Hi Sam,")."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if _is_greeting(line.strip()):
            return "\n".join(lines[i + 1 :]).strip()
        break
    return text
