"""Mail text utilities shared by connectors and inference: HTML to text, and the *new* text.

- :func:`html_to_text` renders an HTML body as plain text with selectolax: script/style are
  dropped, block elements end lines, list items get "- ", blockquotes get "> ".
- :func:`split_reply` separates what the author wrote in this message from everything else;
  it is :func:`rapportd.agent.core.segment.segment` (the zones of a message: own text, signature,
  footer, attachment markers, quoted/forwarded headers and text, with character spans) seen
  as two strings. :func:`strip_greeting` drops a leading salutation line.

All functions are pure and total (never raise on any ``str``) and cap their work so that a
20 MB body cannot hang a worker (see agent/core/segment.py for the split's bounds).
"""

from __future__ import annotations

import re

from rapportd.agent.core.segment import MAX_SCAN_CHARS, is_greeting, segment

__all__ = ["MAX_SCAN_CHARS", "html_to_text", "new_text", "split_reply", "strip_greeting"]

MAX_HTML_CHARS = 4_000_000
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


def split_reply(text: str) -> tuple[str, str]:
    """``(new_text, rest)``: what the author wrote in this message (with its greeting, without
    the closing sign-off), and everything else (sign-off, signature, footers, attachment
    markers, quoted and forwarded messages with their headers). A thin wrapper over
    :func:`rapportd.agent.core.segment.segment`, which gives the zones with their spans
    (``segment(text).own`` is the own text with the sign-off)."""
    if not isinstance(text, str) or not text:
        return "", ""
    seg = segment(text)
    return seg.body, seg.rest


def new_text(text: str) -> str:
    """What the sync stores as a message's new text: the author's own text with its greeting
    and sign-off ("Thanks,\nSteve": the owner's sign-off is learned from it), without quotes,
    forwards, signature blocks and footers. Readers that want only the body (the detector)
    take ``segment(text).body`` of it, which gives the same body again."""
    if not isinstance(text, str) or not text:
        return ""
    return segment(text).own


def own_words(text: str) -> str:
    """The author's own words of ``text`` without greeting and sign-off, for the detector and
    the briefs: the sync stored the new text already; this cuts again whatever quoted
    history, forwarded message or signature a client's format let through."""
    if not isinstance(text, str) or not text:
        return ""
    return segment(text).body


def quoted_text(text: str) -> bool:
    """Whether a detected sentence is (or holds) quoted history, a forwarded message's header
    or a signature rather than the sender's own words: a promise in it belongs to someone
    else."""
    seg = segment(text)
    return not seg.own.strip() or any(z.kind in ("header", "quoted") for z in seg.zones)


def strip_greeting(text: str) -> str:
    """The text without a leading salutation line ("Hi Sam,")."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if is_greeting(line.strip()):
            return "\n".join(lines[i + 1 :]).strip()
        break
    return text
