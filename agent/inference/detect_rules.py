"""The rules of the local commitment / request detector, one small function per decision.

A clause is normalised (lower case, curly quotes straightened, "ill"/"im" read as "i'll"/"i'm")
and then asked, in order: is it excluded (boilerplate, social or rhetorical question, advice)?
is it a first-person promise (and not hedged, negated, conditional, a state or past)? is it a
request (polite modal question, please/kindly, imperative, "let me know", "I need your...",
an information question)? Every positive answer names the rule that fired; the caller turns
those names into ``reasons`` and a confidence.
"""

from __future__ import annotations

import re

# -- lexicon ------------------------------------------------------------------------------

ACTION_VERBS = (
    "send", "share", "forward", "review", "confirm", "sign", "submit", "check", "call", "email",
    "e-mail", "update", "approve", "remind", "arrange", "book", "schedule", "set", "fill",
    "complete", "provide", "upload", "loop", "take", "have", "ping", "reach", "get", "tell", "ask",
    "give", "bring", "grab", "add", "fix", "resend", "re-send", "double-check", "advise", "revert",
    "rsvp", "finish", "lock", "turn", "read", "prepare", "print", "return", "pay", "transfer",
    "wire", "post", "publish", "circulate", "draft", "write", "respond", "reply", "answer",
    "introduce", "invite", "join", "attend", "cover", "move", "push", "cancel", "reschedule",
    "sort", "order", "contact", "text", "ring", "message", "follow", "look", "find", "pick",
    "drop", "deliver", "ship", "courier", "process", "file", "list", "run", "test", "install",
    "connect", "cc", "include", "remove", "delete", "proofread", "edit", "correct", "fill",
    "save", "keep", "hold", "reserve", "buy", "collect", "clean", "organize", "organise",
    "coordinate", "plan", "think", "consider", "make", "ensure", "be", "do", "let", "remember",
    "note", "show", "walk", "help", "assist", "handle", "chase", "notify", "inform", "brief",
    "escalate", "flag", "track", "dial", "join", "come", "stop", "start", "lodge", "validate",
    "verify", "sync", "clarify", "explain", "suggest", "recommend", "nominate", "vote", "decide",
    "choose", "pick", "accept", "decline", "route", "request", "ship", "present", "demo", "go",
)  # fmt: skip
IMPERATIVE_STARTS = frozenset(ACTION_VERBS) - {
    "be",
    "do",
    "let",
    "have",
    "take",
    "make",
    "go",
    "come",
    "keep",
    "think",
    "consider",
    "note",
    "plan",
    "look",
    "find",
    "help",
    "start",
    "stop",
    "hold",
    "set",
    "run",
    "list",
    "test",
    "save",
    "show",
    "pick",
}
IMPERATIVE_PHRASES = re.compile(
    r"^(?:take a (?:look|peek)|have a look|make sure|be sure|set up|look (?:into|at|over)|"
    r"let me know|let us know|don't forget|do not forget|keep me (?:posted|updated|in the loop)|"
    r"find out|pick up|hold (?:the|a|off)|save (?:the date|me)|show me|help me|"
    r"think about|start (?:on|working)|run (?:the|a|it)|list (?:the|all)|test (?:the|it))\b"
)
NON_ACTION_AFTER_WILL = re.compile(
    r"^(?:need|want|miss|love|like|bet|admit|say|assume|guess|hope|wish|see you|see what|"
    r"see if|return the favou?r|never forget|always|probably|likely|definitely not|"
    r"have to see|be honest|be brief|keep (?:this|it) (?:short|brief)|leave it|"
    r"let the|be the|be a\b|be an\b|be so|be very|be fine|be ok|be great|be good|"
    # the writer's own whereabouts and plans, which nobody waits for: "I shall attend the
    # conference", "I'll fly to Denver", "I'll be out", "we'll join"
    r"attend\b|travel|fly\b|arrive|depart|leave (?:for|on|town|tomorrow)|stay\b|go to\b|"
    r"head (?:to|out|home)|spend\b|retire|relocate|move to\b|meet with\b|"
    # a meeting that is planned, not a thing owed: "Jeff and I will have a call with the
    # governor on Monday" ("I'll have the draft to you" stays a promise)
    r"have (?:a|an|our|another|the) (?:[a-z-]+ ){0,3}(?:call|meeting|conversation|lunch|dinner|"
    r"breakfast|discussion|chat|session|visit)s?\b(?! (?:ready|done|set up|scheduled)\b)|"
    # a state, not a deed: "we will have a limited opportunity", "I'll know more tomorrow",
    # "we'll have something we'll need to talk about"
    r"know\b|have (?:something|nothing|anything)\b|have (?:a|an|the|some|no|more|less|little|"
    r"plenty of) (?:[a-z-]+ ){0,2}(?:opportunity|chance|problem|issue|question|concern|choice|"
    r"decision|difficulty|impact|effect|role|need|interest|advantage)s?\b|"
    r"take (?:a |some |the )?(?:vacation|holiday|day|days|week|time) off)"
)
# "going to" followed by a place, not a verb: a determiner or a capitalised name
GOING_TO_PLACE = re.compile(
    r"\b(?i:i'm|i am|i’m|we're|we are|we’re)\s+(?i:going|headed|heading|off) to\s+"
    r"(?:(?i:the|a|an|my|our|his|her|their|your|this|that)\s|(?!I\b)[A-Z])"
)
BE_OK = re.compile(
    r"^be (?:sure|certain) to|^be in touch|^be (?:sending|calling|reaching|following|getting back|"
    r"submitting|delivering|posting|sharing|circulating|reviewing)\b"
)
BOILERPLATE = re.compile(
    r"(?:please|pls|kindly)\s+(?:find|see)\b"
    r"|(?:please|pls|kindly)\s+note\b|please don'?t hesitate|do not hesitate|please feel free"
    r"|feel free to|(?:please|kindly)\s+accept (?:my|our)|please (?:do not|don't) reply"
    r"|please ignore|please disregard|please notify|please consider the environment"
    r"|(?:let me|let us) know if (?:you )?(?:have|need|want|would like|run into|encounter|see|"
    r"there(?:'s| is| are)|anything|i can|we can|it (?:doesn't|didn't|does not|did not)|this "
    r"(?:doesn't|didn't)|you've any|you'd like|you'd prefer)"
    r"|(?:please|do) let (?:me|us) know if you (?:have|need)|no need to"
    # a Lotus Notes header line left in the text: "Please respond to kevinscott"
    r"|^please respond to \S+$"
    # an offer, not an ask: "let me know what I can do to help", "… how we can help"
    r"|(?:let me|let us) know (?:what|how|where|whether|if) (?:else )?(?:i|we) (?:can|could|might)"
    r" (?:do|help|assist|support)"
    r"|happy to help|have a (?:great|good|nice|lovely|wonderful)|enjoy\b|hope you\b|^thanks\b"
    r"|^thank you\b|looking forward"
    r"|(?:please|kindly) (?:click|visit|log[- ]?in|sign[- ]?in|unsubscribe|go to|opt|allow|"
    r"keep this|retain this|quote your|add \S+@\S+|reply stop|do not respond)"
    # "please print this e-mail / your confirmation" is a notice; "please print and have
    # signed" is an ask.
    r"|(?:please|kindly) print (?:out )?(?:(?:this|the|your) )?(?:e-?mail|message|page|"
    r"confirmation|receipt|ticket|voucher|boarding pass|itinerary)\b|before printing"
    r"|can you afford|address book|for your records",
)
# The part of BOILERPLATE that is never an ask, whoever scores it: attachment notes, notes,
# thanks and wishes ("Please find attached ...", "Thanks for ...", "Have a great weekend").
PLEASANTRY = re.compile(
    r"(?:please|pls|kindly)\s+(?:find|see)\b|(?:please|pls|kindly)\s+note\b|please ignore"
    r"|please disregard|please (?:do not|don't) reply|(?:please|kindly)\s+accept (?:my|our)"
    r"|happy to help|have a (?:great|good|nice|lovely|wonderful)|enjoy\b|hope you\b|^thanks\b"
    r"|^thank you\b|looking forward|for your records|please consider the environment"
)
CONDITIONAL_INSTRUCTION = re.compile(
    r"^(?:if (?:you|your|the above|this)\b(?! could| would| can)|to (?:cancel|unsubscribe|update|"
    r"ensure|see|view|stop|opt|change|manage|learn|find out|receive|continue|access|register|"
    r"avoid|get started|make sure)\b|for (?:more|further|additional) (?:information|details)|"
    r"should you|in order to|before (?:submitting|you))"
    r"|\bif you (?:need|wish|want|would like|'d like|have (?:any )?(?:questions|problems|issues)|"
    r"require|should|are (?:interested|looking|unable)|prefer|do not|don't)\b"
)
LEADING = re.compile(
    r"^(?:(?:hey|hi|ok|okay|also|and|so|btw|then|now|oh|well|anyway|in the meantime|meanwhile|"
    r"first|finally|again|additionally|lastly|plus|but|sure|yes|great|thanks|guys|all|team|"
    r"otherwise|alternatively|if possible|when you (?:get|have) a (?:chance|moment|sec(?:ond)?|"
    r"minute))[ ,!.:-]+)+"
)
APPRECIATED = re.compile(
    r"\b(?:would|will) be (?:much |greatly |really |very |most )?(?:appreciated|helpful|great|"
    r"awesome|wonderful|fantastic|a big help)\b"
)
PROPOSAL = re.compile(
    r"(?:^|\b)(?:i|we)(?: would|'d) (?:like|love) (?:to )?(?:meet|discuss|schedule|set up|get "
    r"together|visit|talk|chat|call|invite|ask|request|see you|have you|get your|hear|review|"
    r"go over|sit down|catch up with you)\b"
)
HEDGE_BEFORE = re.compile(
    r"\b(?:try(?:ing)? to|try my best|try and|might|may|maybe|perhaps|hopefully|possibly|reckon|"
    r"not sure|i think|i guess|i suppose|i hope to|hoping to|if possible|if i can|"
    r"probably|could|would|should|i'd|we'd|unlikely)\b"
)
NEGATION = re.compile(
    r"\b(?:won't|will not|wont|'ll not|shan't|can't|cannot|can not|unable|not going to|"
    r"not able|never|no longer|don't think|not planning)\b"
)
CONDITIONAL = re.compile(
    r"(?:^|\b)(?:if|unless|in case|provided(?: that)?|as long as|assuming|should you|"
    r"were you to|otherwise)\b"
)
POLITE_IF = re.compile(
    r"\bif (?:that(?:'s| is)? (?:works?|ok(?:ay)?|fine|helps|alright|easier)|possible|"
    r"you don't mind|you like|needed be)\b"
)
SOCIAL_QUESTION = re.compile(
    r"^(?:how (?:was|were|is|are|did|'s|have|has|do you feel|about that)|how's|hows|"
    r"did you (?:end up|manage|have|enjoy|hear|see the|get home|make it home|survive)|"
    r"can you believe|could you believe|who knew|isn't it|wasn't it|aren't you|guess what|"
    r"what a\b|how cool|how exciting|right\?|you ok|you well|settling in|all good|"
    r"maybe|perhaps|honestly|seriously|remember when|wouldn't it be)"
)
FIRST_PERSON_FUTURE = re.compile(
    r"(?:^|\b)(?P<subj>i|we|our (?:[a-z-]+ )?(?:team|company|firm|office|side|group|department|agency))"
    r"\s*(?:'ll|will|shall|'m going to|am going to|are going to|'re going to|'m gonna|"
    r"am gonna|'re gonna|'m planning to|am planning to|'re planning to|are planning to|"
    r"plan to|intend to|'m about to|am about to|commit to|promise to)\s+(?P<rest>.*)$"
)
SUBJECTLESS_FUTURE = re.compile(
    r"^(?:will|'ll|going to|gonna|planning to|about to)\s+(?!you\b|u\b|we\b|i\b|it\b|they\b)(?P<rest>\w.*)$"
)
LET_ME = re.compile(r"(?:^|\b)let me (?!know\b)(?P<rest>\w.*)$")
I_CAN_BY = re.compile(
    r"(?:^|\b)(?:i|we) can (?P<rest>(?:have|get|send|do|deliver|finish|make|"
    r"share|turn|drop|bring).*)$"
)
PROGRESSIVE = re.compile(
    r"(?:^|\b)(?:i'm|i am|we're|we are)\s+(?P<verb>sending|calling|"
    r"dropping|bringing|posting|shipping|emailing|submitting|delivering|"
    r"transferring|wiring|publishing|circulating|booking|coming)\b"
)
SUBJECTLESS_PROGRESSIVE = re.compile(r"^(?:sending|sharing|forwarding|calling|uploading)\b")
YOU_GET_FROM_ME = re.compile(
    r"(?:\byou(?:'ll| will) (?:get|receive|have|see)|(?:^|\b)expect) .*\bfrom (?:me|us)\b"
    r"|\byou(?:'ll| will) (?:get|receive|have) (?:my|our)\b"
    r"|(?:^|- )expect (?:the|a|an|my|our)\b.*\b(?:inbox|by|from)\b"
)
ASSIGNEE_ME = re.compile(r"\((?:me|i|myself|mine)\b")
ASSIGNEE_YOU = re.compile(r"\((?:you|u|yours)\b")
ASSIGNEE_OTHER = re.compile(
    r"\((?!me\b|i\b|you\b|u\b|by\b|due\b|eod\b|asap\b)[a-z][a-z .&/]{1,20}\)"
)

# "can you" is not an ask when "can" closes a clause of the sender's own ("When I can you'll
# get it") or "you" opens a statement ("you'll", "you've").
MODAL_YOU = re.compile(
    r"(?:^|\b)(?<!\bi )(?<!\bwe )(?:could|can|would|will|wd|cd)\s+(?:you|u|ya|y'all)\b"
    r"(?!'|\s+(?:believe|imagine))"
)
POLITE_ASK = re.compile(
    r"\b(?:if you (?:could|can|would(?! (?:like|prefer|rather|want|be interested)\b)|have a (?:moment|minute|sec))|(?:hoping|hope|wonder(?:ing)?|"
    r"chance|reckon|think|possible for) you (?:could|can|would|might)|would you mind|do you mind|"
    r"would it be possible|is it possible (?:for you|to)|any chance|i'd appreciate|"
    r"i would appreciate|we'd appreciate|we would appreciate|appreciate it if|"
    r"(?:i was|i'm|i am|we were|we're) wondering (?:if|whether)|(?:^|\b)mind (?:sending|sharing|"
    r"checking|taking|having|looking|forwarding|giving)|"
    r"would you be (?:able|free|available|willing|open)|are you (?:able|free|available) to)\b"
)
PLEASE = re.compile(r"(?:^|\b)(?:please|pls|plz|pretty please)\b|^kindly\b|\byou kindly\b")
NEED_FROM_YOU = re.compile(
    r"(?:^|\b)(?:(?:i|we)(?:'ll| will)?\s+(?:need|require)|(?:i|we)'d need|need|"
    r"(?:i|we) (?:still )?need|waiting (?:on|for))\s+(?:your|you to|u to|the .{1,40} (?:from you|back)|"
    r".{1,40} from (?:you|your))"
)
YOU_WILL_ACTION = re.compile(r"^(?:you(?:'ll| will)|u will)\s+(?P<verb>\w+)")
REMIND = re.compile(
    r"^(?:remind me|remember to|don't forget|do not forget|pls remember|be sure to)"
)
LETS = re.compile(r"^let's (?!(?:aim|try|hope|see|say|not|just hope)\b)\w+")
QUESTION_START = re.compile(
    r"^(?:(?:quick question|question|also|and|so|btw|ok|okay|just checking(?: in)?|any)\b[ ,]*)*"
    r"(?:what|when|where|which|who|whom|whose|why|how|is|are|do|does|did|can|could|would|will|"
    r"shall|should|have|has|any|anything|may)\b"
)


# A name the sentence is addressed to, before an ask: "Cynthia, get back to Jeff on this.",
# "Rosie - please print and have signed." (read on the original casing).
VOCATIVE = re.compile(r"^[A-Z][a-z]+(?: [A-Z][a-z]+)?\s*(?:,|-{1,2}|–|—)\s+(?=[a-z])")


def without_vocative(sentence: str) -> str:
    """The sentence without a leading "Name," / "Name -" when an ask follows it."""
    m = VOCATIVE.match(sentence)
    if not m:
        return sentence
    rest = sentence[m.end() :]
    word = _first_word(normalise(rest))
    if (
        word in IMPERATIVE_STARTS
        or PLEASE.match(normalise(rest))
        or IMPERATIVE_PHRASES.match(normalise(rest))
    ):
        return rest
    return sentence


# The delivery happens in this very message ("Sending over the deck now.", "Attached is the
# deck, as promised.", "Here is the deck."): a performed delivery, not a promise.
PERFORMED_DELIVERY = re.compile(
    r"^(?:(?:ok|okay|so|and|also|sure|as promised|as requested|finally)[ ,]+)*"
    r"(?:(?:i'm|i am|we're|we are)\s+)?(?:sending|sharing|forwarding|attaching|enclosing|"
    r"uploading)\b.*\b(?:now|herewith|attached|enclosed|below|here)\b"
    r"|(?:^|\b)(?:attached (?:is|are|please find|you'll find|you will find)|enclosed (?:is|are)|"
    r"please find|here (?:is|are)|here's|here you go|as promised|see attached|i've attached|"
    r"i have attached|we've attached|i attach|attaching)\b"
)
# A courtesy invitation to reply ("let me know what you think", "thoughts welcome"): it
# invites an answer but does not ask for one; without a deadline it is a weak ask.
COURTESY = re.compile(
    r"(?:^|\b)(?:(?:let|lmk)(?: me| us)? know (?:what you think|your thoughts|how (?:you|it|that|"
    r"this|things) |if (?:it|this|that|everything|all) (?:looks|works|helps|makes sense|is ok)|"
    r"if you (?:like|agree|have (?:any )?(?:thoughts|comments|feedback)))|"
    r"(?:any )?(?:thoughts|feedback|comments) (?:are |is )?(?:welcome|appreciated))"
)
DEADLINE_WORD = re.compile(
    r"\b(?:by|before|until|asap|today|tonight|tomorrow|eod|cob|urgent(?:ly)?|end of)\b"
)


# "<ask> and I'll <verb>": the promise is conditional on the ask, which is the point.
ASK_THEN_PROMISE = re.compile(r"^[a-z][^,;]{2,80}?\band (?:i|we)(?:'ll| will)\s+\w+")


def performs_delivery(s: str) -> bool:
    """Whether a normalised sentence delivers something in this very message."""
    return bool(PERFORMED_DELIVERY.search(s))


def normalise(clause: str) -> str:
    """Lower-case, straight quotes, informal spellings mapped ("ill" -> "i'll", "u" kept)."""
    s = clause.lower().replace("’", "'").replace("‘", "'").replace("`", "'")
    s = re.sub(r"\bi\s+will\b", "i will", s)
    s = re.sub(r"\bill\b(?=\s+(?:\w+))", "i'll", s)
    s = re.sub(r"\bim\b", "i'm", s)
    s = re.sub(r"\bwe'll\b", "we'll", s)
    s = re.sub(r"\s+", " ", s).strip()
    return s


def _first_word(s: str) -> str:
    m = re.match(r"[a-z'-]+", s)
    return m.group(0) if m else ""


def commitment_rule(clause: str, sentence: str) -> str | None:
    """The name of the commitment rule that fires on a normalised clause, or None."""
    hit = commitment_head(clause, sentence)
    return hit[0] if hit else None


def commitment_head(clause: str, sentence: str) -> tuple[str, int] | None:
    """``(rule, where the promise starts in the clause)`` or None."""
    s = clause
    if sentence.rstrip().endswith("?") and not re.search(r"\b(?:i'll|i will)\b", s):
        return None
    m = FIRST_PERSON_FUTURE.search(s)
    rule = "first_person_future"
    rest = m.group("rest") if m else ""
    head_start = m.start() if m else -1
    if not m:
        for name, pat in (("subjectless_future", SUBJECTLESS_FUTURE), ("let_me", LET_ME),
                          ("i_can_by", I_CAN_BY)):  # fmt: skip
            mm = pat.search(s)
            if mm:
                rule, rest, head_start = name, mm.group("rest"), mm.start()
                break
        else:
            you = YOU_GET_FROM_ME.search(s)
            if you:
                return "you_get_from_me", you.start()
            prog = PROGRESSIVE.search(s) or SUBJECTLESS_PROGRESSIVE.search(s)
            if prog and (performs_delivery(s) or performs_delivery(sentence)):
                return None  # "Sending over the deck now.": delivered, not promised
            if prog and not HEDGE_BEFORE.search(s[: prog.start()]):
                return "progressive_future", prog.start()
            return None
    if rule == "let_me" and re.match(
        r"(?:just |quickly )?(?:know|see if|guess|say|be clear|"
        r"explain why|start by|begin by)",
        rest,
    ):
        return None
    if rest.startswith("be ") and not BE_OK.match(rest):
        return None
    if NON_ACTION_AFTER_WILL.match(rest) or re.match(r"(?:not|never)\b", rest):
        return None
    if re.match(r"(?:need|have to|must)\b", rest):
        return None
    before = s[:head_start]
    if HEDGE_BEFORE.search(before) or NEGATION.search(before):
        return None
    if re.match(r"(?:try|attempt|see|hope|aim)\b", rest):
        return None
    if NEGATION.search(s[head_start : head_start + 30]):
        return None
    cond = CONDITIONAL.search(s)
    if cond and not POLITE_IF.search(s[cond.start() :]):
        return None
    return rule, head_start


def is_excluded_sentence(s: str) -> bool:
    return bool(BOILERPLATE.search(s))


_LINKING_VERB = (
    r"(?:is|are|was|were|has|have|had|will|would|should|could|can|may|might|must|does|did|"
    r"seems?|looks?|remains?|became|becomes)\b"
)


# the word right after the opening one is a linking verb, or one more noun and then one
_NOUN_THEN_LINKING = (
    r"(?:(?!(?:me|us|him|her|them|it|the|a|an|your|this|that|my|our)\b)[a-z]+\s+)?" + _LINKING_VERB
)


def request_rule(clause: str, sentence: str) -> str | None:
    """The name of the request rule that fires on a normalised clause, or None."""
    s = LEADING.sub("", clause)
    question = sentence.rstrip().endswith("?") or clause.rstrip().endswith("?")
    if BOILERPLATE.search(s):
        return None
    if question and SOCIAL_QUESTION.search(s):
        return None
    if POLITE_ASK.search(s):
        return "polite_ask"
    if CONDITIONAL_INSTRUCTION.search(sentence):
        # "If you get a minute, can you call me?": the ask follows the condition's comma.
        comma = s.find(",")
        if comma > 0 and MODAL_YOU.search(s, comma):
            return "modal_you"
        return None  # "If you'd like to stop these, please click...": an instruction, not an ask
    if APPRECIATED.search(s) and re.search(r"\b(?:you|your|any help|if)\b", s):
        return "appreciated"
    if PROPOSAL.search(s):
        return "proposal"
    if MODAL_YOU.search(s):
        return "modal_you"
    if COURTESY.search(s) and not DEADLINE_WORD.search(s):
        return "courtesy"
    if PLEASE.search(s):
        after = s[PLEASE.search(s).end() :].strip(" ,")  # type: ignore[union-attr]
        if re.match(r"(?:don't|do not) (?!forget)", after):
            return None
        return "please"
    if REMIND.match(s):
        return "reminder"
    if re.search(r"(?:^|\b)(?:let|lmk)\b(?: me| us)? know\b", s):
        return "let_me_know"
    if NEED_FROM_YOU.search(s):
        return "need_from_you"
    if LETS.match(s):
        return "lets"
    if IMPERATIVE_PHRASES.match(s):
        return "imperative"
    word = _first_word(s)
    if word in IMPERATIVE_STARTS and not re.match(r"\w+(?:ed|ing)\b", s):
        nxt = s[len(word) :].strip()
        # "Present were a dozen senators", "Review is due", "Call volumes are up": the word
        # is an adjective or a noun with its verb right after, not a command
        if re.match(_NOUN_THEN_LINKING, nxt, re.I):
            return None
        if re.match(r"(?:me|us|him|her|them|it|the|a|an|your|this|that|these|those|over|out|"
                    r"in|on|up|back|through|along|to|with|off|all|everyone|any|some|my|our|"
                    r"\w+)\b", nxt):  # fmt: skip
            return "imperative"
    m = YOU_WILL_ACTION.match(s)
    if m and m.group("verb") in ACTION_VERBS and not question:
        return "assignment"
    if question and QUESTION_START.match(s):
        return "question"
    return None
