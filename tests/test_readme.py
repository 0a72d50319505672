"""The README as a reference that cannot drift: every setting is in it, and its Layout section names every
module of miner/ and pages/ and nothing that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

from miner.alerts.settings import CHANNEL_FIELDS, GLOBAL_FIELDS
from miner.config import Settings
from miner.fixes.settings import FixSettings

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def layout() -> str:
    section = README[README.index("## Layout\n"):]
    return section[section.index("```") + 3:section.index("```", section.index("```") + 3)]


def modules() -> list[Path]:
    """The Python modules of the product, as a newcomer looks for them (packages' __init__ and the
    migration scripts aside)."""
    found = [*(REPO / "miner").rglob("*.py"), *(REPO / "pages").rglob("*.py")]
    return [p for p in found if p.name != "__init__.py" and "versions" not in p.parts]


def test_every_setting_is_documented() -> None:
    names = {field.alias for model in (Settings, FixSettings) for field in model.model_fields.values() if field.alias}
    names |= {f"MINER_ALERT_{field}" for field in GLOBAL_FIELDS}
    names |= {f"MINER_ALERT_<NAME>_{field}" for field in CHANNEL_FIELDS}
    documented = set(re.findall(r"`(MINER_ALERT_<NAME>_[A-Z_]+|[A-Z][A-Z0-9_]+)`", README))
    documented |= {f"MINER_ALERT_<NAME>{suffix}" for suffix in re.findall(r"` / `(_[A-Z_]+)`", README)}
    assert sorted(names - documented) == []


def test_the_layout_names_every_module() -> None:
    shown = layout()
    assert sorted(str(p.relative_to(REPO)) for p in modules() if p.name not in shown) == []


def test_every_module_the_layout_names_exists() -> None:
    existing = {p.name for p in modules()} | {p.name for p in REPO.glob("*.py")} | {
        p.name for folder in ("tests", "bench", "docs") for p in (REPO / folder).rglob("*.py")}
    named = set(re.findall(r"\b[a-z_]+\.py\b", layout()))
    assert sorted(named - existing) == []
