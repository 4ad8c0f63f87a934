"""mailtext: HTML to text and the split of new text from quotes and signatures."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from rapportd.agent.core.mailtext import html_to_text, new_text, split_reply


def test_html_drops_script_and_style_and_breaks_blocks() -> None:
    html = (
        "<html><head><style>p{color:red}</style><title>t</title></head><body>"
        "<script>alert('x')</script><p>First para</p><div>Second<br>line</div>"
        "<ul><li>one</li><li>two</li></ul><blockquote>quoted text</blockquote></body></html>"
    )
    text = html_to_text(html)
    assert "alert" not in text and "color" not in text
    lines = text.split("\n")
    assert "First para" in lines and "Second" in lines and "line" in lines
    assert "- one" in lines and "- two" in lines
    assert "> quoted text" in lines


def test_html_quote_is_then_split_off() -> None:
    html = "<div>I'll send it Friday.</div><div class=gmail_quote><blockquote>Can you send it?</blockquote></div>"
    new, rest = split_reply(html_to_text(html))
    assert new == "I'll send it Friday."
    assert "Can you send it?" in rest


def test_on_wrote_over_two_lines() -> None:
    body = (
        "Sounds good, will do.\n\nOn Tue, Mar 12, 2024 at 4:02 PM Dana Wu <\n"
        "dana@acme.example> wrote:\n> Could you send the numbers?\n"
    )
    new, rest = split_reply(body)
    assert new == "Sounds good, will do."
    assert "Could you send the numbers?" in rest


def test_outlook_original_message_and_header_block() -> None:
    a = "Fine by me.\n\n-----Original Message-----\nFrom: X\nSent: Monday\nTo: Y\n\nPlease call me."
    b = "Fine by me.\n\nFrom: Dana Wu\nSent: Monday, June 3, 2024 9:14 AM\nTo: Tom\nSubject: RE: x\n\nPlease call me."
    c = "Fine by me.\n\n________________________________\nFrom: Dana\nSent: Monday\n\nPlease call."
    for body in (a, b, c):
        new, rest = split_reply(body)
        assert new == "Fine by me.", body
        assert "Please call" in rest


def test_signature_delimiter_signoff_footer_disclaimer() -> None:
    assert new_text("Will send tomorrow.\n-- \nDana Wu\n+1 415 555 0134") == "Will send tomorrow."
    # the stored new text keeps the sign-off (the owner's own is learned from it) but not the
    # card; the body the detector reads has neither
    signed = "Will send tomorrow.\n\nThanks,\nDana\n\nDana Wu | CEO\nPlease call me"
    assert new_text(signed) == "Will send tomorrow.\n\nThanks,\nDana"
    assert split_reply(signed)[0] == "Will send tomorrow."
    assert new_text("Will send tomorrow.\n\nSent from my iPhone") == "Will send tomorrow."
    body = "Will send tomorrow.\n\nCONFIDENTIALITY NOTICE: please notify the sender immediately."
    assert new_text(body) == "Will send tomorrow."
    assert new_text("Ok.\n\n> I'll do it\n> by Friday") == "Ok."


def test_signoff_not_cut_when_content_follows() -> None:
    body = "Thanks!\n\nAlso, can you send the deck by Friday?"
    assert "can you send the deck" in new_text(body)


def test_ps_after_signature_is_kept() -> None:
    body = "See you then.\n\nBest,\nDana\n\nP.S. I'll bring the contract."
    assert "I'll bring the contract" in new_text(body)


def test_trailing_name_block_without_signoff() -> None:
    body = "Can you review this?\n\nTom Becker\nSales | EMEA\nJoin us at SaaStr on September 10-12"
    assert new_text(body) == "Can you review this?"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_split_and_html_are_total(text: str) -> None:
    new, rest = split_reply(text)
    assert isinstance(new, str) and isinstance(rest, str)
    assert isinstance(html_to_text(text), str)
    assert isinstance(html_to_text("<p>" + text + "</p>"), str)


def test_twenty_megabytes_does_not_hang() -> None:
    big = ("word " * 15 + "\n") * (20_000_000 // 76)
    t0 = time.perf_counter()
    new, _ = split_reply("Hello there.\n" + big)
    html_to_text("<p>" + big[:5_000_000] + "</p>")
    assert time.perf_counter() - t0 < 10
    assert new.startswith("Hello there.")


def test_html_keeps_br_block_breaks_and_blockquote_quoting() -> None:
    html = (
        "<html><body><p>Thanks, here it is.<br>More soon.</p>"
        '<div class="gmail_quote"><div>On Tue, 3 Sep 2024 at 10:02, Kim &lt;kim@x.org&gt; '
        "wrote:</div><blockquote>Can you send it?<br>I will forward the memo.</blockquote>"
        "</div></body></html>"
    )
    text = html_to_text(html)
    assert "Thanks, here it is.\nMore soon." in text
    assert "> Can you send it?\n> I will forward the memo." in text
    new, rest = split_reply(text)
    assert new == "Thanks, here it is.\nMore soon." and "forward the memo" in rest


def test_history_inside_a_flattened_line_is_cut() -> None:
    flat = (
        "Great, the slides are attached. Best, Lee On Thu, Feb 6, 2025 at 4:10 PM Dana "
        "<dana@corp.example> wrote: > Hi Lee, >> I will mail you the budget on Friday."
    )
    new, rest = split_reply(flat)
    assert "budget" not in new and new.startswith("Great, the slides are attached.")
    assert "I will mail you the budget" in rest
    outlook = "Fine by me. -----Original Message----- From: Dana Sent: Monday I will call you."
    assert split_reply(outlook)[0] == "Fine by me."
    header = "Noted. From: Dana Lee <dana@corp.example> Sent: Monday To: Lee Subject: x I'll go"
    assert split_reply(header)[0] == "Noted."


def test_prose_mentioning_wrote_is_not_history() -> None:
    for text in ("On the call he wrote: ship it. I will send the notes.",
                 "We spoke on the 3rd and I wrote: fine. I will send the notes."):  # fmt: skip
        assert "I will send the notes" in split_reply(text)[0]
