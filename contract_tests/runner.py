"""What ``facematch check`` runs: the kit's pytest suite against one base URL, then the reports."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

from . import KIT_DIR
from .profiles import DEFAULT_MAX_EXAMPLES


@dataclass(frozen=True)
class CheckRun:
    base_url: str
    token: str | None = None
    jwt_secret: str | None = None
    profile: str = "contract"
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int | None = None
    report: Path | None = Path("reports/contract-report.md")
    junit: Path | None = Path("reports/contract-junit.xml")
    token_checks: bool = True
    fixtures_dir: Path | None = None
    verbose: bool = False
    skip_st_checks: tuple[str, ...] = ()
    extra_pytest_args: tuple[str, ...] = ()

    def pytest_args(self, seed: int) -> list[str]:
        args = [str(KIT_DIR), "-p", "facematch", "-p", "no:cacheprovider", "--rootdir", str(KIT_DIR),
                "--facematch-base-url", self.base_url, "--facematch-profile", self.profile,
                "--facematch-max-examples", str(self.max_examples), "--facematch-seed", str(seed)]
        args += ["-v"] if self.verbose else ["-q", "-r", "fE"]
        for flag, value in (("--facematch-token", self.token), ("--facematch-jwt-secret", self.jwt_secret),
                            ("--facematch-report", self.report), ("--facematch-junit", self.junit),
                            ("--facematch-fixtures-dir", self.fixtures_dir)):
            if value is not None:
                args += [flag, str(value)]
        if not self.token_checks:
            args.append("--facematch-no-token-checks")
        for name in self.skip_st_checks:
            args += ["--facematch-skip-st-check", name]
        return args + list(self.extra_pytest_args)


def run(check: CheckRun) -> int:
    """Run the kit; 0 only when every rule (and every profile expectation) holds."""
    import pytest

    seed = check.seed if check.seed is not None else random.randrange(2**31)
    started = time.monotonic()
    code = int(pytest.main(check.pytest_args(seed)))
    elapsed = time.monotonic() - started
    verdict = "PASS" if code == 0 else "FAIL"
    print(f"\nfacematch check: {verdict} against {check.base_url} (profile {check.profile}, seed {seed}, "
          f"{elapsed:.1f} s)")
    for label, path in (("Markdown report", check.report), ("JUnit XML", check.junit)):
        if path is not None:
            print(f"  {label}: {path}")
    return code
