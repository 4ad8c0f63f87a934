"""Names as people use them: readable display names, greeting names, sign-offs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapportd.agent.inference.names import (
    GreetingName,
    fits,
    given_name,
    greeted_name,
    greeting_name,
    learn_greetings,
    learn_signatures,
    owner_sign_offs,
    readable_name,
    signed_name,
)
from rapportd.agent.inference.types import Msg

T0 = datetime(2001, 7, 1, 9, tzinfo=UTC)
OWNER = "steven.kean@corp.test"


def msg(i: int, sender: str, to: list[str], text: str, **kw: object) -> Msg:
    return Msg(
        id=i,
        sent_at=T0 + timedelta(hours=i),
        sender=sender,
        recipients=tuple(to),
        to=tuple(to),
        direction="out" if sender == OWNER else "in",
        text=text,
        **kw,  # type: ignore[arg-type]
    )


def test_readable_names_from_real_client_formats() -> None:
    assert readable_name("Kean, Steven J.") == "Steven J. Kean"
    assert readable_name("Kean, Steven J. </O=ENRON/OU=NA/CN=RECIPIENTS/CN=SKEAN>") == (
        "Steven J. Kean"
    )
    assert readable_name("Steven J Kean/HOU/EES@EES") == "Steven J Kean"
    assert readable_name("Joe Hartsoe@Enron") == "Joe Hartsoe"
    assert readable_name('"Fergus, Gary S."') == "Gary S. Fergus"
    assert readable_name("JOHN SMITH") == "John Smith"
    assert readable_name("de la Cruz, Maria") == "Maria de la Cruz"
    assert readable_name("mday@gmssr.com") == ""
    # the local part written as a name is no name; a capitalised first name is one
    assert readable_name("mday", "mday@gmssr.com") == ""
    assert readable_name("jeff.dasovich", "jeff.dasovich@corp.test") == ""
    assert readable_name("Max", "max@acme.test") == "Max"


@pytest.mark.parametrize(
    ("display", "first"),
    [
        ("Małgorzata Schmidt", "Małgorzata"),  # Polish: Latin Extended-A
        ("Łukasz Nowak", "Łukasz"),
        ("Şule Yılmaz", "Şule"),  # Turkish
        ("Đorđe Petrović", "Đorđe"),  # Serbo-Croatian
        ("Jiří Novák", "Jiří"),  # Czech
        ("Nguyễn Văn An", "Nguyễn"),  # Vietnamese: Latin Extended Additional
        ("Søren Brennan", "Søren"),  # Latin-1, as before
    ],
)
def test_given_names_beyond_latin_1(display: str, first: str) -> None:
    """A demo draft to "Małgorzata Schmidt" greeted her "Hello," without her name: the name
    pattern knew only Latin-1 letters."""
    assert given_name(display) == first
    assert greeted_name(f"Hi {first},\nthanks for the notes") == first


def test_given_names_never_come_from_roles_or_addresses() -> None:
    assert given_name("Steven J. Kean") == "Steven"
    assert given_name("Dr. Sarah Lee") == "Sarah"
    assert given_name("Jean-Luc Picard") == "Jean-Luc"
    assert given_name("Outlook Migration Team") == ""
    assert given_name("info") == ""
    assert given_name("kevinscott@onlinemailbox.net") == ""
    assert given_name("") == ""


def test_greeted_and_signed_names() -> None:
    assert greeted_name("Rosie - please print and have signed.") == "Rosie"
    assert greeted_name("Hi Jeff,\nthanks for the update") == "Jeff"
    assert greeted_name("Bonnie: Please forward to Michael Kirby.") == "Bonnie"
    assert greeted_name("Please review.") == ""
    assert greeted_name("Thanks - this is great") == ""
    assert greeted_name("Jeff and Sue, see below") == ""
    assert signed_name("Call me when you can.\n\nThanks,\nSteve") == "Steve"
    assert signed_name("Call me when you can.\nSteve") == "Steve"
    assert signed_name("Thanks, Jeff") == "Jeff"
    assert signed_name("Looks good.") == ""


def test_fits_accepts_short_forms_and_address_words() -> None:
    assert fits("Rosie", "rosalee.fleming@corp.test", "Rosalee Fleming")
    assert fits("Steve", "", "Steven J. Kean")
    assert fits("Jeff", "jeff.dasovich@corp.test")
    assert not fits("Maureen", "michael.grimes@corp.test", "Michael Grimes")
    assert not fits("Thanks", "thanks@corp.test")


def test_fits_accepts_pet_forms_of_a_given_name() -> None:
    assert fits("Jim", "", "James D Steffes")
    assert fits("Peggy", "", "Margaret Allen")
    assert fits("Bill", "bill.smith@corp.test", "William Smith")
    assert fits("Dick", "richard.shapiro@corp.test")  # the address's words too
    assert not fits("Jim", "", "Jeff Dasovich")
    assert not fits("Peggy", "", "Susan J Mara")


def test_pet_names_the_owner_uses_and_is_called_by_win_over_the_display_name() -> None:
    msgs = [
        msg(1, OWNER, ["william.smith@corp.test"], "Bill - can you join at 3?"),
        msg(2, "margaret.allen@corp.test", [OWNER], "Here is the draft.\n\nThanks,\nPeggy"),
        msg(3, "ann@corp.test", [OWNER], "Jim -- the quick answer is yes."),
        msg(4, "bob@corp.test", [OWNER], "Jim,\n\nI would appreciate it."),
    ]
    greetings = learn_greetings(msgs, [OWNER])
    signatures = learn_signatures(
        [replace(m, sender_name="Margaret Allen") if m.id == 2 else m for m in msgs], [OWNER]
    )
    assert greeting_name("william.smith@corp.test", "William Smith", greetings, signatures) == (
        GreetingName("Bill", "you greeted them so")
    )
    assert greeting_name("margaret.allen@corp.test", "Margaret Allen", greetings, signatures) == (
        GreetingName("Peggy", "they sign so")
    )
    # an owner who never signs, whom people greet "Jim": his drafts are signed "Jim"
    assert owner_sign_offs(msgs, [OWNER], ["James D Steffes"]) == ("Jim", {})


def test_greeting_name_prefers_how_the_owner_greets_then_signatures_then_display() -> None:
    msgs = [
        msg(1, OWNER, ["rosalee.fleming@corp.test"], "Rosie - please print and have signed."),
        msg(2, "jeff.dasovich@corp.test", [OWNER], "Here is the update.\n\nJeff"),
        msg(3, OWNER, ["blh@law.test"], "Bonnie: Please forward to Michael Kirby."),
        # greets Maureen (cc) while writing to Michael: it counts for Maureen only
        msg(
            4,
            OWNER,
            ["michael.grimes@corp.test", "maureen.mcvicker@corp.test"],
            "Maureen - please schedule.",
        ),
    ]
    greetings = learn_greetings(msgs, [OWNER])
    signatures = learn_signatures(msgs, [OWNER])
    assert (
        greeting_name("rosalee.fleming@corp.test", "Rosalee Fleming", greetings, signatures).name
        == "Rosie"
    )
    assert (
        greeting_name("jeff.dasovich@corp.test", "Jeff Dasovich", greetings, signatures).name
        == "Jeff"
    )
    assert greeting_name("blh@law.test", "", greetings, signatures).name == "Bonnie"
    assert greeting_name("michael.grimes@corp.test", "Michael Grimes", greetings, signatures) == (
        greeting_name("michael.grimes@corp.test", "Michael Grimes", {}, {})
    )
    assert greeting_name("maureen.mcvicker@corp.test", "", greetings, signatures).name == "Maureen"
    # no name anywhere: no name in the greeting, never the local part
    assert greeting_name("kevinscott@mail.test", "", greetings, signatures).name == ""


def test_owner_sign_off_overall_and_per_recipient() -> None:
    msgs = [msg(i, OWNER, ["a@corp.test"], "Fine by me.\n\nSteve") for i in range(3)]
    msgs += [msg(10 + i, OWNER, ["mom@home.test"], "See you Sunday.\nStevie") for i in range(2)]
    msgs += [msg(20, OWNER, ["b@corp.test"], "Agreed.\nBob")]  # not the owner's name
    top, per = owner_sign_offs(msgs, [OWNER], ["Steven J. Kean"])
    assert top == "Steve"
    assert per == {"mom@home.test": "Stevie"}
    # no sign-off of the owner's: the name colleagues greet the owner with
    greeted = [
        msg(30 + i, "ann@corp.test", [OWNER], "Steve - here are the projects.") for i in range(2)
    ]
    greeted.append(msg(40, "bob@corp.test", ["x@corp.test"], "Steve - not to the owner."))
    assert owner_sign_offs(greeted, [OWNER], ["Steven J. Kean"]) == ("Steve", {})
    assert owner_sign_offs([], [OWNER], ["Steven J. Kean"]) == ("", {})


@given(st.text(max_size=300), st.text(max_size=60))
def test_name_functions_are_total(text: str, address: str) -> None:
    readable_name(text, address)
    given_name(text, address)
    greeted_name(text)
    signed_name(text)
    fits(text[:20], address, text)
