"""rapportd's core: store, inference, suggestions, drafting, review web app and CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rapportd")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
