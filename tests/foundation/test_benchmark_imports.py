"""Benchmarks are not run by CI, so a moved module broke one silently once
(``benchmarks/analysis.py`` imported ``rapportd.agent.analysis.analyse.analyse`` for a whole
stop). Every rapportd import they make, at any depth (most sit inside functions), must
resolve."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "benchmarks").rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, name or None) of every ``rapportd`` import in ``path``."""
    out: list[tuple[int, str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rapportd"):
            out += [(node.lineno, str(node.module), a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [
                (node.lineno, a.name, None) for a in node.names if a.name.startswith("rapportd")
            ]
    return out


def test_there_are_benchmarks_to_check() -> None:
    assert len(SCRIPTS) >= 5
    assert sum(len(_imports(p)) for p in SCRIPTS) >= 20


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_every_rapportd_import_of_a_benchmark_resolves(path: Path) -> None:
    broken = []
    for line, module, name in _imports(path):
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            broken.append(f"{path.name}:{line}: {module}: {exc}")
            continue
        if name is not None and not hasattr(mod, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                broken.append(f"{path.name}:{line}: {module} has no {name}")
    assert broken == []
