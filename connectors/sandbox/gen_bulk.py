"""Mail no person wrote to the owner: newsletters, no-reply notifications, mailing lists.

Each carries the headers a real one does (``List-Id``, ``List-Unsubscribe``,
``Precedence``, ``Auto-Submitted``) and the Gmail category label Gmail would give it.
"""

from __future__ import annotations

from datetime import timedelta

from rapportd.connectors.sandbox import gen_phrases as ph
from rapportd.connectors.sandbox.gen_mail import Mail
from rapportd.connectors.sandbox.gen_people import FIRST_NAMES, LAST_NAMES, Person, ascii_slug
from rapportd.connectors.sandbox.gen_world import World

TOPICS = [
    "what's new this week",
    "five things to read",
    "our spring picks",
    "the year so far",
    "tips for remote teams",
    "product updates",
    "community highlights",
    "deals ending soon",
]
NOTICES = [
    "Your statement is ready",
    "Your order has shipped",
    "New sign-in to your account",
    "[rapportd/core] Pull request #{n} merged",
    "Reminder: timesheet due",
    "Invoice {n} paid",
    "Your booking is confirmed",
    "Password will expire in 7 days",
    "Weekly activity report",
]
LIST_TOPICS = [
    "Meetup next Thursday",
    "Question about packaging",
    "Ride on Sunday?",
    "Call for speakers",
    "Lost and found",
    "Minutes of the last meeting",
    "Job opening",
    "Release candidate available",
]


def _newsletter(w: World, p: Person, n: int, provider: str) -> None:
    rng = w.rng
    domain = p.email.split("@")[1]
    t = w.local(
        w.start + timedelta(days=n * p.rhythm.mean_gap_days + rng.uniform(0, 0.5)),
        p.timezone,
        work=False,
    )
    if t >= w.now:
        return
    topic = rng.choice(TOPICS)
    text = (
        f"{p.name}: {topic}\n\nHello {w.owner.first},\n\n"
        + " ".join(rng.sample(ph.WORK_LINES, 2))
        + f"\n\nRead more at https://{domain}/issues/{n}\n\n"
        + f"You receive this because you subscribed. Unsubscribe: https://{domain}/u"
    )
    mail = Mail(
        w.new_message_id(domain),
        t,
        (p.name, p.email),
        [("", w.account_address(provider))],
        f"{p.name} #{n + 1}: {topic}",
        text,
        html_only=p.html_only,
        alternative=not p.html_only,
        headers=[
            ("List-Id", f"{p.name} {p.list_id}"),
            (
                "List-Unsubscribe",
                f"<mailto:unsubscribe@{domain}?subject=unsub>, "
                f"<https://{domain}/u/{rng.getrandbits(32):x}>",
            ),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Precedence", "bulk"),
        ],
    )
    w.emit(mail, provider, sent_by_owner=False, labels=["INBOX", "CATEGORY_PROMOTIONS"])


def _notice(w: World, p: Person, when_days: float, provider: str) -> None:
    rng = w.rng
    t = (w.start + timedelta(days=when_days)).astimezone(w.now.tzinfo)
    if t >= w.now:
        return
    subject = rng.choice(NOTICES).replace("{n}", str(rng.randint(100, 9999)))
    text = (
        f"{subject}.\n\nThis is an automated message, please do not reply.\n"
        f"Manage notifications at https://{p.email.split('@')[1]}/settings"
    )
    mail = Mail(
        w.new_message_id(p.email.split("@")[1]),
        t.replace(microsecond=0),
        (p.name, p.email),
        [("", w.account_address(provider))],
        subject,
        text,
        headers=[("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All")],
    )
    w.emit(mail, provider, sent_by_owner=False, labels=["INBOX", "CATEGORY_UPDATES"])


def _list_post(w: World, p: Person, when_days: float) -> None:
    rng = w.rng
    by_owner = rng.random() < 0.08
    name = w.owner.name if by_owner else f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    address = (
        w.owner.gmail
        if by_owner
        else f"{ascii_slug(name)}@{rng.choice(['gmail.com', 'proton.me'])}"
    )
    t = w.local(
        w.start + timedelta(days=when_days),
        p.timezone if not by_owner else w.owner.timezone,
        work=False,
    )
    if t >= w.now:
        return
    subject = f"[{p.name}] {rng.choice(LIST_TOPICS)}"
    text = " ".join(rng.sample(ph.PERSONAL_LINES + ph.WORK_LINES, 3)) + f"\n\n{name.split()[0]}"
    text += (
        f"\n\n_______________________________________________\n{p.name} mailing list\n"
        f"{p.email}\nhttps://lists.example.org/mailman/listinfo/{p.name}"
    )
    mail = Mail(
        w.new_message_id(address.split("@")[1]),
        t,
        (name, address),
        [(p.name, p.email)],
        subject,
        text,
        headers=[
            ("List-Id", f"{p.name} {p.list_id}"),
            ("Precedence", "list"),
            ("List-Post", f"<mailto:{p.email}>"),
            ("List-Unsubscribe", f"<mailto:{p.name}-leave@lists.example.org>"),
        ],
    )
    labels = ["SENT"] if by_owner else ["INBOX", "CATEGORY_FORUMS"]
    w.emit(mail, "google", sent_by_owner=by_owner, labels=labels)


def bulk_mail(w: World, p: Person) -> None:
    """All mail of one automated sender over the window."""
    rng = w.rng
    days = (w.now - w.start).total_seconds() / 86400
    provider = p.accounts[0]
    if p.category == "newsletter":
        for n in range(int(days / p.rhythm.mean_gap_days) + 1):
            _newsletter(w, p, n, provider)
        return
    t = rng.uniform(0, p.rhythm.mean_gap_days)
    while t < days:
        if p.category == "noreply":
            _notice(w, p, t, provider)
        else:
            _list_post(w, p, t)
        t += rng.expovariate(1 / p.rhythm.mean_gap_days)
