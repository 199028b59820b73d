"""The linter and the type checker, run the way a developer runs them, as part of the tests.

Both read their settings from pyproject.toml (``[tool.ruff]``, ``[tool.mypy]``), so what CI
enforces is exactly what ``ruff check .`` and ``mypy`` say on a developer's machine. A
finding fails the test with the tool's own output, which names the file, line and rule.
"""

from __future__ import annotations

import subprocess
import sys

from .live import ROOT


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing() -> None:
    done = _run("ruff", "check", ".", "--no-cache", "--output-format", "concise")
    assert done.returncode == 0, f"ruff check . found problems:\n{done.stdout}{done.stderr}"


def test_mypy_strict_passes() -> None:
    done = _run("mypy")
    assert done.returncode == 0, f"mypy (strict, as pyproject.toml sets it) found problems:\n{done.stdout}{done.stderr}"
    assert "Success" in done.stdout, done.stdout


def test_ruff_format_leaves_every_file_as_it_is() -> None:
    done = _run("ruff", "format", "--check", ".", "--no-cache")
    assert done.returncode == 0, (
        f"ruff format --check . would reformat files (run `ruff format .`):\n{done.stdout}{done.stderr}"
    )
