"""``rapportd forecast --jsonl``: the stable interface other tools rely on."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rapportd.agent.cli.main import app

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from synth_interactions import generate, to_records

T = datetime(2024, 6, 1, tzinfo=UTC)


def lines(contact: str, days: list[float], kind: str = "sent") -> list[str]:
    return [
        json.dumps({"contact": contact, "at": (T - timedelta(days=d)).isoformat(), "kind": kind})
        for d in days
    ]


def run(stdin: str, *args: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(app, ["forecast", "--jsonl", *args], input=stdin)
    out = [json.loads(x) for x in result.stdout.splitlines() if x.strip()]
    return result.exit_code, out, result.stderr if result.stderr_bytes else ""


def test_forecast_contract() -> None:
    weekly = lines("weekly@x.com", [7 * k + 1 for k in range(30)])
    quarterly = lines("quarterly@x.com", [91 * k + 20 for k in range(6)], kind="received")
    future = lines("future@x.com", [-3], kind="meeting")  # after T: must be ignored
    code, out, _ = run(
        "\n".join(weekly + quarterly + future) + "\n",
        "--as-of",
        T.isoformat(),
        "--horizon-days",
        "14",
    )
    assert code == 0
    by = {r["contact"]: r for r in out}
    assert set(by) == {"weekly@x.com", "quarterly@x.com"}
    for r in out:
        assert {"contact", "p_interact", "typical_gap_days", "overdue_score"} <= set(r)
        assert 0 <= r["p_interact"] <= 1  # type: ignore[operator]
    assert by["weekly@x.com"]["p_interact"] > by["quarterly@x.com"]["p_interact"]  # type: ignore[operator]
    assert 5 < by["weekly@x.com"]["typical_gap_days"] < 9  # type: ignore[operator]


def test_forecast_ignores_interactions_after_as_of() -> None:
    base = lines("a@x.com", [3, 10, 17, 24])
    _, first, _ = run("\n".join(base), "--as-of", T.isoformat())
    _, second, _ = run("\n".join(base + lines("a@x.com", [-1, -5])), "--as-of", T.isoformat())
    assert first == second


def test_overdue_grows_with_silence() -> None:
    history = "\n".join(lines("a@x.com", [7 * k for k in range(20)]))
    scores = []
    for extra in (0, 10, 30):
        _, out, _ = run(history, "--as-of", (T + timedelta(days=extra)).isoformat())
        scores.append(out[0]["overdue_score"])
    assert scores == sorted(scores) and scores[-1] > scores[0]


@pytest.mark.parametrize(
    "bad",
    ['{"contact": "a@x.com"}', "not json", '{"contact": "a", "at": "2024-01-01", "kind": "call"}'],
)
def test_bad_input_is_a_clear_error(bad: str) -> None:
    result = CliRunner().invoke(
        app, ["forecast", "--jsonl", "--as-of", "2024-06-01"], input=bad + "\n"
    )
    assert result.exit_code == 2
    assert "line 1" in result.stderr


def test_synthetic_history_runs_and_is_calibrated_on_average() -> None:
    history = generate(7, contacts=60, days=500)
    records = [r for r in to_records(history) if r["at"] < "2023-02-01"]
    code, out, _ = run(
        "\n".join(json.dumps(r) for r in records), "--as-of", "2023-02-01", "--horizon-days", "30"
    )
    assert code == 0 and out
    mean_p = sum(r["p_interact"] for r in out) / len(out)  # type: ignore[misc]
    truth = {r["contact"] for r in to_records(history) if "2023-02-01" <= r["at"] < "2023-03-03"}
    rate = sum(1 for r in out if r["contact"] in truth) / len(out)
    assert abs(mean_p - rate) < 0.2
