"""The kit's two entry points as the tests type them: ``facematch check`` and the pytest plugin.

Several test modules run the kit against a server in a subprocess, each with its own
options; what they share (the command itself, the three report files in one folder, the
plugin's invocation) is written here once.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: The pytest plugin's arguments after the interpreter (this one, or an installed venv's).
PLUGIN_ARGS = ("-m", "pytest", "--pyargs", "contract_tests", "-p", "no:cacheprovider", "-q")


#: ``facematch`` as the tests run it: this interpreter, the package's ``__main__``.
FACEMATCH = (sys.executable, "-m", "facematch")


def check_command(base_url: str, *options: str) -> list[str]:
    """``facematch check --base-url URL OPTIONS``, run by this interpreter."""
    return [*FACEMATCH, "check", "--base-url", base_url, *options]


def report_options(folder: Path) -> list[str]:
    """``--report``, ``--junit`` and ``--json`` into ``folder`` (report.md, junit.xml, report.json)."""
    return [
        "--report",
        str(folder / "report.md"),
        "--junit",
        str(folder / "junit.xml"),
        "--json",
        str(folder / "report.json"),
    ]
