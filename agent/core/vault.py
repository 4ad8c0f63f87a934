"""Secrets at rest: refresh tokens and msal caches, encrypted with a key kept out of the database.

The key comes from ``RAPPORTD_ENCRYPTION_KEY`` or the file named by
``RAPPORTD_ENCRYPTION_KEY_FILE``; with neither, the embedded mode creates
``<data_dir>/secret.key`` (mode 0600) on first use. ``old_encryption_keys`` lists keys still
accepted for reading, so a key can be rotated: add the new key, move the old one to the
list, run ``rapportd keys rotate`` (re-encrypts every blob), then drop the old key.

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) gives authenticated encryption;
MultiFernet gives the rotation.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from rapportd.agent.core.errors import ConfigError
from rapportd.agent.core.files import private_dir
from rapportd.agent.core.settings import Settings


class Vault:
    """Encrypts and decrypts secrets. The newest key encrypts; every listed key decrypts."""

    def __init__(self, keys: list[bytes], *, source: str = "setting encryption_key") -> None:
        self.source = source  # where the newest key came from, for the errors
        if not keys:
            raise ConfigError("setting encryption_key: no key given")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError):
            raise ConfigError(
                "setting encryption_key: not a Fernet key (32 url-safe base64 bytes); "
                "make one with `rapportd keys generate`"
            ) from None

    def encrypt(self, plain: bytes) -> bytes:
        return self._fernet.encrypt(plain)

    def decrypt(self, blob: bytes) -> bytes:
        try:
            return self._fernet.decrypt(blob)
        except InvalidToken:
            raise ConfigError(
                f"{self.source}: this key cannot decrypt the stored tokens; "
                "set the key that encrypted them (a previous one goes in old_encryption_keys)"
            ) from None

    def rotate(self, blob: bytes) -> bytes:
        """Re-encrypt ``blob`` with the newest key."""
        return self._fernet.rotate(blob)


def generate_key() -> str:
    return Fernet.generate_key().decode()


def vault_from_settings(settings: Settings) -> Vault:
    """Build the vault from the configured key source, creating a local key when none is set."""
    primary = settings.encryption_key.get_secret_value().strip()
    source = "setting encryption_key (RAPPORTD_ENCRYPTION_KEY)"
    if not primary and settings.encryption_key_file:
        source = "setting encryption_key_file (RAPPORTD_ENCRYPTION_KEY_FILE)"
        path = Path(settings.encryption_key_file).expanduser()
        try:
            primary = path.read_text().strip()
        except OSError as exc:
            raise ConfigError(
                f"setting encryption_key_file: cannot read {path} ({exc.strerror})"
            ) from None
    if not primary:
        path = settings.data_dir / "secret.key"
        made = not path.exists()
        primary = _local_key(path)
        source = f"setting data_dir (RAPPORTD_DATA_DIR): the key {path}" + (
            " (made just now: is data_dir the store's own folder?)" if made else ""
        )
    keys = [primary.encode()] + [
        k.get_secret_value().strip().encode() for k in settings.old_encryption_keys
    ]
    return Vault(keys, source=source)


def _local_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    private_dir(path.parent)
    key = generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key
