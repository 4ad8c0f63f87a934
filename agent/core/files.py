"""Folders that hold secrets or the store: private to this user."""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) readable by this user only (0700). A folder
    that already exists is left as its owner set it (it may be a shared one they chose)."""
    path = path.expanduser()
    missing = []
    for p in (path, *path.parents):
        if p.exists():
            break
        missing.append(p)
    for p in reversed(missing):
        try:
            p.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(p, 0o700)  # mkdir's mode goes through the umask
    return path
