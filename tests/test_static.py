"""Static checks as tests, so CI enforces them: ruff and mypy over the package, the app's helpers and pages, with
the rule sets in pyproject.toml. Zero findings; a needed exception is a ``noqa`` / ``type: ignore`` naming its code
and why."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["segmenter", "ui", "app_pages", "app.py"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("tool", ["ruff", "mypy"])
def test_tool_is_installed(tool):
    assert _run(tool, "--version").returncode == 0, f"{tool} is missing: pip install -r requirements-dev.txt"


def test_ruff_finds_nothing():
    result = _run("ruff", "check", "--no-cache", *CHECKED)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing():
    result = _run("mypy", *CHECKED)
    assert result.returncode == 0, result.stdout + result.stderr
