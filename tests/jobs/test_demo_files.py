"""``rapportd demo`` tells the person where its store and sandbox are: the settings file and
the env file it writes make every CLI command read the demo's store and reach its sandbox."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from rapportd.agent.core.settings import get_settings, load_settings
from rapportd.agent.demo.run import demo_dir, demo_settings, write_cli_files


def test_env_file_points_every_command_at_the_demo(
    isolated_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = load_settings()
    settings = demo_settings(base, "http://127.0.0.1:4001", "https://localhost:4002", "/x/ca.pem")
    env_file = write_cli_files(settings, "http://127.0.0.1:4001")
    assert env_file.parent == isolated_settings / "demo" == settings.data_dir

    # what `. demo.env` exports, read by a shell
    shell = subprocess.run(
        ["sh", "-c", f". {shlex.quote(str(env_file))} && env"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", "")},
    )
    exported = dict(line.split("=", 1) for line in shell.stdout.splitlines() if "=" in line)
    assert exported["RAPPORTD_SANDBOX_URL"] == "http://127.0.0.1:4001"

    # the settings every command then reads (RAPPORTD_CONFIG), the same as the demo's own
    monkeypatch.delenv("RAPPORTD_DATA_DIR")
    monkeypatch.setenv("RAPPORTD_CONFIG", exported["RAPPORTD_CONFIG"])
    get_settings.cache_clear()
    seen = get_settings()
    assert seen.effective_database_url == settings.effective_database_url
    assert seen.data_dir == settings.data_dir  # so the token key (data_dir/secret.key) matches
    assert seen.google.api_root == "http://127.0.0.1:4001/"
    assert seen.google.client_secret.get_secret_value() == "sandbox-secret"
    assert seen.microsoft.graph_base_url == "https://localhost:4002/v1.0"
    assert seen.microsoft.ca_file == "/x/ca.pem"

    # running the demo again with the env file sourced reuses that folder, not demo/demo
    assert demo_dir(seen) == settings.data_dir
