"""Drafts a person would send as written, and suggestions that never contradict each other:
the rules and the planner on hand-built stores."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from rapportd.agent.core.settings import Settings
from rapportd.agent.store.models import Suggestion
from rapportd.agent.suggest.draft_checks import problems, sentences
from rapportd.agent.suggest.planner import plan_owner

from .builders import NOW, Store
from .test_rules import run

H = timedelta(hours=1)
D = timedelta(days=1)
DRIFT = {"drifting": True, "conversations": 6, "typical_quiet_days": 10.0,
         "longest_quiet_days": 20.0, "threshold_days": 30.0}  # fmt: skip


def _drafts(store: Store) -> list[Suggestion]:
    return list(store.session.scalars(select(Suggestion).where(Suggestion.kind.not_like("%hold"))))


def test_every_kind_of_draft_passes_the_checks(store: Store, settings: Settings) -> None:
    # a late promise, a reply owed, a thank-you, a check-in, each to a different person
    m = store.message(NOW - 9 * D, sender=store.owner.email, to=["ana@a.test"], thread="a")
    store.contact("ana@a.test", "Ana Ruiz")
    store.commitment(m, text="I'll send the revised pricing by Thursday", due=NOW - 2 * D)
    store.contact("raj@b.test", "Raj Patel")
    q = store.message(NOW - 6 * D, sender="raj@b.test", to=[store.owner.email], thread="b",
                      subject="Re: Q3 numbers")  # fmt: skip
    store.commitment(q, kind="request", direction="to_owner", rule="polite_ask",
                     text="Could you send me the Q3 numbers?")  # fmt: skip
    store.contact("jane@client.test", "Jane Doe")
    store.event(NOW - 5 * H, attendees=["jane@client.test"], summary="FW: [EXT] Quote review")
    store.contact("sam@friend.test", "Lee, Sam", last=NOW - 40 * D, drift=DRIFT, strength=0.3)
    store.message(NOW - 40 * D, sender="sam@friend.test", to=[store.owner.email],
                  subject="Long time no see", thread="s")  # fmt: skip
    plan_owner(store.session, store.owner_id, now=NOW, settings=settings)
    drafts = {s.kind: s for s in _drafts(store)}
    assert set(drafts) == {"promise_follow_up", "reply_needed", "thank_you", "check_in"}
    for s in drafts.values():
        assert problems(s.body, s.to_addrs, subjects=["Long time no see"]) == [], s.body
        assert s.to_addrs[0][1]  # a readable name in the To header
    assert "the revised pricing" in drafts["promise_follow_up"].body
    assert "I'll send the revised pricing" not in drafts["promise_follow_up"].body
    assert "about the Q3 numbers" in drafts["reply_needed"].body
    assert drafts["reply_needed"].subject == "Re: Q3 numbers"
    assert drafts["reply_needed"].reply_to_message_id == q.id  # threaded
    assert "“Quote review”" in drafts["thank_you"].body
    assert drafts["thank_you"].subject == "Thank you — Quote review"
    assert "Long time no see" not in drafts["check_in"].body + drafts["check_in"].subject
    assert drafts["check_in"].to_addrs == [["sam@friend.test", "Sam Lee"]]
    assert drafts["check_in"].body.startswith("Hi Sam,")


def test_a_promise_without_a_deliverable_gets_no_draft(store: Store, settings: Settings) -> None:
    m = store.message(NOW - 9 * D, sender=store.owner.email, to=["kean@rice.test"], thread="a")
    store.commitment(m, text="Baby, I'm going to San Francisco on Monday.", due=NOW - 2 * D)
    assert run(store, "promise_follow_up", settings) == []


def test_check_ins_of_one_batch_share_no_sentence(store: Store, settings: Settings) -> None:
    for i, name in enumerate(["Ana", "Ben", "Cyd", "Dee", "Eve"]):
        store.contact(f"{name.lower()}@x{i}.test", f"{name} Smith", last=NOW - 40 * D,
                      drift=DRIFT, strength=0.3)  # fmt: skip
    plan_owner(store.session, store.owner_id, now=NOW, settings=settings)
    drafts = _drafts(store)
    assert len(drafts) == 5
    seen: set[str] = set()
    for s in drafts:
        mine = set(sentences(s.body))
        assert not mine & seen, s.body
        seen |= mine


def test_thank_you_names_the_next_step_agreed_in_the_thread(
    store: Store, settings: Settings
) -> None:
    store.contact("jane@client.test", "Jane Doe")
    store.contact("raj@client.test", "Raj Patel")
    store.event(NOW - 5 * H, attendees=["jane@client.test", "raj@client.test"],
                summary="Pricing workshop")  # fmt: skip
    m = store.message(NOW - 7 * H, sender=store.owner.email, to=["jane@client.test"])
    store.commitment(m, text="I'll send the revised pricing by Friday", due=NOW + 2 * D)
    [p] = run(store, "thank_you", settings)
    assert p.context["next_step"] == "the revised pricing"
    assert p.context["names"] == ["Jane", "Raj"]


# --- coherence: who is drifting -----------------------------------------------------------


def test_not_drifting_when_written_to_this_week(store: Store, settings: Settings) -> None:
    store.contact("sam@friend.test", "Sam Lee", last=NOW - 40 * D, drift=DRIFT)
    store.message(NOW - 2 * D, sender=store.owner.email, to=["sam@friend.test"], thread="n")
    assert run(store, "check_in", settings) == []


def test_not_drifting_when_silence_is_below_the_usual_gap(store: Store, settings: Settings) -> None:
    usual = {**DRIFT, "typical_quiet_days": 60.0}
    store.contact("sam@friend.test", "Sam Lee", last=NOW - 40 * D, drift=usual)
    assert run(store, "check_in", settings) == []


def test_internal_colleague_seen_daily_is_not_drifting(store: Store, settings: Settings) -> None:
    daily = {**DRIFT, "typical_quiet_days": 1.0}
    store.contact("javier@acme.test", "Javier Sato", last=NOW - 40 * D, drift=daily,
                  internal=True)  # fmt: skip
    assert run(store, "check_in", settings) == []
    store.contact("sam@friend.test", "Sam Lee", last=NOW - 40 * D, drift=daily)
    assert len(run(store, "check_in", settings)) == 1  # an outside friend still is


def test_card_figures_come_from_one_model(store: Store, settings: Settings) -> None:
    store.contact("sam@friend.test", "Sam Lee", last=NOW - 40 * D, drift=DRIFT, typical_gap=1.0,
                  overdue=9.0)  # fmt: skip
    [p] = run(store, "check_in", settings)
    assert p.reasons["typical_gap_days"] == 10.0  # the drift model's, not the cadence's 1 day
    assert p.reasons["overdue_score"] == round(40 / 30, 2)
    assert "usually 10 days" in p.reasons["why"]


def test_analysis_stores_the_drift_models_figures_on_the_card() -> None:
    from rapportd.agent.analysis.analyse import card_figures
    from rapportd.agent.inference.relationship import ContactAnalysis

    def result(drift: dict[str, object]) -> ContactAnalysis:
        return ContactAnalysis(
            strength=0.5, stage="respect", typical_gap_days=1.0, overdue_score=6.0,
            next_expected_at=None, p_interact_30d=None, first_at=None, last_at=None,
            interaction_count=9, reasons={"drift": drift},
        )  # fmt: skip

    established = {**DRIFT, "silence_days": 45.0}
    assert card_figures(result(established)) == (10.0, 1.5)  # 45 days over a 30-day threshold
    assert card_figures(result({"drifting": False, "reason": "no rhythm yet"})) == (1.0, 6.0)


def test_no_dear_without_a_name() -> None:
    from rapportd.agent.suggest.style import Style

    assert Style(greeting="Dear").greet("") == "Hello,"
    assert Style(greeting="Dear").greet("Ana") == "Dear Ana,"


def test_a_late_promise_to_the_owner_that_names_nothing_gets_no_nudge(
    store: Store, settings: Settings
) -> None:
    m = store.message(NOW - 9 * D, sender="jeff@x.test", to=[store.owner.email], thread="n",
                      subject="WPTF Friday Burrito")  # fmt: skip
    store.commitment(
        m, direction="to_owner", text="I'll be there Friday, promise.", due=NOW - 4 * D
    )
    assert run(store, "nudge", settings) == []


def test_a_courtesy_offer_is_no_question_to_nudge_or_answer() -> None:
    from rapportd.agent.suggest.promise_rules import asks_for_answer

    for offer in (
        "Let me know what I can do to help.",
        "Let me know, though, if there are requests for information you consider inappropriate.",
        "Let me know if you have any questions.",
    ):
        assert not asks_for_answer(offer), offer
    assert asks_for_answer("Let me know if Thursday works.")
    assert asks_for_answer("Let me know if any of these dates work.")
    assert asks_for_answer("Let me know if we can move the launch.")
    assert asks_for_answer("Could you send me the deck?")
