"""People, not addresses: owner identity, automated senders, internal/external, merging."""

from __future__ import annotations

from rapportd.agent.inference.people import (
    Decision,
    canonical_address,
    classify_senders,
    is_internal,
    is_owner,
    merge_identities,
    message_signals,
    normalise_name,
    owner_profile,
    reply_as_pairs,
)

from .helpers import OWNER, msg

PROFILE = owner_profile(
    [OWNER, "me@gmail.com"], org_domains=["acme.com"], sent_from=["m.e@acme.com"]
)


def test_owner_identity_covers_aliases_and_sub_addresses() -> None:
    assert is_owner("ME@acme.com", PROFILE)
    assert is_owner("m.e+news@gmail.com", PROFILE)  # gmail dots and +tag
    assert is_owner("m.e@acme.com", PROFILE)  # seen as a From of sent mail
    assert not is_owner("you@acme.com", PROFILE)


def test_canonical_address() -> None:
    assert canonical_address("John.Doe+x@GoogleMail.com") == "johndoe@gmail.com"
    assert canonical_address("john.doe+x@corp.com") == "john.doe@corp.com"


def test_internal_is_org_domain_or_below() -> None:
    assert is_internal("a@acme.com", PROFILE)
    assert is_internal("a@eu.acme.com", PROFILE)
    assert not is_internal("a@notacme.com", PROFILE)


def test_bulk_signals_and_reasons() -> None:
    m = msg(0, "news@shop.com", [OWNER], list_id="<list.shop.com>", labels=("CATEGORY_PROMOTIONS",))
    reasons = message_signals(m)
    assert any("List-Id" in r for r in reasons)
    assert "Gmail category Promotions" in reasons
    assert message_signals(msg(0, "ann@x.com", [OWNER])) == []


def test_classify_senders() -> None:
    msgs = [
        *(msg(i, "deals@shop.com", [OWNER], list_unsubscribe=True) for i in range(3)),
        msg(1, "no-reply@bank.com", [OWNER]),
        *(msg(i, "status@ops.com", [OWNER, "x@ops.com"]) for i in range(7)),
        msg(2, "ann@client.com", [OWNER], auto_submitted="auto-replied"),
        msg(3, "ann@client.com", [OWNER]),
        msg(4, OWNER, ["ann@client.com"]),
        *(msg(i, "bob@client.com", [OWNER, "c@client.com"]) for i in range(7)),
        msg(9, OWNER, ["bob@client.com"]),
    ]
    v = classify_senders(msgs, PROFILE)
    assert v["deals@shop.com"].automated and "List-Unsubscribe" in v["deals@shop.com"].reasons[0]
    assert v["no-reply@bank.com"].automated
    assert v["status@ops.com"].automated  # one-way, never to the owner alone
    assert any("one-way" in r for r in v["status@ops.com"].reasons)
    assert not v["ann@client.com"].automated  # an out-of-office does not make a robot
    assert not v["bob@client.com"].automated  # the owner wrote back


def test_normalise_name() -> None:
    assert normalise_name("Smith, John") == normalise_name("John Smith") == "john smith"
    assert normalise_name("John") == ""  # one word is too weak to merge on


def test_merge_same_name_same_local_part() -> None:
    ids = merge_identities(
        ["john.smith@old.com", "john.smith@new.com", "john.smith@other.com"],
        {
            "john.smith@old.com": "John Smith",
            "john.smith@new.com": "Smith, John",
            "john.smith@other.com": "Jane Smith",
        },
    )
    assert ids.cluster_of["john.smith@old.com"] == ids.cluster_of["john.smith@new.com"]
    assert ids.cluster_of["john.smith@other.com"] != ids.cluster_of["john.smith@old.com"]
    assert any("same name" in r for r in ids.reasons[ids.cluster_of["john.smith@new.com"]])


def test_same_name_alone_does_not_merge() -> None:
    ids = merge_identities(
        ["js@a.com", "john@b.com"], {"js@a.com": "John Smith", "john@b.com": "John Smith"}
    )
    assert ids.cluster_of["js@a.com"] != ids.cluster_of["john@b.com"]


def test_reply_as_the_other_address_merges_with_the_same_name() -> None:
    out = msg(0, OWNER, ["js@work.com"], rfc822_id="<q1@acme.com>")
    back = msg(1, "john@home.net", [OWNER], in_reply_to="<q1@acme.com>")
    pairs = reply_as_pairs([out, back], PROFILE)
    assert pairs == {("js@work.com", "john@home.net")}
    names = {"js@work.com": "John Smith", "john@home.net": "John Smith"}
    ids = merge_identities(names, names, reply_as=pairs)
    assert ids.cluster_of["js@work.com"] == ids.cluster_of["john@home.net"]


def test_explicit_decisions_win() -> None:
    names = {"john.smith@a.com": "John Smith", "john.smith@b.com": "John Smith", "x@c.com": "X Y"}
    split = merge_identities(
        names, names, decisions=[Decision("john.smith@a.com", "john.smith@b.com", "split")]
    )
    assert split.cluster_of["john.smith@a.com"] != split.cluster_of["john.smith@b.com"]
    merged = merge_identities(
        names, names, decisions=[Decision("x@c.com", "john.smith@a.com", "merge")]
    )
    assert merged.cluster_of["x@c.com"] == merged.cluster_of["john.smith@b.com"]
    assert any("by the owner" in r for r in merged.reasons[merged.cluster_of["x@c.com"]])


def test_an_address_that_spells_a_named_colleagues_name_is_that_colleague() -> None:
    """Real archives hold one person under a name address and a short user id."""
    addrs = [
        "mark.palmer@corp.test",
        "mpalmer@corp.test",
        "kathleen.magruder@corp.test",
        "kmagrude@corp.test",  # a user id cut at eight letters
        "john.smith@corp.test",
        "jane.smith@corp.test",
        "jsmith@corp.test",  # John or Jane: left alone
        "mpalmer@gmail.com",  # a public domain: anyone's
        "lyoho@corp.test",
    ]
    names = {
        "mark.palmer@corp.test": "Mark Palmer",
        "kathleen.magruder@corp.test": "Kathleen E Magruder",
        "john.smith@corp.test": "John Smith",
        "jane.smith@corp.test": "Jane Smith",
        "lyoho@corp.test": "Lisa Other",  # carries another name: not Lisa Yoho's
    }
    ids = merge_identities(addrs, names)
    same = lambda a, b: ids.cluster_of[a] == ids.cluster_of[b]  # noqa: E731
    assert same("mark.palmer@corp.test", "mpalmer@corp.test")
    assert same("kathleen.magruder@corp.test", "kmagrude@corp.test")
    assert not same("jsmith@corp.test", "john.smith@corp.test")
    assert not same("jsmith@corp.test", "jane.smith@corp.test")
    assert not same("mpalmer@gmail.com", "mark.palmer@corp.test")
    key = ids.cluster_of["mpalmer@corp.test"]
    assert any("spells Mark Palmer's name" in r for r in ids.reasons[key])
    split = merge_identities(
        addrs, names, decisions=[Decision("mpalmer@corp.test", "mark.palmer@corp.test", "split")]
    )
    assert split.cluster_of["mpalmer@corp.test"] != split.cluster_of["mark.palmer@corp.test"]


def test_notifier_domains_are_automated_but_a_companys_staff_are_not() -> None:
    from rapportd.agent.inference.people import address_signals

    assert address_signals("bounce-123@sendgrid.net")
    assert address_signals("expenses@concursolutions.com")
    assert address_signals("offers@email.airline.example")
    assert not address_signals("jane@linkedin.com")
    assert not address_signals("bob@google.com")
    assert not address_signals("anna@mail.ru")


def test_a_mailing_list_the_owner_posts_to_is_no_person() -> None:
    group = "parents-school@groups.example.org"
    lid = "parents-school <parents-school.groups.example.org>"
    msgs = [
        msg(1, "ann@gmail.com", [group], list_id=lid),
        msg(2, "bob@proton.me", [group], list_id=lid),
        msg(3, OWNER, [group], list_id=lid),  # the owner posts to it now and then
        msg(4, OWNER, [group, "ann@gmail.com"]),
        msg(5, "ann@gmail.com", [OWNER]),
    ]
    v = classify_senders(msgs, PROFILE)
    assert v[group].automated and "mailing list" in v[group].reasons[0]
    assert not v["ann@gmail.com"].automated  # a member who writes to the owner is a person
