"""docs/architecture.md names only modules and files that exist, and its picture of the
layers holds every layer of the import contract, in the contract's order."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
ROOTS = ("app/", "tests/", "bench/", "docs/", "migrations/", "pass_templates/")


def _quoted() -> list[str]:
    """Every `code` span of the doc that is one word (no spaces, no placeholders)."""
    spans = re.findall(r"`([^`\n]+)`", DOC.read_text())
    return [s for s in spans if not re.search(r"[\s<>…*{]", s)]


def _picture() -> list[str]:
    """The lines of the first fenced block under "## The layers"."""
    section = DOC.read_text().split("\n## The layers", 1)[1]
    return section.split("```", 2)[1].splitlines()


def _module_file(dotted: str) -> Path | None:
    path = ROOT.joinpath(*dotted.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _resolves(dotted: str) -> bool:
    """A module, or a module and one name defined in it (`app.web.errors.STATUSES`)."""
    if _module_file(dotted) is not None:
        return True
    module, _, name = dotted.rpartition(".")
    source = _module_file(module)
    if source is None:
        return False
    definition = rf"^\s*(?:def|class)\s+{name}\b|^\s*{name}\b\s*[:=]"
    return re.search(definition, source.read_text(), re.MULTILINE) is not None


def _missing(name: str) -> bool:
    dotted = re.fullmatch(r"app(\.\w+)+", name) is not None
    found = _resolves(name) if dotted else (ROOT / name).exists()
    return not found


def test_every_path_and_module_the_doc_names_exists() -> None:
    named = [s for s in _quoted() if s.startswith(ROOTS) or re.fullmatch(r"[\w-]+\.(cfg|toml)", s)]
    named += [s for s in _quoted() if re.fullmatch(r"app(\.\w+)+", s)]
    named += re.findall(r"(?<![\w.])app(?:\.\w+)+", "\n".join(_picture()))
    assert len(named) > 50  # the doc's table and walk-throughs are read
    assert [n for n in dict.fromkeys(named) if _missing(n)] == []


def _layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    return [[m.strip() for m in layer.split("|")] for layer in layers]


def test_the_picture_has_every_contracted_layer_in_order() -> None:
    picture = _picture()

    def lines_of(module: str) -> list[int]:
        pattern = re.compile(rf"(?<![\w.]){re.escape(module)}(?![\w.])")
        return [i for i, line in enumerate(picture) if pattern.search(line)]

    previous = -1
    for layer in _layers():
        rows = {module: lines_of(module) for module in layer}
        assert [m for m, found in rows.items() if not found] == [], f"not drawn: {layer}"
        first = min(min(found) for found in rows.values())
        assert first > previous, f"{layer} is drawn above the layer it sits under"
        previous = max(max(found) for found in rows.values())
