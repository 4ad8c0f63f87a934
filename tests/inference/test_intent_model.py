"""The shipped intent model: pure-Python scoring equals scikit-learn's, the JSON loads without
pickle, and the detector combines model and rules as documented (commitments.decide_flags).

Sentences here are not taken from benchmarks/data/detect_eval.jsonl or the training data."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapportd.agent.inference.commitments import analyse_sentence, decide_flags, detect
from rapportd.agent.inference.intent_model import (
    MODEL_PATH,
    IntentModel,
    features,
    shipped_model,
)

ROOT = Path(__file__).resolve().parents[2]
SENT = datetime(2024, 4, 10, 9, 30, tzinfo=ZoneInfo("America/New_York"))  # Wed 10 Apr 2024
PARAKWEET_TEST = (
    ROOT.parent
    / "shared"
    / "data"
    / "email-intent"
    / "parakweet"
    / "testSet-qualifiedBatch-fixed.txt"
)


def _model() -> IntentModel:
    model = shipped_model()
    assert model is not None, f"{MODEL_PATH} is missing or unreadable"
    return model


def test_pure_python_scores_equal_sklearn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = [
        "Can you send the file?", "I'll send the file tomorrow.", "Thanks for the file.",
        "Please call me.", "We will call you Monday.", "The call went well.",
        "Could you review this by Friday?", "I will review it tonight.", "Nice work.",
        "Send me the deck.", "Let me check and get back to you.", "I sent it yesterday.",
    ]  # fmt: skip
    y_r = np.array([1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0])
    y_c = np.array([0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0])
    feats = [features(t) for t in texts]
    vec = TfidfVectorizer(analyzer=lambda x: x, min_df=1, sublinear_tf=True, norm="l2")
    X = vec.fit_transform(feats)
    lr_r = LogisticRegression(C=2.0).fit(X, y_r)
    lr_c = LogisticRegression(C=2.0).fit(X, y_c)
    model = IntentModel(
        weights={
            str(n): (float(i), float(a), float(b), float(b))
            for n, i, a, b in zip(
                vec.get_feature_names_out(), vec.idf_, lr_r.coef_[0], lr_c.coef_[0], strict=True
            )
        },
        bias=(float(lr_r.intercept_[0]), float(lr_c.intercept_[0]), float(lr_c.intercept_[0])),
    )
    probe = [*texts, "Could you call me tomorrow?", "unseen words only here", ""]
    X_probe = vec.transform([features(t) for t in probe])
    want_r = lr_r.predict_proba(X_probe)[:, 1]
    want_c = lr_c.predict_proba(X_probe)[:, 1]
    for t, wr, wc in zip(probe, want_r, want_c, strict=True):
        got_r, got_c = model.score_sentence(t)
        assert got_r == pytest.approx(wr, abs=1e-9)
        assert got_c == pytest.approx(wc, abs=1e-9)
        assert model.all_scores(features(t))[2] == pytest.approx(wc, abs=1e-9)  # third head
    again = IntentModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again.score_sentence("Please call me.") == pytest.approx(
        model.score_sentence("Please call me."), abs=1e-4
    )


def test_shipped_model_is_plain_json_with_calibrated_thresholds() -> None:
    raw = MODEL_PATH.read_bytes()
    data = json.loads(raw)  # JSON, not pickle
    assert data["format"] == "rapportd-intent-2"
    assert len(raw) < 2_000_000
    model = _model()
    assert len(model.weights) > 1000
    for name in (
        "request_rule",
        "request_model",
        "request_demote",
        "commitment_rule",
        "commitment_model",
    ):
        assert 0.0 < model.threshold(name) < 1.0
    assert model.threshold("request_rule") <= model.threshold("request_model")


def test_from_json_rejects_other_files() -> None:
    with pytest.raises(ValueError):
        IntentModel.from_json({"format": "pickle?", "features": {}, "bias": [0, 0]})


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("We need to sit down with the credit group before the auction.", "request"),
        ("Lunch on Thursday at noon with the origination team?", "request"),
        ("I'm on it.", "commitment"),
    ],
)
def test_model_finds_what_the_rules_miss(text: str, kind: str) -> None:
    assert analyse_sentence(text, None) == ()
    found = analyse_sentence(text, _model())
    assert [(k, r) for k, r, _, _ in found] == [(kind, "model")]


@pytest.mark.parametrize(
    "text",
    [
        "How was the trip to Portland?",  # social question: the rules' exclusion stands
        "If the numbers hold, I'll send the confirmation.",  # conditional promise
        "I talked to Louise about the weather desk yesterday.",  # past, nothing asked
        "Please find attached the revised schedule.",  # boilerplate
        "Mark will send the nominations tomorrow.",  # third party
    ],
)
def test_model_does_not_overrule_exclusions(text: str) -> None:
    assert analyse_sentence(text, _model()) == ()


def test_structure_survives_the_model() -> None:
    items = detect(
        "Hi Bo,\n\nCould you send the signed lease by Friday? I'll wire the deposit tomorrow.\n\n"
        "Thanks,\nAna",
        sent_at=SENT,
        tz="America/New_York",
        sender="ana@x.example",
        recipients=("bo@y.example",),
    )
    got = [(i.kind, i.by, i.to, i.due.date().isoformat() if i.due else None) for i in items]
    assert got == [
        ("request", "ana@x.example", "bo@y.example", "2024-04-12"),
        ("commitment", "ana@x.example", "bo@y.example", "2024-04-11"),
    ]
    for item in items:
        assert 0 < float(item.reasons["p_model"]) <= 1  # type: ignore[arg-type]
        assert item.reasons["rule"] != "model"


def test_rules_only_switch_matches_rules() -> None:
    text = "We need to sit down with the credit group before the auction."
    assert detect(text, sent_at=SENT, already_stripped=True, model=None) == []
    assert [i.kind for i in detect(text, sent_at=SENT, already_stripped=True)] == ["request"]


def test_decide_flags_contract() -> None:
    th = {
        "request_rule": 0.3,
        "request_model": 0.8,
        "commitment_rule": 0.3,
        "commitment_model": 0.8,
    }
    with_rule = ["RULE:request", "RULE:request:please", "CUE:please"]
    assert decide_flags("request", with_rule, 0.31, th)
    assert not decide_flags("request", with_rule, 0.29, th)  # vetoed
    assert decide_flags("request", ["CUE:you"], 0.81, th)
    assert not decide_flags("request", ["CUE:you"], 0.79, th)
    assert not decide_flags("request", ["CUE:you", "EXCL:social"], 0.99, th)
    assert not decide_flags("request", ["CUE:you", "EXCL:pleasantry"], 0.99, th)  # thanks, wishes
    assert not decide_flags("request", ["CUE:you", "EXCL:has_head"], 0.99, th)  # writer's plan
    assert not decide_flags("request", ["RULE:commitment", "CUE:you"], 0.99, th)  # a promise
    assert not decide_flags("commitment", ["CUE:you"], 0.99, th)  # no first person
    assert decide_flags("commitment", ["CUE:first"], 0.99, th)
    assert not decide_flags("commitment", ["CUE:first", "EXCL:has_head"], 0.99, th)
    notes = ["RULE:request", "RULE:request:assignee_you"]
    assert decide_flags("request", notes, 0.01, th)  # action-item notation is never vetoed


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_scores_are_probabilities(text: str) -> None:
    p_r, p_c = _model().score_sentence(text)
    assert 0.0 <= p_r <= 1.0 and 0.0 <= p_c <= 1.0


def test_training_data_never_contains_the_test_split() -> None:
    if not PARAKWEET_TEST.exists():
        pytest.skip(f"public data absent: {PARAKWEET_TEST}")
    norm = lambda s: re.sub(r"\s+", " ", s).strip().lower()  # noqa: E731
    test = {
        norm(line.partition("\t")[2])
        for line in PARAKWEET_TEST.read_text(encoding="utf-8", errors="replace").splitlines()
    }
    train = ROOT / "benchmarks" / "data" / "intent_train.jsonl"
    rows = [json.loads(x) for x in train.read_text(encoding="utf-8").splitlines() if x]
    assert rows and not [r for r in rows if norm(r["text"]) in test]
    assert {r["source"] for r in rows} <= {
        "handwritten",
        "own-dev",
        "verified",
        "parakweet",
        "mailex",
    }


@pytest.mark.slow
def test_retraining_reproduces_the_shipped_model(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "model.json"
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "train_intent.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert json.loads(out.read_text()) == json.loads(MODEL_PATH.read_text())


def test_a_format_1_model_still_loads() -> None:
    """A model file written before the broad head existed scores its broad head as requests."""
    old = {
        "format": "rapportd-intent-1",
        "bias": [0.1, -0.2],
        "features": {"please": [1.5, 2.0, -1.0], "CUE:q": [1.2, 0.5, 0.0]},
    }
    model = IntentModel.from_json(old)
    p_r, _p_c, p_b = model.all_scores(["please", "CUE:q"])
    assert p_b == pytest.approx(p_r)
    with pytest.raises(ValueError):
        IntentModel.from_json({**old, "format": "rapportd-intent-2"})  # 3 columns, 2 biases


def test_a_rule_ask_the_precise_head_vetoes_can_stay_as_a_weak_ask() -> None:
    """commitments.analyse_sentence: vetoed by the precise head, kept by the broad one."""
    feats = features("Please sign the form and return it.", [])
    weights = {f: (1.0, 0.0, 0.0, 0.0) for f in feats}
    th = {"request_rule": 0.5, "request_model": 0.5, "request_demote": 0.5}
    sentence = "Please sign the form and return it."
    vetoed_kept = IntentModel(weights=weights, bias=(-3.0, -3.0, 3.0), thresholds=th)
    found = analyse_sentence(sentence, vetoed_kept)
    assert [(k, r) for k, r, _, _ in found] == [("request", "model")]  # weak band
    vetoed_dropped = IntentModel(weights=weights, bias=(-3.0, -3.0, -3.0), thresholds=th)
    assert analyse_sentence(sentence, vetoed_dropped) == ()
    kept = IntentModel(weights=weights, bias=(3.0, -3.0, -3.0), thresholds=th)
    assert [(k, r) for k, r, _, _ in analyse_sentence(sentence, kept)] == [("request", "please")]
