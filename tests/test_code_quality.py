"""The checks CI runs besides the tests: style (ruff) and types (mypy on the product core, the pages' helpers
and the page scripts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_finds_nothing_in_the_product_core() -> None:
    result = run("mypy", "miner")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_finds_nothing_in_what_the_pages_share() -> None:
    # the page scripts themselves are not a package (Streamlit runs each as a script); their helpers and
    # typed reads are
    result = run("mypy", "-p", "pages.ui")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_finds_nothing_in_the_page_scripts() -> None:
    # the fields a page reads from its typed rows (pages/ui/data.py) are checked here
    scripts = sorted(str(path.relative_to(REPO)) for path in (REPO / "pages").glob("*.py"))
    result = run("mypy", "dashboard.py", *scripts)
    assert result.returncode == 0, result.stdout + result.stderr
