"""The layout's rules, checked over the import graph of the whole tree (docs/ARCHITECTURE.md).

Every ``import`` and ``from … import`` of a ``rapportd`` module counts, at any depth (an
import inside a function is still a dependency). Each module belongs to the part named by
the longest prefix in :data:`PARTS`; a part may import only the parts :data:`MAY_IMPORT`
lists for it. And no module imports rapportd by name at run time (``importlib``): every
dependency is one an import tool can see.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TREES = ("agent", "connectors", "jobs")

# Longest prefix wins. "connectors" is the provider half without its sandbox and sync.
PARTS = (
    "agent.core",
    "agent.store",
    "agent.inference",
    "agent.analysis",
    "agent.suggest",
    "agent.brief",
    "agent.outbox",
    "agent.web",
    "agent.cli",
    "agent.demo",
    "agent.replay",
    "agent",  # agent/__init__.py: the version
    "connectors.sandbox",
    "connectors.sync",
    "connectors",
    "jobs",
)
BASICS = {"agent.core"}
STORE = BASICS | {"agent.store"}
SUGGESTIONS = STORE | {
    "agent.inference",
    "agent.analysis",
    "agent.suggest",
    "agent.brief",
    "agent.outbox",
}
PROVIDERS = STORE | {"connectors", "connectors.sync"}
MAY_IMPORT: dict[str, set[str]] = {
    "agent": set(),
    "agent.core": BASICS,
    "agent.store": STORE,
    # pure inference: no store, no I/O
    "agent.inference": BASICS | {"agent.inference"},
    "agent.analysis": STORE | {"agent.inference", "agent.analysis"},
    # suggestions, the briefs and the outbox that writes them are one layer
    "agent.suggest": SUGGESTIONS,
    "agent.brief": SUGGESTIONS,
    "agent.outbox": SUGGESTIONS,
    # the review page: connects accounts through the connectors' OAuth, never the sandbox
    "agent.web": SUGGESTIONS | {"agent", "agent.web", "connectors"},
    # connectors never import suggestions, the web app or jobs; the store writer tells the
    # analysis what changed (agent.analysis.dirty only, see ONLY_MODULES)
    "connectors": PROVIDERS | {"agent.analysis"},
    "connectors.sync": PROVIDERS | {"agent.analysis"},
    # the sandbox stands in for the providers: it shares the connectors' MIME reader only
    "connectors.sandbox": BASICS | {"connectors.sandbox", "connectors"},
    # jobs schedules and runs the parts; the daemon serves the web app in-process
    "jobs": SUGGESTIONS | {"agent.web", "connectors", "connectors.sync", "jobs"},
    # the demo and the replay run the whole product against the sandbox
    "agent.demo": SUGGESTIONS
    | {"agent.web", "agent.demo", "connectors", "connectors.sync", "connectors.sandbox", "jobs"},
    "agent.replay": SUGGESTIONS
    | {
        "agent.web",
        "agent.demo",
        "agent.replay",
        "connectors",
        "connectors.sync",
        "connectors.sandbox",
        "jobs",
    },
    # the command line is the top: it may import every part
    "agent.cli": set(PARTS),
}
# Where a part may import only some modules of another part.
ONLY_MODULES: dict[tuple[str, str], set[str]] = {
    ("connectors", "agent.analysis"): {"agent.analysis.dirty"},
    ("connectors.sync", "agent.analysis"): {"agent.analysis.dirty"},
    ("connectors.sandbox", "connectors"): {"connectors.mime"},
    ("agent.web", "connectors"): {"connectors.oauth"},
}
# Plugin points that load a module by name (none today).
BY_NAME_ALLOWED: set[str] = set()


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for tree in TREES:
        for path in (REPO / tree).rglob("*.py"):
            rel = path.relative_to(REPO).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def part_of(module: str) -> str:
    for part in PARTS:  # ordered: longer prefixes of a tree first
        if module == part or module.startswith(part + "."):
            return part
    raise AssertionError(f"{module} belongs to no part of the layout")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported rapportd module without the ``rapportd.`` prefix)."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [
                (node.lineno, a.name.removeprefix("rapportd."))
                for a in node.names
                if a.name.startswith("rapportd.")
            ]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("rapportd."):
                continue
            base = node.module.removeprefix("rapportd.")
            for a in node.names:  # `from rapportd.x import module` names the module itself
                sub = f"{base}.{a.name}"
                out.append((node.lineno, sub if sub in MODULES else base))
    return out


def violations() -> list[str]:
    found: list[str] = []
    for module, path in sorted(MODULES.items()):
        src = part_of(module)
        allowed = MAY_IMPORT[src] | {src}
        for line, target in _imports(path):
            dst = part_of(target)
            where = f"{path.relative_to(REPO)}:{line} ({src}) imports {target}"
            if dst not in allowed:
                found.append(f"{where}: {src} may not import {dst}")
            elif (src, dst) in ONLY_MODULES and not any(
                target == m or target.startswith(m + ".") for m in ONLY_MODULES[(src, dst)]
            ):
                found.append(f"{where}: only {sorted(ONLY_MODULES[(src, dst)])} of {dst}")
    return found


def test_every_module_belongs_to_a_part_with_rules() -> None:
    assert set(PARTS) == set(MAY_IMPORT)
    for module in MODULES:
        part_of(module)
    # nothing but packages at agent/'s top level (and its __init__)
    loose = sorted(p.name for p in (REPO / "agent").glob("*.py") if p.name != "__init__.py")
    assert loose == [], f"modules at agent/'s top level: {loose}"


def test_imports_follow_the_layout() -> None:
    assert violations() == []


def test_the_sandbox_is_imported_only_by_the_demo_the_replay_and_the_command_line() -> None:
    users = {
        part_of(module)
        for module, path in MODULES.items()
        for _line, target in _imports(path)
        if part_of(target) == "connectors.sandbox" and part_of(module) != "connectors.sandbox"
    }
    assert users <= {"agent.demo", "agent.replay", "agent.cli"}, users


def test_nothing_imports_rapportd_by_name() -> None:
    loaders = ("import_module", "find_spec", "__import__")
    by_name = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            named = (isinstance(node, ast.Attribute) and node.attr in loaders) or (
                isinstance(node, ast.Name) and node.id in loaders
            )
            if named:
                by_name.append(f"{path.relative_to(REPO)}:{getattr(node, 'lineno', 0)}")
    assert [x for x in by_name if x.split(":")[0] not in BY_NAME_ALLOWED] == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The rule engine itself: an inference module importing the store is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from rapportd.agent.store.models import Owner\n")
    [(line, target)] = _imports(bad)
    assert (line, part_of(target)) == (2, "agent.store")
    assert part_of(target) not in MAY_IMPORT["agent.inference"]
