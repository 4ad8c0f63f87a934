"""Words of a generated scenario: commitments, requests, deliveries, small talk, signatures.

Commitment and request sentences are assembled from many templates and random slots
(object, deadline phrase, position of the deadline), so a detector cannot be tuned to a
handful of sentences. Every deadline phrase comes with the rule that resolves it to a date
from the day it was written (in the writer's time zone); ``None`` means "no deadline".
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _next_weekday(d: date, weekday: int) -> date:
    """The next ``weekday`` strictly after ``d`` (Monday=0)."""
    ahead = (weekday - d.weekday()) % 7
    return d + timedelta(days=ahead or 7)


def _friday_this_week(d: date) -> date:
    return d + timedelta(days=4 - d.weekday()) if d.weekday() <= 4 else _next_weekday(d, 4)


def _month_end(d: date) -> date:
    first_next = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    end = first_next - timedelta(days=1)
    return end if end > d else _month_end(end + timedelta(days=1))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class Deadline:
    phrase: str
    due: date | None


def deadline(rng: random.Random, sent: date) -> Deadline:
    """A deadline phrase and the date it means, relative to ``sent``."""
    choice = rng.randrange(16)
    if choice == 0:
        return Deadline(
            "by Friday", _next_weekday(sent, 4) if sent.weekday() >= 4 else _friday_this_week(sent)
        )
    if choice == 1:
        wd = rng.randrange(5)
        return Deadline(f"by {WEEKDAYS[wd]}", _next_weekday(sent, wd))
    if choice == 2:
        return Deadline(
            rng.choice(["by tomorrow", "tomorrow", "by tomorrow morning"]), sent + timedelta(days=1)
        )
    if choice == 3:
        return Deadline(rng.choice(["by end of day", "by EOD", "later today", "today"]), sent)
    if choice == 4:
        return Deadline(
            rng.choice(["by end of next week", "by the end of next week"]),
            _friday_this_week(sent) + timedelta(days=7)
            if sent.weekday() <= 4
            else _next_weekday(sent, 4) + timedelta(days=7),
        )
    if choice == 5:
        return Deadline(
            rng.choice(["by the end of the week", "before the weekend"]), _friday_this_week(sent)
        )
    if choice == 6:
        day = rng.choice([1, 5, 10, 15, 20, 25, 28])
        target = date(sent.year, sent.month, day)
        if target <= sent:
            target = date(sent.year + (sent.month == 12), sent.month % 12 + 1, day)
        return Deadline(f"by the {_ordinal(day)}", target)
    if choice == 7:
        target = sent + timedelta(days=rng.randint(5, 40))
        style = rng.randrange(3)
        if style == 0:
            text = f"by {MONTHS[target.month - 1]} {target.day}"
        elif style == 1:
            text = f"by {target.day} {MONTHS[target.month - 1]}"
        else:
            text = f"by {WEEKDAYS[target.weekday()]}, {MONTHS[target.month - 1][:3]} {target.day}"
        return Deadline(text, target)
    if choice == 8:
        n = rng.choice([2, 3])
        return Deadline(
            rng.choice(
                [
                    f"within {'two' if n == 2 else 'three'} weeks",
                    f"in the next {'two' if n == 2 else 'three'} weeks",
                ]
            ),
            sent + timedelta(days=7 * n),
        )
    if choice == 9:
        return Deadline(
            rng.choice(["in the next couple of days", "in a couple of days"]),
            sent + timedelta(days=2),
        )
    if choice == 10:
        return Deadline(
            rng.choice(["by the end of the month", "before the end of the month"]), _month_end(sent)
        )
    if choice == 11:
        # Only weekdays on or before today's, where "next X" is unambiguous (next week's X).
        wd = rng.randint(0, min(sent.weekday(), 4))
        return Deadline(f"next {WEEKDAYS[wd]}", _next_weekday(sent, wd))
    if choice == 12:
        return Deadline(
            rng.choice(["before our next call", "soon", "when I can", "as soon as I can"]), None
        )
    return Deadline("", None)


OBJECTS_WORK = [
    "the deck",
    "the revised proposal",
    "the signed contract",
    "the Q3 figures",
    "my notes from the call",
    "the updated timeline",
    "the budget breakdown",
    "a first draft of the SOW",
    "the pricing sheet",
    "the onboarding checklist",
    "the meeting summary",
    "the final report",
    "the case study",
    "the slides for the board",
    "the security questionnaire",
    "the project plan",
    "the hiring brief",
    "the draft agenda",
    "the customer references",
    "the product roadmap",
    "the renewal quote",
    "the API docs",
]
OBJECTS_PERSONAL = [
    "the photos from the weekend",
    "the recipe",
    "the address for Saturday",
    "the flat listing",
    "the tickets",
    "the book list",
    "our travel plans",
    "the video from the party",
    "the playlist",
    "the receipts",
    "the contact of the plumber",
    "the hiking route",
]
ATTACH_EXT = ["pdf", "pdf", "pptx", "docx", "xlsx", "pdf", "zip"]

COMMIT = [
    "I'll send you {obj} {when}.",
    "I will get {obj} over to you {when}.",
    "Let me put together {obj} and send it {when}.",
    "I'm going to share {obj} with you {when}.",
    "You'll have {obj} from me {when}.",
    "I can have {obj} ready for you {when}.",
    "{When}, I'll send over {obj}.",
    "I promise to get you {obj} {when}.",
    "I'll make sure you get {obj} {when}.",
    "Will send {obj} {when}.",
    "I'll follow up with {obj} {when}.",
    "I'll circle back {when} with {obj}.",
    "Expect {obj} from me {when}.",
    "Leave it with me, I'll have {obj} to you {when}.",
    "I'll get {obj} to you {when}.",
    "I'm on it and will send {obj} {when}.",
    "{When} you'll get {obj} from me.",
    "I'll dig out {obj} and forward it {when}.",
]
COMMIT_NO_OBJECT = [
    "I will get back to you {when}.",
    "I'll get back to you on this {when}.",
    "Let me check and come back to you {when}.",
    "I'll look into it and let you know {when}.",
    "I'll confirm {when}.",
]
REQUEST = [
    "Could you send me {obj} {when}?",
    "Can you please review {obj} {when}?",
    "Would you mind sharing {obj} {when}?",
    "Any chance you could look over {obj} {when}?",
    "Please send over {obj} {when}.",
    "Would it be possible to get {obj} {when}?",
    "I'd appreciate it if you could send {obj} {when}.",
    "Can you get me {obj} {when}?",
    "Could you take a look at {obj} {when}?",
    "{When}, could you send me {obj}?",
    "Do you think you could share {obj} {when}?",
]
QUESTIONS = [
    "the Thursday slot still works for you",
    "we should include the analytics module",
    "you are joining the offsite",
    "the numbers look right to you",
    "we can move the launch",
    "your team needs more seats",
    "the new terms are acceptable",
]
REQUEST_QUESTION = [
    "Could you let me know {when} whether {q}?",
    "Can you confirm {when} that {q}?",
    "Please tell me {when} if {q}.",
]
DELIVER = [
    "Attached is {obj}.",
    "Here is {obj}, as promised.",
    "Please find {obj} attached.",
    "As promised, {obj} is attached.",
    "Sending over {obj} now.",
    "{Obj} attached, let me know what you think.",
    "Here you go: {obj} is attached.",
    "Finally got {obj} done, it's attached.",
]
LATE_PREFIX = [
    "Sorry for the delay! ",
    "Apologies, this took longer than planned. ",
    "Sorry this is late. ",
    "",
]
ANSWER = [
    "Sure, here you go.",
    "Done, see attached.",
    "Yes, that works for me.",
    "Happy to help, details below.",
    "Good question, the short answer is yes.",
    "Thanks for asking. I checked and it's fine.",
    "Of course. Attached.",
]
GREETINGS = [
    "Hi {first},",
    "Hello {first},",
    "Dear {first},",
    "Hey {first}!",
    "{first},",
    "Hi {first}!",
    "Good morning {first},",
    "Bonjour {first},",
    "Hola {first},",
    "Hej {first},",
]
CLOSINGS = [
    "Best,",
    "Thanks,",
    "Cheers,",
    "Kind regards,",
    "Best regards,",
    "Talk soon,",
    "Thanks!",
    "Many thanks,",
    "All the best,",
]
WORK_LINES = [
    "Thanks for the call earlier, it was really useful.",
    "Quick update on where we are with the project.",
    "We reviewed the numbers with the team this morning.",
    "Following up on our conversation last week.",
    "The pilot went well and the team is keen to continue.",
    "I wanted to check in on how things are going on your side.",
    "We had a few questions come up during the review.",
    "The timeline still looks realistic to me.",
    "Legal had a couple of small comments, nothing major.",
    "Let me know if anything is unclear.",
    "Happy to jump on a call if that is easier.",
    "Looping in the rest of the team for visibility.",
]
PERSONAL_LINES = [
    "It was so good to see you last weekend!",
    "How are things with you?",
    "We should really do dinner again soon.",
    "The kids loved it, thank you again.",
    "I finally finished that book you recommended.",
    "Hope the new job is going well.",
    "Are you around this weekend?",
    "Mum says hello.",
    "The weather here has been lovely.",
]
SUBJECTS_WORK = [
    "Project update",
    "Quick question",
    "Proposal for {company}",
    "Follow-up from our call",
    "Next steps",
    "Contract renewal",
    "Q{q} planning",
    "Pilot results",
    "Intro",
    "Timeline for the rollout",
    "Budget review",
    "Workshop on {month}",
    "Feedback on the draft",
    "Partnership idea",
    "Onboarding",
    "Pricing question",
    "Status report",
]
SUBJECTS_PERSONAL = [
    "Dinner on Saturday?",
    "Photos!",
    "Weekend plans",
    "Happy birthday!",
    "Trip in {month}",
    "Catching up",
    "Book club",
    "Quick favour",
    "Long time no see",
    "Holiday plans",
]


@dataclass(frozen=True)
class Phrase:
    sentence: str
    due: date | None
    obj: str


def _fill(template: str, obj: str, when: str) -> str:
    text = template.replace("{obj}", obj)
    if "{When}" in template:
        if not when:
            text = text.replace("{When}, ", "").replace("{When} ", "")
        else:
            text = text.replace("{When}", when[0].upper() + when[1:])
    text = text.replace(" {when}", f" {when}" if when else "").replace("{when}", when)
    if obj:
        text = text.replace("{Obj}", obj[0].upper() + obj[1:])
    return text.replace("  ", " ").replace(" .", ".").replace(" ?", "?").replace(" ,", ",")


def commitment(rng: random.Random, sent: date, personal: bool) -> Phrase:
    """A promise, e.g. "I'll send you the deck by Friday." with its due date."""
    dl = deadline(rng, sent)
    obj = rng.choice(OBJECTS_PERSONAL if personal else OBJECTS_WORK)
    if rng.random() < 0.2:
        return Phrase(_fill(rng.choice(COMMIT_NO_OBJECT), "", dl.phrase), dl.due, "")
    return Phrase(_fill(rng.choice(COMMIT), obj, dl.phrase), dl.due, obj)


def request(rng: random.Random, sent: date, personal: bool) -> Phrase:
    """A request to the reader, e.g. "Could you send me the figures by Monday?"."""
    dl = deadline(rng, sent)
    if rng.random() < 0.2:
        q = rng.choice(QUESTIONS)
        return Phrase(
            _fill(rng.choice(REQUEST_QUESTION).replace("{q}", q), "", dl.phrase), dl.due, ""
        )
    obj = rng.choice(OBJECTS_PERSONAL if personal else OBJECTS_WORK)
    return Phrase(_fill(rng.choice(REQUEST), obj, dl.phrase), dl.due, obj)


def delivery(rng: random.Random, obj: str, late: bool) -> str:
    prefix = rng.choice(LATE_PREFIX) if late else ""
    if not obj:
        return prefix + rng.choice(
            [
                "As promised, here is my answer: yes, we can do it.",
                "Getting back to you as promised: all confirmed.",
                "Following up as promised: we are good to go.",
            ]
        )
    return prefix + _fill(rng.choice(DELIVER), obj, "")


def attachment_name(rng: random.Random, obj: str) -> str:
    words = [w for w in obj.replace("'", "").split() if w not in ("the", "my", "a", "our")]
    return "_".join(w.capitalize() for w in words[:3]) + "." + rng.choice(ATTACH_EXT)


def pick(rng: random.Random, options: list[str], **slots: str) -> str:
    text = rng.choice(options)
    for key, value in slots.items():
        text = text.replace("{" + key + "}", value)
    return text
