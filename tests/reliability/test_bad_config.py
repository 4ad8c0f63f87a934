"""Bad settings and bad seed files end in one clear line naming the problem, never a
traceback: generated junk for every setting (environment and TOML file) and generated
mutations of a real scenario (extends tests/foundation/test_settings.py and
tests/sandbox/test_scenario.py, which check a fixed list)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapportd.agent.core.errors import BadData
from rapportd.agent.core.settings import Settings, SettingsError, load_settings

RAPPORTD = str(Path(sys.executable).with_name("rapportd"))


def _paths(model: Any = Settings, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and hasattr(sub, "model_fields"):
            out += _paths(sub, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


SETTING_PATHS = _paths()
junk = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "-1",
            "0",
            "1e309",
            "nan",
            "[",
            "{}",
            "[1,2",
            "true",
            "∞",
            "25:99-00:00",
            "Mars/Olympus",
            "ftp://x",
            "sqlite",
            "a" * 5000,
            "null",
            '["x"]',
        ]
    ),
)


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(SETTING_PATHS), value=junk)
def test_any_environment_value_loads_or_names_the_setting(
    path: tuple[str, ...], value: str
) -> None:
    env = "RAPPORTD_" + "__".join(path).upper()
    if "\x00" in value:
        return  # an environment cannot hold NUL
    os.environ[env] = value
    try:
        load_settings()
    except SettingsError as exc:
        message = str(exc)
        assert "\n" not in message, message
        assert path[0] in message or env in message, (env, message)
    finally:
        del os.environ[env]


toml_value = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.lists(st.text(max_size=5), max_size=3),
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(SETTING_PATHS), value=toml_value, extra=st.booleans())
def test_any_toml_value_loads_or_names_the_setting(
    tmp_path_factory: pytest.TempPathFactory, path: tuple[str, ...], value: Any, extra: bool
) -> None:
    file = tmp_path_factory.mktemp("cfg") / "rapportd.toml"
    table = ".".join(path[:-1])
    key = path[-1] if not extra else path[-1] + "_typo"
    rendered = json.dumps(value, ensure_ascii=False)  # JSON scalars/arrays are valid TOML
    file.write_text((f"[{table}]\n" if table else "") + f"{key} = {rendered}\n")
    os.environ["RAPPORTD_CONFIG"] = str(file)
    try:
        load_settings()
    except SettingsError as exc:
        message = str(exc)
        assert "\n" not in message, message
        assert path[-1] in message or str(file) in message, message
    finally:
        del os.environ["RAPPORTD_CONFIG"]


def test_cli_with_a_bad_setting_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORTD_")}
    env.update(RAPPORTD_DATA_DIR=str(tmp_path), RAPPORTD_SYNC__INTERVAL_SECONDS="soon")
    done = subprocess.run(
        [RAPPORTD, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "sync.interval_seconds" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- seed files
def _base_scenario() -> dict[str, Any]:
    from rapportd.connectors.sandbox.generator import generate

    data, _truth = generate(1, 3, 1)
    return data


BASE = _base_scenario()
JUNK_VALUES = [None, 0, -1, "", "x", [], {}, [{}], {"a": 1}, 1e300, True, "2026-99-99T00:00:00Z"]


def _walk(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _walk(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data[:2]):
            out += _walk(v, (*prefix, i))
    return out


SEED_PATHS = _walk(BASE)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(SEED_PATHS), st.sampled_from(JUNK_VALUES), st.booleans()),
        min_size=1,
        max_size=3,
    )
)
def test_mutated_seed_loads_or_names_file_and_field(edits: list[tuple[Any, Any, bool]]) -> None:
    from rapportd.connectors.sandbox.scenario import sandbox_from_scenario

    data = copy.deepcopy(BASE)
    for path, value, delete in edits:
        target: Any = data
        try:
            for step in path[:-1]:
                target = target[step]
            if delete and isinstance(target, dict):
                target.pop(path[-1], None)
            else:
                target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        sandbox_from_scenario(data, "seed.json")
    except BadData as exc:
        message = str(exc)
        assert message.startswith("seed.json: ") and "\n" not in message, message


def test_sandbox_cli_with_a_bad_seed_prints_one_line(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    data = copy.deepcopy(BASE)
    data["messages"][0]["account"] = "nobody@nowhere.example"
    seed.write_text(json.dumps(data))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORTD_")}
    env["RAPPORTD_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [RAPPORTD, "sandbox", "serve", "--seed", str(seed), "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "seed.json" in lines[0] and "messages[0]" in lines[0], done.stderr
