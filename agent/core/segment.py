"""The zones of a mail body: the author's own text, apart from what they quoted or forwarded.

:func:`segment` cuts a plain-text body into zones, each a character span of the input:

- ``own``: what the author wrote in this message, with its greeting and sign-off ("Thanks,
  Dana"); in a reply written between quoted lines (bottom-posting, inline answers) every
  answer is an ``own`` zone;
- ``signature``: the block after the sign-off or after a ``-- `` line (name, title, company,
  phone, address);
- ``footer``: legal disclaimers and client footers ("Sent from my iPhone", "Get Outlook for
  iOS", "Von meinem iPhone gesendet");
- ``attachment``: attachment markers a client left in the text (`` - report.doc``,
  ``<<report.doc>>``, ``(See attached file: report.doc)``);
- ``header``: the header block of a quoted or forwarded message, or its separator
  (``-----Original Message-----``, ``From: / Sent: / To: / Subject:`` in English, German,
  French, Spanish, Portuguese, Dutch, Italian, Swedish, Danish, Norwegian, Finnish and
  Polish, Lotus Notes ``---- Forwarded by …`` lines and ``Name@ORG`` + date +
  ``To:``/``cc:`` blocks, ``"Name" <addr> on <date>`` + ``Please respond to`` (and that line
  alone atop a body), Gmail/Apple/Thunderbird "On … wrote:", "Le … a écrit :", "Am …
  schrieb …:", "El … escribió:", "Begin forwarded message:", "---------- Forwarded message
  ---------");
- ``quoted``: the text of quoted or forwarded messages (``>`` lines, and everything after a
  header block).

Field names a client double-encoded ("LÃ¤hettÃ¤jÃ¤:") are matched after repair (ftfy).

Rules only, generic (no sender, company or mailbox is named in them); measured on real mail in
benchmarks/segment.py (docs/BENCHMARKS.md). Pure and total: never raises on any ``str``, and
bounded: only the first ``MAX_SCAN_CHARS`` characters are examined, the rest is ``quoted``;
every look-around is a small fixed window, every regex is applied to one line of at most
``MAX_LINE_CHARS`` characters.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import ftfy

MAX_SCAN_CHARS = 100_000
MAX_LINE_CHARS = 2_000

Kind = Literal["own", "signoff", "signature", "footer", "attachment", "header", "quoted"]
NOT_OWN: tuple[Kind, ...] = ("signature", "footer", "attachment", "header", "quoted")
OWN: tuple[Kind, ...] = ("own", "signoff")


@dataclass(frozen=True)
class Zone:
    """One zone: ``text[start:end]`` of the segmented input is of this ``kind``."""

    kind: Kind
    start: int
    end: int


@dataclass(frozen=True)
class Segments:
    """The zones of ``text`` in order (blank lines between zones belong to none)."""

    text: str
    zones: tuple[Zone, ...]

    def spans(self, kind: Kind) -> list[tuple[int, int]]:
        return [(z.start, z.end) for z in self.zones if z.kind == kind]

    def joined(self, *kinds: Kind) -> str:
        parts = [self.text[z.start : z.end].strip("\n") for z in self.zones if z.kind in kinds]
        return "\n\n".join(p for p in parts if p.strip()).strip()

    @property
    def own(self) -> str:
        """The author's own new text (greeting and sign-off included)."""
        return self.joined(*OWN)

    @property
    def body(self) -> str:
        """The author's own text without the closing sign-off ("Thanks,\nDana"): what the sync
        stores as a message's new text and the detectors read."""
        return self.joined("own")

    @property
    def signoff(self) -> str:
        """The closing line(s) and the name the author signed with ("Best,\nSteve")."""
        return self.joined("signoff")

    @property
    def signature(self) -> str:
        return self.joined("signature")

    @property
    def footer(self) -> str:
        return self.joined("footer")

    @property
    def quoted(self) -> str:
        """Quoted and forwarded text with its header blocks."""
        return self.joined("header", "quoted")

    @property
    def rest(self) -> str:
        """Everything but :attr:`body`, in order (sign-off, signature, footers, quotes)."""
        return self.joined("signoff", *NOT_OWN)

    def kind_at(self, offset: int) -> Kind | None:
        """The kind of the zone that holds ``text[offset]`` (None between zones)."""
        for z in self.zones:
            if z.start <= offset < z.end:
                return z.kind
        return None


def segment(text: str) -> Segments:
    """The zones of a plain-text mail body (see the module doc)."""
    if not isinstance(text, str) or not text:
        return Segments("" if not isinstance(text, str) else text, ())
    try:
        return Segments(text, tuple(_zones(text)))
    except Exception:  # total by contract: an unexpected input is all own text
        scan = min(len(text), MAX_SCAN_CHARS)
        zones = [Zone("own", 0, scan)] + (
            [Zone("quoted", scan, len(text))] if scan < len(text) else []
        )
        return Segments(text, tuple(zones))


# --- lines ---------------------------------------------------------------------------------


@dataclass
class _Line:
    start: int
    end: int
    text: str  # the line, capped at MAX_LINE_CHARS, without its line break

    @property
    def s(self) -> str:
        return self.text.strip()

    @property
    def blank(self) -> bool:
        return not self.text.strip()


_NEWLINE = re.compile(r"\r\n|\r|\n")

# Quoted history that starts inside a line: bodies whose HTML was flattened to one line still
# carry "... Best, Lee On Thu, Feb 6, 2025 at 4:10 PM Dana <d@x> wrote: > ...". "On" must be
# capitalised and name a digit or an address, so prose ("on the call he wrote:") stays.
_INLINE_BREAK = re.compile(
    r"(?<=\S)[ \t]+(?=On\s(?=[^\n]{0,250}?(?:\d|@))[^\n]{0,250}?\bwrote\s*:"
    r"|-{2,}\s*(?:Original Message|Forwarded message)\s*-{2,}"
    r"|From:\s[^\n]{1,200}?\sSent:\s)"
    r"|(?<=\bwrote:)[ \t]+(?=>)",
)


def _lines(scan: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    for m in _NEWLINE.finditer(scan):
        out.extend(_split_inline(scan, pos, m.start()))
        pos = m.end()
    out.extend(_split_inline(scan, pos, len(scan)))
    return out


def _split_inline(scan: str, start: int, end: int) -> Iterator[_Line]:
    cuts = [start]
    if end - start > 20:
        window = scan[start : min(end, start + MAX_LINE_CHARS * 5)]
        cuts += [start + m.end() for m in _INLINE_BREAK.finditer(window)]
    cuts.append(end)
    for a, b in itertools.pairwise(cuts):
        if b > a or (a == start and b == end):
            yield _Line(a, b, _legible(scan[a : min(b, a + MAX_LINE_CHARS)]))


# Bytes of UTF-8 read as Latin-1/cp1252 ("LÃ¤hettÃ¤jÃ¤:", "EnvoyÃ© :", "â€“"): what a client
# that re-encodes a quoted reply leaves. Only the text the rules read is repaired; the zones
# still span the input as it is.
_MOJIBAKE_HINT = re.compile(r"[ÃÂâ][\x80-\xbf\u0152-\u02dc\u2013-\u2122]")


def _legible(text: str) -> str:
    return ftfy.fix_encoding(text) if _MOJIBAKE_HINT.search(text) else text


# --- patterns ------------------------------------------------------------------------------

# ">" quoting, or "| " quoting of some clients; a line that also ends with "|" is a table row.
_QUOTE = re.compile(r"^\s*(?:>|\|(?!\|)(?=\s)(?!.*\|\s*$))")

# Separators that open a quoted or forwarded message.
_SEPARATOR = re.compile(
    r"^\s*(?:"
    r"-{2,}\s*(?:original message|forwarded message|forwarded by\b.*|message d'origine"
    r"|ursprüngliche nachricht|mensaje original|mensaje reenviado|weitergeleitete nachricht"
    r"|message transféré|message transfere|messaggio originale|oorspronkelijk bericht"
    r"|doorgestuurd bericht)\s*-*"
    r"|-{3,}\s*forwarded by\b.*"
    r"|-{2,}\s*(?:original|forwarded) message\b.*"
    r"|begin forwarded message\s*:?"
    r"|anfang der weitergeleiteten (?:nachricht|e-mail)\s*:?"
    r"|début du message (?:réexpédié|transféré)\s*:?"
    r"|inicio del mensaje reenviado\s*:?"
    r"|-{3,}\s*inline attachment follows\s*-{3,}"
    r"|_{3,}\s*reply separator\s*_{3,}"
    r"|>>>\s.{0,200}\d.{0,100}>>>"
    r"|\*{0,2}(?:from|von|de)\s?:\*{0,2}.{1,300}?\b(?:sent|date|gesendet|envoyé|enviado)\s?:.{1,300}?\b(?:to|subject|an|betreff|à|objet|para|asunto)\s?:.*"
    r")\s*$",
    re.I,
)

# Outlook's field names in English, German, French, Spanish/Portuguese, Dutch, Italian, the
# Nordic languages (Swedish, Danish/Norwegian, Finnish) and Polish
_FIELD_FROM = r"(?:from|de|von|van|da|od|author|från|fra|lähettäjä)"
_FIELD_OTHER = (
    r"(?:sent|date|to|cc|bcc|subject|reply-to|sent by|importance|"
    r"gesendet|datum|an|betreff|kopie|"
    r"envoyé|envoye|date|à|a|objet|"
    r"enviado|enviada|fecha|para|asunto|assunto|cc|"
    r"verzonden|aan|onderwerp|inviato|oggetto|"
    r"skickat|till|ämne|kopia|sendt|til|emne|lähetetty|vastaanottaja|aihe|kopio|"
    r"wysłano|temat|dw)"
)
_HEADER_FROM = re.compile(
    r"^\s*[*_]{0,2}" + _FIELD_FROM + r"\s?[*_]{0,2}\s?:[*_]{0,2}(?:\s|$)", re.I
)
_HEADER_FIELD = re.compile(
    r"^\s*[*_]{0,2}(?:" + _FIELD_FROM + "|" + _FIELD_OTHER + r")\s?[*_]{0,2}\s?:[*_]{0,2}(?:\s|$)",
    re.I,
)
# Lotus Notes: the recipient block under a sender line ("To: ...", "cc: ...", "Please respond
# to ...", "Sent by: ...").
_TO_FIELD = re.compile(r"^\s*(?:to|an|à|a|para)\s*:\s*\S*.*(?:@|/[A-Z]{2,})", re.I)
_SUBJECT_FIELD = re.compile(r"^\s*(?:subject|betreff|objet|asunto)\s*:", re.I)
_NOTES_FIELD = re.compile(r"^\s*(?:(?:to|cc|bcc|subject|sent by)\s*:|please respond to\s\S)", re.I)
# A date and time ending a line: Notes' "Name@ORG" / "Name <addr> on 07/07/2001 04:33:12 PM".
_DATE_TIME = r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?(?:\s+[A-Z]{2,5})?"
_ENDS_WITH_DATE = re.compile(r"^(?P<pre>.{0,200}?)\s*" + _DATE_TIME + r"\s*$")
_ON_DATE_END = re.compile(r"\s\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\s*$")
_TIME_ONLY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?(?:\s+[A-Z]{2,5})?$")
_HAS_DATE_THEN_TO = re.compile(_DATE_TIME + r"\s.{0,40}?\bTo:", re.I)

# "On <date>, <name> wrote:" and its translations; the header may wrap over three lines.
_ATTRIBUTION = re.compile(
    r"^\s*(?:on|le|am|el|op|il|em)\b.{0,400}?"
    r"\b(?:(?:wrote|writes|a écrit|a ecrit|escribió|escribio|schreef|ha scritto|escreveu)\s*:?"
    r"|schrieb\b.{0,200}?:)\s*$",
    re.I | re.S,
)
_ATTRIBUTION_START = re.compile(r"^\s*(?:on|le|am|el|op|il|em)\s", re.I)
_WROTE_LINE = re.compile(
    r"^.{0,200}\b(?:wrote|writes|a écrit|schrieb|escribió|schreef)\s*:\s*$", re.I
)
# Gmail in some locales: "2017-05-22 17:08 GMT+02:00 Name <name@host>:" above the quote.
_ADDRESS_COLON = re.compile(r"^.{0,200}\d.{0,200}<[^<>\s]+@[^<>\s]+>\s*:\s*$")

_SIG_DELIM = re.compile(r"^(?:-- ?|--|—|_{2,}|-{2,}\s*|\*{5,}|={5,})\s*$")
_FOOTER = re.compile(
    r"^\s*(?:sent from (?:my|mail for|outlook|yahoo|the|samsung|windows)\b.*"
    r"|get outlook for\b.*|sent via\b.*|sent with\b.*|sent using\b.*|download outlook\b.*"
    r"|von meinem .{1,40} gesendet\b.*|gesendet von (?:meinem|mein)\b.*|diese nachricht wurde von meinem\b.*"
    r"|envoyé de mon\b.*|envoye de mon\b.*|envoyé depuis\b.*"
    r"|enviado desde mi\b.*|enviado desde\b.*|obtener outlook para\b.*|télécharger outlook\b.*"
    r"|holen sie sich outlook\b.*)$",
    re.I,
)
_DISCLAIMER = re.compile(
    r"^\s*[|*]?\s*(?:confidential(?:ity)?(?: notice| note| statement)?\s*:|disclaimer\s*:"
    r"|notice\s*:|important\s*(?:notice)?\s*:\s*this|legal notice"
    r"|this (?:e-?mail|message|communication|transmission)(?: and any (?:files|attachments)[^.]{0,60})?,?\s+(?:is|are|may|contains?)\s+(?:confidential|intended|privileged|for the|only)"
    r"|this (?:e-?mail|message) may contain"
    r"|the information (?:contained )?in this (?:e-?mail|message|communication|transmission)"
    r"|if you (?:are not|have received) th"
    r"|please consider the environment|privileged (?:&|and) confidential"
    r"|diese (?:e-?mail|nachricht) (?:enthält|kann)|ce (?:message|courriel|e-?mail) (?:et|est|peut)"
    r"|este (?:mensaje|correo)(?: electrónico)? (?:y|es|va|contiene|puede))",
    re.I,
)
_SIGNOFF_CORE = (
    r"^\s*[-–—]*\s*(?:(?:many |kind(?:est)? |warm(?:est)? |best |with (?:kind |best )?|all the best,? )?"
    r"(?:thanks|thank you|thankyou|thx|tks|ty|regards|wishes|rgds)(?: (?:so|very) much| again| in advance| a lot)?"
    r"(?: (?:and|&) (?:best |kind )?regards)?(?:,? (?:all|everyone|again))?"
    r"|best|cheers|sincerely(?: yours)?|yours(?: truly| sincerely| faithfully)?|warmly|talk soon|speak soon"
    r"|all the best|take care|cordially|br|later|see you|love|xo+|hugs|peace|ciao"
    r"|have a (?:great|good|nice) (?:day|one|weekend|evening)"
    r"|(?:mit )?(?:freundlichen|besten|lieben|herzlichen|schönen|viele|liebe|beste) grüßen?"
    r"|(?:mit )?(?:freundlichen|besten|lieben|herzlichen|viele|liebe|beste) gruessen?|gruß|grüße|lg|vg|mfg"
    r"|cordialement|bien (?:à|a) (?:vous|toi)|bien cordialement|salutations(?: distinguées)?|amitiés|bises"
    r"|merci(?: beaucoup| d'avance)?|bonne (?:journée|soirée)"
    r"|saludos(?: cordiales)?|un saludo(?: cordial)?|atentamente|cordialmente|gracias(?: de antemano)?|abrazos?"
    r"|un abrazo|besos)"
)
_SIGNOFF = re.compile(_SIGNOFF_CORE + r"\s*[,.!]*\s*$", re.I)
# "Thanks, Dana" on one line (the name part is case-sensitive: "Thanks for all" is no name)
_SIGNOFF_NAMED = re.compile(
    "(?i:"
    + _SIGNOFF_CORE
    + r")\s*[,.!]*(?:\s*[-–—]?\s*[A-Z][\w.'’-]{0,20}(?:\s[A-Z][\w.'’-]{0,20})?)?\s*$"
)
_SHORT_NAME = re.compile(
    r"^\s*[-–—~]{0,2}\s*[A-Za-zÀ-ÿ][\w.'’-]{0,20}(?:\s+[A-Za-zÀ-ÿ][\w.'’-]{0,20}){0,2}\s*$"
)
_FULL_NAME = re.compile(
    r"^[A-ZÀ-Þ][a-zà-ÿ'’-]+(?:\s+[A-Z]\.?)?(?:\s+(?:van|von|de|del|da|le|la)?\s*[A-ZÀ-Þ][a-zA-Zà-ÿ'’-]+){1,2}\s*(?:[|,].{0,60})?$"
)
_CONTACT = re.compile(
    r"(?:\+?\d[\d ()./-]{6,}\d|@[\w-]+\.|https?://|www\.|\S\s\|\s\S|\b(?:phone|tel|fax|mobile|cell|direct|office|"
    r"e-?mail|ph|m|t|f|p|o|c)\s*[:.]|\b(?:inc|llc|ltd|gmbh|corp|corporation|company|s\.a|university|"
    r"street|suite|avenue|blvd|road|floor|houston|tx|ca|ny)\b|\b(?:director|manager|president|vice|"
    r"analyst|engineer|counsel|attorney|assistant|coordinator|officer|ceo|cto|cfo|vp|svp|evp|head of|"
    r"consultant|specialist|associate|partner|professor|department|dept|sales|marketing|founder)\b)",
    re.I,
)
# Attachment markers; a file name holds no ":" or "/" ("- Wiki: https://…" is a list item).
_ATTACHMENT = re.compile(
    r"^\s*(?:-\s+[^\s:/][^:/]{0,120}\.[A-Za-z0-9]{2,5}\s*"
    r"|(?:<<\s*(?:file:\s*)?[^<>]{1,160}>>[\s?]*){1,10}"
    r"|\(see attached file:[^)]{1,200}\)\s*"
    r"|<embedded [^<>]{1,60}>\s*"
    r"|\[?attachment\s*(?:\d+|:)[^\n]{0,160})$",
    re.I,
)
_PS = re.compile(r"^\s*p\.?\s?p?\.?\s?s\.?\s*[:\-,.]?\s", re.I)
_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|morning|afternoon|greetings|hiya|yo"
    r"|hallo|liebe[rs]?|sehr geehrte[rs]?|guten (?:tag|morgen)|servus|moin"
    r"|bonjour|bonsoir|salut|cher|chère|madame|monsieur"
    r"|hola|estimad[oa]s?|querid[oa]s?|buen(?:os|as) (?:días|dias|tardes|noches))\b.{0,40}$",
    re.I,
)
_NAME_GREETING = re.compile(r"^[A-Z][\w.'-]{0,20}(?: [A-Z][\w.'-]{0,20})?\s*[,:-]\s*$")


def is_greeting(line: str) -> bool:
    """Whether a (stripped) line is a salutation ("Hi Sam,", "Dear Ms Lee:", "Hola Ana,")."""
    return bool(_GREETING.match(line) or _NAME_GREETING.match(line))


# --- the top cut: where quoted or forwarded history starts ---------------------------------


def _next_nonblank(lines: Sequence[_Line], i: int, limit: int) -> Iterator[int]:
    seen = 0
    for k in range(i, min(len(lines), i + limit * 3)):
        if lines[k].blank:
            continue
        yield k
        seen += 1
        if seen >= limit:
            return


def _header_start_at(lines: Sequence[_Line], i: int) -> int | None:
    """If a quoted/forwarded message starts at line ``i``, the index of its first header line
    (which may lie up to two lines above ``i``); else None."""
    line = lines[i]
    s = line.s
    if not s:
        return None
    if _SEPARATOR.match(s):
        return i
    if _HEADER_FROM.match(s):
        nxt = list(_next_nonblank(lines, i + 1, 6))
        if any(_HEADER_FIELD.match(lines[k].s) or _NOTES_FIELD.match(lines[k].s) for k in nxt):
            return _extend_up(lines, i, fields=True)
        if _ENDS_WITH_DATE.match(s) and nxt and _NOTES_FIELD.match(lines[nxt[0]].s):
            return i
        return None
    if len(s) < 500 and _ATTRIBUTION_START.match(s):
        joined = s
        for k in range(i + 1, min(len(lines), i + 4)):
            if _ATTRIBUTION.match(joined):
                return i
            if lines[k].blank:
                break
            joined += " " + lines[k].s
        if _ATTRIBUTION.match(joined):
            return i
    if _WROTE_LINE.match(s) or _ADDRESS_COLON.match(s):
        after = next(_next_nonblank(lines, i + 1, 1), None)
        # followed by a quote, or the last line (an attribution whose quote was cut off)
        if after is None or _QUOTE.match(lines[after].text):
            return i
    # Lotus Notes sender blocks: a line ending with a date and time ("Name@ORG 10/15/99 09:49
    # AM", '"Name" <addr> on 07/07/2001 04:33:12 PM', or the date alone under the name)
    # followed by "To:"/"cc:"/"Sent by:"/"Please respond to".
    if _HEADER_FIELD.match(s) and not _QUOTE.match(line.text):
        nxt = list(_next_nonblank(lines, i + 1, 5))
        fields = [k for k in nxt if _HEADER_FIELD.match(lines[k].s)]
        if (
            len(fields) >= 2
            and any(_HEADER_FROM.match(lines[k].s) for k in fields)
            and fields[0] == nxt[0]
        ):
            return _extend_up(lines, i, fields=True)
    # A header block that lost its sender line (an Outlook copy of a Notes reply): "To:" with
    # addresses, then "cc:" / "Subject:" right below, below some text of the author's.
    if i > 0 and _TO_FIELD.match(s) and not _QUOTE.match(line.text):
        # the address list may wrap over several lines before "cc:" and "Subject:"
        for k in _next_nonblank(lines, i + 1, 10):
            if _SUBJECT_FIELD.match(lines[k].s):
                return i
            if not (_NOTES_FIELD.match(lines[k].s) or _ADDRESS_CONT.match(lines[k].s)):
                break
    m = _ENDS_WITH_DATE.match(s)
    if (
        m is None
        and i + 1 < len(lines)
        and _ON_DATE_END.search(s)
        and _TIME_ONLY.match(lines[i + 1].s)
    ):
        s = s + " " + lines[i + 1].s
        m = _ENDS_WITH_DATE.match(s)
        if m:
            nxt = list(_next_nonblank(lines, i + 2, 3))
            if nxt and any(_NOTES_FIELD.match(lines[k].s) for k in nxt):
                return _extend_up(lines, i, fields=False, wrapped_only=True)
        return None
    if m and len(s) < 260:
        nxt = list(_next_nonblank(lines, i + 1, 3))
        if nxt and any(_NOTES_FIELD.match(lines[k].s) for k in nxt):
            if m.group("pre").strip():
                return _extend_up(lines, i, fields=False, wrapped_only=True)
            return _extend_up(lines, i, fields=False)
    if _HAS_DATE_THEN_TO.search(s) and len(s) > 30:
        return _extend_up(lines, i, fields=False, wrapped_only=True)
    return None


def _extend_up(lines: Sequence[_Line], i: int, *, fields: bool, wrapped_only: bool = False) -> int:
    """Move a header start up over the lines that belong to the block: for Notes sender blocks
    the sender's name (one or two short lines right above the date, or a wrapped first half of
    the sender line) and "Sent by:"; for header-field blocks a letterhead line ("Enron North
    America Corp.") that Notes indents with a tab above "From:"."""
    start = i
    k = i - 1
    taken = 0
    while k >= 0 and taken < 3:
        line = lines[k]
        if line.blank:
            if fields and line.text.startswith("\t"):
                k -= 1
                continue
            break
        s = line.s
        if fields:
            if (
                not line.text.startswith("\t")
                or len(s) > 60
                or (
                    s.endswith((".", "?", "!", ":"))
                    and not s.endswith(("Corp.", "Inc.", "Ltd.", "Co."))
                )
            ):
                break
        else:
            if len(s) > 70 or s.endswith(("?", "!", ":")) or re.search(r"[.!?]\s+\S", s):
                break
            if (
                wrapped_only
                and not line.text.rstrip().endswith(" ")
                and not _SENDER_FRAGMENT.search(s)
            ):
                break
            if s.endswith(".") and not _SENDER_FRAGMENT.search(s):
                break
        start = k
        taken += 1
        k -= 1
    return start


_SENDER_FRAGMENT = re.compile(
    r"(?:@[\w.-]*|<[^<>\s]*>?|^\"|^[A-Z][A-Za-z.' -]{0,40}$|^sent by:)", re.I
)


# --- zones ---------------------------------------------------------------------------------


def _zones(text: str) -> list[Zone]:
    scan = text[:MAX_SCAN_CHARS]
    lines = _lines(scan)
    kinds: list[Kind | None] = [None] * len(lines)
    top = _mark_notes_residue(lines, kinds)
    _mark_history(lines, kinds, top)
    _mark_own_tail(lines, kinds, top)
    zones = _merge(lines, kinds)
    if len(text) > len(scan):
        zones.append(Zone("quoted", len(scan), len(text)))
    return zones


# Lotus Notes leaves the "Please respond to <name>" line of its header at the very top of some
# bodies ("Please respond to kevinscott\nSteve\n\nThis is a draft ..."): the author's text
# starts below it.
_NOTES_RESIDUE = re.compile(r"^please respond to\s+<?[^\s<>]+>?$", re.I)


def _mark_notes_residue(lines: Sequence[_Line], kinds: list[Kind | None]) -> int:
    """Mark a Notes header line left as the first line of the body; the index to go on from."""
    first = next((k for k, line in enumerate(lines) if not line.blank), None)
    if first is None or not _NOTES_RESIDUE.match(lines[first].s):
        return 0
    kinds[first] = "header"
    return first + 1


def _mark_history(lines: Sequence[_Line], kinds: list[Kind | None], top: int = 0) -> None:
    """Mark header and quoted lines; lines left None are the author's (signature and footer
    come next). A header block opens the quoted or forwarded message: everything after it is
    quoted, except when the author wrote nothing above it and it is the attribution of a
    ``>``-quote: then the author answers below or between the quoted lines."""
    n = len(lines)
    own_seen = False
    i = top
    while i < n:
        line = lines[i]
        if line.blank:
            i += 1
            continue
        if _is_quote(lines, i) and not _SEPARATOR.match(line.s):
            kinds[i] = "quoted"
            i = _lazy_wrap(lines, kinds, i)
            continue
        start = _header_start_at(lines, i)
        if start is None:
            own_seen = True
            i += 1
            continue
        end = _header_end(lines, i)
        for k in range(start, end):
            kinds[k] = "header"
        nxt = next(_next_nonblank(lines, end, 1), None)
        if own_seen or nxt is None or not _is_quote(lines, nxt):
            for k in range(end, n):
                kinds[k] = "quoted"
            _mark_nested_headers(lines, kinds, end)
            return
        i = end


def _is_quote(lines: Sequence[_Line], i: int) -> bool:
    """A ">" line, or a ": " line next to another (a quoting style of some list regulars)."""
    text = lines[i].text
    if _QUOTE.match(text):
        return True
    if text.startswith(": ") or text == ":":
        return any(
            0 <= k < len(lines) and (lines[k].text.startswith(": ") or lines[k].text == ":")
            for k in (i - 1, i + 1)
        )
    return False


def _lazy_wrap(lines: Sequence[_Line], kinds: list[Kind | None], i: int) -> int:
    """After quoted line ``i``: an unprefixed short lowercase line right below a long quoted
    line is the rest of it (a client re-wrapped the quote without its ">"). Returns the
    index to go on from."""
    n = len(lines)
    if (
        i + 1 < n
        and not lines[i + 1].blank
        and not _is_quote(lines, i + 1)
        and len(lines[i].s) >= 60
        and lines[i + 1].s[:1].islower()
        and len(lines[i + 1].s) < 40
    ):
        kinds[i + 1] = "quoted"
        return i + 2
    return i + 1


def _header_end(lines: Sequence[_Line], i: int) -> int:
    """The index after the header block that starts at or around line ``i``."""
    n = len(lines)
    s = lines[i].s
    if _SEPARATOR.match(s) and not re.search(r"\b(?:sent|date|subject)\s*:", s, re.I):
        # "---- Forwarded by X on 10/18/99 08:46" may wrap its dashes onto the next line
        if i + 1 < n and re.match(
            r"^\s*(?:\d{1,2}:\d{2}\s*[AP]M\s*)?-{3,}\s*$|^\s*[AP]M\s*-{3,}\s*$", lines[i + 1].text
        ):
            return i + 2
        return i + 1
    if _WROTE_LINE.match(s) or _ADDRESS_COLON.match(s) or _ATTRIBUTION.match(s):
        return i + 1
    if _ATTRIBUTION_START.match(s):
        end = i + 1
        joined = s
        while end < n and end < i + 4 and not _ATTRIBUTION.match(joined) and not lines[end].blank:
            joined += " " + lines[end].s
            end += 1
        return end
    # field block: through the Subject line (and its wrapped tail), else the last field line
    last = i
    k = i + 1
    blanks = 0
    while k < n and k < i + 40:
        t = lines[k]
        if t.blank:
            blanks += 1
            if blanks > 2:
                break
            k += 1
            continue
        ts = t.s
        if _HEADER_FIELD.match(ts) or _NOTES_FIELD.match(ts) or _ENDS_WITH_DATE.match(ts):
            blanks = 0
            last = k
            if re.match(
                r"^\s*[*_]{0,2}(?:subject|betreff|objet|asunto|onderwerp|oggetto)\s?[*_]{0,2}\s?:",
                ts,
                re.I,
            ):
                # a wrapped subject continues on the next line until a blank line
                while (
                    k + 1 < n
                    and not lines[k + 1].blank
                    and k + 1 < i + 42
                    and not _HEADER_FIELD.match(lines[k + 1].s)
                    and len(lines[k + 1].s) < 80
                    and len(ts) > 55
                ):
                    k += 1
                    last = k
                    ts = lines[k].s
                return last + 1
        elif blanks == 0 and (t.text.startswith((" ", "\t")) or _ADDRESS_CONT.match(ts)):
            last = k  # a wrapped recipient list
        else:
            break
        k += 1
    return last + 1


_ADDRESS_CONT = re.compile(r"^[^.!?]{0,200}(?:@|/[A-Z]{2,}|[;,]\s*$)")


def _mark_nested_headers(lines: Sequence[_Line], kinds: list[Kind | None], i: int) -> None:
    """Inside quoted history, tell header blocks from quoted text (for display only)."""
    n = len(lines)
    k = i
    while k < n:
        if not lines[k].blank and not _QUOTE.match(lines[k].text):
            start = _header_start_at(lines, k)
            if start is not None and start >= i:
                end = _header_end(lines, k)
                for j in range(start, end):
                    kinds[j] = "header"
                k = max(end, k + 1)
                continue
        k += 1


def _mark_own_tail(lines: Sequence[_Line], kinds: list[Kind | None], top: int = 0) -> None:
    """In each run of the author's lines, find attachments, footers, disclaimers and the
    signature; the rest is ``own``. Lines before ``top`` are no quote the author answers."""
    n = len(lines)
    i = 0
    while i < n:
        if kinds[i] is not None:
            i += 1
            continue
        j = i
        while j < n and kinds[j] is None:
            j += 1
        _mark_run(
            lines,
            kinds,
            i,
            j,
            first=not any(kinds[k] in ("quoted", "header") for k in range(top, i)),
        )
        i = j


def _mark_run(
    lines: Sequence[_Line], kinds: list[Kind | None], a: int, b: int, *, first: bool
) -> None:
    idx = [k for k in range(a, b) if not lines[k].blank]
    for k in idx:
        if _ATTACHMENT.match(lines[k].text):
            kinds[k] = "attachment"
    body = [k for k in idx if kinds[k] is None]
    cut = _tail_start(lines, body, first=first)
    for k in body:
        kinds[k] = "own"
    if cut is None:
        _mark_signoff(lines, kinds, body, first=first)
        return
    kind, at, keep = cut
    for pos, k in enumerate(body):
        if pos >= at and k not in keep:
            kinds[k] = kind if kinds[k] == "own" else kinds[k]
    _mark_signoff(lines, kinds, body, first=first)
    # a disclaimer or footer further down inside a signature
    for pos, k in enumerate(body):
        if (
            pos > at
            and kinds[k] == "signature"
            and (_DISCLAIMER.match(lines[k].s) or _FOOTER.match(lines[k].s))
        ):
            for j in body[pos:]:
                if kinds[j] == "signature":
                    kinds[j] = "footer"
            break


def _mark_signoff(
    lines: Sequence[_Line], kinds: list[Kind | None], body: list[int], *, first: bool
) -> None:
    """The closing of the author's text ("Thanks,", "Best regards,\nDana", "-Frank") becomes
    a ``signoff`` zone, when the author wrote something before it."""
    head: list[int] = []
    for k in body:
        if kinds[k] != "own":
            break
        head.append(k)
    if not head:
        return
    last = lines[head[-1]].s
    block: list[int] = []
    if _DASH_NAME.match(last) or _SIGNOFF_NAMED.match(last):
        block = head[-1:]
    elif (
        len(head) >= 2
        and _SIGNOFF.match(lines[head[-2]].s)
        and len(last) <= 40
        and _SHORT_NAME.match(last)
        and not _SIGNOFF.match(last)
    ):
        block = head[-2:]
    before = head[: len(head) - len(block)]
    if block and (not first or any(not is_greeting(lines[k].s) for k in before)):
        for k in block:
            kinds[k] = "signoff"


def _tail_start(
    lines: Sequence[_Line], body: list[int], *, first: bool
) -> tuple[Kind, int, set[int]] | None:
    """Where the signature or footer starts in the author's lines ``body`` (positions in
    ``body``), and the lines after it that are the author's again (a P.S.). In a run below a
    quote (``first`` False) a signature may start on its first line."""
    content_seen = not first
    texts = [lines[k].s for k in body]
    for pos, s in enumerate(texts):
        raw = lines[body[pos]].text
        rest = texts[pos + 1 : pos + 1 + _TAIL_WINDOW]  # a signature block is short
        if (_FOOTER.match(s) or _DISCLAIMER.match(s)) and (content_seen or pos > 0):
            return ("footer", pos, _ps_lines(lines, body, pos))
        if content_seen and _SIG_DELIM.match(raw) and (not rest or _sig_follows(rest)):
            return ("signature", pos, _ps_lines(lines, body, pos))
        if content_seen and (_SIGNOFF.match(s) or _DASH_NAME.match(s)):
            names = 0 if _DASH_NAME.match(s) else _signoff_name_lines(rest)
            if names is not None and _only_signature_after(rest[names:]):
                if names == 1 and _name_card(lines, body, pos + 1):
                    return ("signature", pos + 1, _ps_lines(lines, body, pos + 1))
                if len(rest) > names:
                    return ("signature", pos + 1 + names, _ps_lines(lines, body, pos + 1 + names))
                return None
        if (content_seen or pos == 0) and _name_card(lines, body, pos):
            return ("signature", pos, _ps_lines(lines, body, pos))
        if not is_greeting(s):
            content_seen = True
    return _trailing_signature(texts)


def _name_card(lines: Sequence[_Line], body: list[int], pos: int) -> bool:
    """A full name with, right under it (no blank line between), a few short lines of which
    one at least is a title or contact line, to the end of the author's text: a signature
    card ("Dana Wu / Senior Counsel / Phone: ..."); the name belongs to the card."""
    k = body[pos]
    s = lines[k].s
    if len(s) > 40 or not _FULL_NAME.match(s) or _SIGNOFF.match(s):
        return False
    if pos + 1 >= len(body) or body[pos + 1] != k + 1:
        return False
    rest = _until_footer([lines[j].s for j in body[pos + 1 : pos + 1 + _TAIL_WINDOW]])
    if not rest or len(rest) > 10:
        return False
    if any(len(r) > 80 or _is_prose(r) for r in rest):
        return False
    return any(_CONTACT.search(r) or _EXTENSION.match(r) for r in rest)


_TAIL_WINDOW = 60
_EXTENSION = re.compile(r"^(?:x|ext\.?)\s?\d{3,6}$", re.I)
_DASH_NAME = re.compile(r"^\s*(?:-{1,2}|[–—~])\s?[A-Z][\w.'’]{0,20}(?:\s[A-Z][\w.'’]{0,20})?\s*$")


def _sig_follows(rest: list[str]) -> bool:
    """After a "--"/"__"/"**" line: a signature is short and not running text (a disclaimer
    or client footer may follow it)."""
    if not 0 < len(rest) <= 25:
        return False
    prose = 0
    for s in rest:
        if _DISCLAIMER.match(s) or _FOOTER.match(s):
            break
        prose += _is_prose(s)
    return prose <= 1


def _signoff_name_lines(rest: list[str]) -> int | None:
    """How many lines after a sign-off are its name (0 or 1), or None when prose follows."""
    if not rest:
        return 0
    first = rest[0]
    if _SHORT_NAME.match(first) and len(first) <= 40 and not _SIGNOFF.match(first):
        return 1
    if _CONTACT.search(first) and len(first) <= 80:
        return 0
    return None


def _only_signature_after(rest: list[str]) -> bool:
    """The lines after a sign-off and its name look like a signature block, not more prose."""
    rest = _until_footer(rest)
    if not rest:
        return True
    if len(rest) > 12:
        return False
    return not any(_is_prose(s) for s in rest)


def _until_footer(rest: list[str]) -> list[str]:
    """The lines before the first disclaimer or client footer (those are cut on their own)."""
    for n, s in enumerate(rest):
        if _DISCLAIMER.match(s) or _FOOTER.match(s):
            return rest[:n]
    return rest


def _is_prose(line: str) -> bool:
    """A line of running text: three or more lowercase words of three letters or more (a
    title, company, address or phone line has hardly any)."""
    if _CONTACT.search(line) and len(line) < 60:
        return False
    return len(_LOWER_WORD.findall(line)) >= 3


_LOWER_WORD = re.compile(r"(?<![\w@./-])[a-zà-ÿ]{3,}(?![\w@./-])")


def _trailing_signature(texts: list[str]) -> tuple[Kind, int, set[int]] | None:
    """A last block that starts with a full name ("Tom Becker") followed by contact lines
    (title, company, phone, address) is a signature even without a sign-off."""
    if len(texts) < 3:
        return None
    for pos in range(max(1, len(texts) - 8), len(texts) - 1):
        if _FULL_NAME.match(texts[pos]) and not _SIGNOFF.match(texts[pos]):
            after = texts[pos + 1 :]
            if (
                after
                and all(len(s) <= 80 for s in after)
                and sum(1 for s in after if _CONTACT.search(s)) >= max(1, len(after) // 2)
            ):
                before = texts[pos - 1]
                # the name right under a sign-off line is the sign-off's name: keep it
                if _SIGNOFF.match(before):
                    return ("signature", pos + 1, set())
                return ("signature", pos, set())
    return None


def _ps_lines(lines: Sequence[_Line], body: list[int], pos: int) -> set[int]:
    """A "P.S." paragraph after the signature is the author's again."""
    keep: set[int] = set()
    for q in range(pos, len(body)):
        if _PS.match(lines[body[q]].text):
            k = body[q]
            while k < len(lines) and not lines[k].blank:
                keep.add(k)
                k += 1
            break
    return keep


def _merge(lines: Sequence[_Line], kinds: Sequence[Kind | None]) -> list[Zone]:
    """Consecutive lines of one kind (blank lines inside a run included) become one zone."""
    out: list[Zone] = []
    cur: Kind | None = None
    start = end = 0
    for line, kind in zip(lines, kinds, strict=False):
        if line.blank or kind is None:
            continue
        if kind == cur:
            end = line.end
            continue
        if cur is not None:
            out.append(Zone(cur, start, end))
        cur, start, end = kind, line.start, line.end
    if cur is not None:
        out.append(Zone(cur, start, end))
    return out
