"""The precision rules of issue 7: what must NOT become a suggestion, on hand-built cases.

- a reply debt needs an explicit ask: bare questions, proposals and rule-less guesses are
  not nagged about (reply_needed, nudge for the owner's own question);
- someone's late promise gets a business day of grace even once its state is "late";
- check_in follows the drift verdict of analysis (an established rhythm, broken), so a
  contact whose whole history is one burst is not "overdue" however high its score.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from rapportd.agent.core.settings import Settings

from .builders import NOW, Store
from .test_rules import run

D = timedelta(days=1)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("rule", "text", "wanted"),
    [
        ("polite_ask", "Could you share the slides?", True),
        ("please", "Please send the signed copy.", True),
        ("", "Could you share the slides?", True),  # rows without a rule (older) still count
        ("question", "Are you around this weekend?", False),
        ("proposal", "We should do dinner again soon.", False),
        ("model", "We should really catch up.", False),
    ],
)
def test_reply_needed_needs_an_explicit_ask(
    store: Store, settings: Settings, rule: str, text: str, wanted: bool
) -> None:
    m = store.message(NOW - 6 * D, sender="jane@client.test", to=[store.owner.email], thread="r")
    store.commitment(m, kind="request", direction="to_owner", text=text, rule=rule)
    assert len(run(store, "reply_needed", settings)) == (1 if wanted else 0)


def test_nudge_ignores_the_owners_bare_question(store: Store, settings: Settings) -> None:
    store.message(NOW - 40 * D, sender="jane@client.test", to=[store.owner.email], thread="old")
    m = store.message(NOW - 7 * D, sender=store.owner.email, to=["jane@client.test"], thread="q")
    store.commitment(
        m,
        kind="request",
        direction="by_owner",
        text="Are you around this weekend?",
        rule="question",
    )
    assert run(store, "nudge", settings) == []
    m2 = store.message(NOW - 7 * D, sender=store.owner.email, to=["jane@client.test"], thread="q2")
    store.commitment(
        m2, kind="request", direction="by_owner", text="Can you confirm the date?", rule="modal_you"
    )
    assert [p.commitment_id is not None for p in run(store, "nudge", settings)] == [True]


def test_nudge_waits_a_business_day_even_when_late(store: Store, settings: Settings) -> None:
    # due Monday 17:00; fulfilment already says "late" at 18:00, the nudge waits until Tuesday
    monday = datetime(2024, 6, 10, 17, 0, tzinfo=NOW.tzinfo)
    m = store.message(monday - 3 * D, sender="jane@client.test", to=[store.owner.email], thread="n")
    store.commitment(
        m, direction="to_owner", text="I'll send the contract", due=monday, state="late"
    )
    assert run(store, "nudge", settings, now=monday + H) == []
    assert len(run(store, "nudge", settings, now=monday + D + H)) == 1


DRIFTING = {
    "drifting": True,
    "reason": "silent 50 days; quiet spells are usually 7 days (longest 12)",
    "conversations": 9,
    "span_days": 80.0,
    "silence_days": 50.0,
    "typical_quiet_days": 7.0,
    "longest_quiet_days": 12.0,
    "threshold_days": 21.0,
}
BURST = {
    "drifting": False,
    "reason": "no established rhythm yet (4 conversations over 9 days)",
    "conversations": 4,
    "span_days": 9.0,
    "silence_days": 80.0,
    "typical_quiet_days": None,
    "longest_quiet_days": None,
    "threshold_days": None,
}


def test_check_in_follows_the_drift_verdict(store: Store, settings: Settings) -> None:
    store.contact("burst@client.test", overdue=3.5, last=NOW - 80 * D, drift=BURST)
    c = store.contact("sam@friend.test", "Sam", overdue=0.5, last=NOW - 50 * D, drift=DRIFTING)
    [p] = run(store, "check_in", settings)
    assert p.contact_id == c.id  # the burst contact's high score does not matter
    assert p.reasons["drift"]["conversations"] == 9  # type: ignore[index]
    assert "quiet spells were usually 7 days" in str(p.reasons["why"])


def test_check_in_without_drift_falls_back_to_the_score(store: Store, settings: Settings) -> None:
    store.contact("old@friend.test", overdue=2.0, last=NOW - 40 * D)  # analysed before drift
    assert len(run(store, "check_in", settings)) == 1


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("Please send the signed copy.", True),
        ("Could you tell me when it starts?", True),
        ("Please include Whalley and Lavorato on future updates.", False),
        ("Please provide Ray Alvarez your comments.", False),
        ("Please forward this to Michael Kirby.", False),
        ("Rosie - please print and have signed.", False),
        ("Ask Karen for the distribution list she would like for today's meeting.", False),
        ("Please tell Rick the date.", False),
        ("Jeff -- could you coordinate with Rosie to get the time and place nailed down?", False),
        ("Could you put someone in touch with them?", False),
        ("Could you call Rick and let me know what he says?", True),
        ("Could you send me the agenda?", True),
    ],
)
def test_a_reply_is_owed_only_for_asks_answered_by_mail(
    store: Store, settings: Settings, text: str, wanted: bool
) -> None:
    """An instruction is done, not answered: silence after it is no reply owed."""
    m = store.message(NOW - 4 * D, sender="jane@client.test", to=[store.owner.email], thread="i")
    store.commitment(m, kind="request", direction="to_owner", text=text, rule="please")
    assert len(run(store, "reply_needed", settings)) == (1 if wanted else 0)
