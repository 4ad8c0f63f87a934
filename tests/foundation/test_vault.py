from __future__ import annotations

import stat
from pathlib import Path

import pytest

from rapportd.agent.core.errors import ConfigError
from rapportd.agent.core.settings import load_settings
from rapportd.agent.core.vault import Vault, generate_key, vault_from_settings


def test_round_trip_and_ciphertext_hides_the_secret() -> None:
    vault = Vault([generate_key().encode()])
    blob = vault.encrypt(b"1//refresh-token-value")
    assert b"refresh-token-value" not in blob
    assert vault.decrypt(blob) == b"1//refresh-token-value"


def test_rotation_keeps_old_blobs_readable_then_moves_them() -> None:
    old, new = generate_key().encode(), generate_key().encode()
    blob = Vault([old]).encrypt(b"secret")
    rotating = Vault([new, old])
    assert rotating.decrypt(blob) == b"secret"
    rotated = rotating.rotate(blob)
    assert Vault([new]).decrypt(rotated) == b"secret"
    with pytest.raises(ConfigError, match="cannot decrypt"):
        Vault([new]).decrypt(blob)


def test_bad_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a Fernet key"):
        Vault([b"short"])


def test_local_key_is_created_private_and_reused(isolated_settings: Path) -> None:
    settings = load_settings()
    blob = vault_from_settings(settings).encrypt(b"x")
    key_file = isolated_settings / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert vault_from_settings(load_settings()).decrypt(blob) == b"x"


def test_key_file_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "k"
    key_file.write_text(generate_key() + "\n")
    monkeypatch.setenv("RAPPORTD_ENCRYPTION_KEY_FILE", str(key_file))
    assert (
        vault_from_settings(load_settings()).decrypt(
            Vault([key_file.read_text().strip().encode()]).encrypt(b"y")
        )
        == b"y"
    )
    monkeypatch.setenv("RAPPORTD_ENCRYPTION_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="encryption_key_file: cannot read"):
        vault_from_settings(load_settings())
