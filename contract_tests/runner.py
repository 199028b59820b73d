"""What ``facematch check`` runs: the kit's pytest suite against one base URL, then the reports."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

from . import KIT_DIR
from .profiles import DEFAULT_MAX_EXAMPLES
from .verdict import Verdict


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
    json: Path | None = Path("reports/contract-report.json")
    timeout: float = 60.0
    token_checks: bool = True
    fixtures_dir: Path | None = None
    verbose: bool = False
    skip_st_checks: tuple[str, ...] = ()
    extra_pytest_args: tuple[str, ...] = ()

    def pytest_args(self, seed: int) -> list[str]:
        args = [
            str(KIT_DIR),
            "-p",
            "facematch",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(KIT_DIR),
            # No assertion rewriting: the kit's own modules are imported before pytest starts
            # and its asserts carry their messages, so rewriting would only recompile the
            # plugins' ~360 modules (schemathesis, hypothesis, ...) on every run where their
            # rewritten bytecode is not cached (PYTHONDONTWRITEBYTECODE, as many CI images
            # set, or a read-only site-packages): a short run took 4.0 s, 1.9 s without.
            "--assert=plain",
            # pytest's unraisable-exception plugin forces full garbage collections as the
            # session ends (0.05-0.15 s with schemathesis and hypothesis loaded); the kit has
            # no __del__ worth reporting.
            "-p",
            "no:unraisableexception",
            "--facematch-base-url",
            self.base_url,
            "--facematch-profile",
            self.profile,
            "--facematch-max-examples",
            str(self.max_examples),
            "--facematch-seed",
            str(seed),
            "--facematch-timeout",
            str(self.timeout),
        ]
        args += ["-v"] if self.verbose else ["-q", "-r", "fE"]
        for flag, value in (
            ("--facematch-token", self.token),
            ("--facematch-jwt-secret", self.jwt_secret),
            ("--facematch-report", self.report),
            ("--facematch-junit", self.junit),
            ("--facematch-json", self.json),
            ("--facematch-fixtures-dir", self.fixtures_dir),
        ):
            if value is not None:
                args += [flag, str(value)]
        if not self.token_checks:
            args.append("--facematch-no-token-checks")
        for name in self.skip_st_checks:
            args += ["--facematch-skip-st-check", name]
        return args + list(self.extra_pytest_args)


def run(check: CheckRun) -> int:
    """Run the kit and print its verdict; the exit status is the verdict's (0, 1 or 3)."""
    import pytest

    from .session import CURRENT

    seed = check.seed if check.seed is not None else random.randrange(2**31)
    started = time.monotonic()
    code = int(pytest.main(check.pytest_args(seed)))
    elapsed = time.monotonic() - started
    judgement = CURRENT.judgement
    if judgement is None:  # pytest stopped before the kit could judge (a usage or internal error)
        print(f"\nfacematch check: ERROR: not judged - the kit did not run (pytest exit status {code})")
        return Verdict.ERROR.exit_code
    print(f"\nfacematch check: {judgement.verdict.title} - {judgement.cause}")
    print(
        f"  against {check.base_url} (profile {check.profile}, seed {seed}, {judgement.requests} requests, "
        f"{elapsed:.1f} s)"
    )
    for label, path in (("Markdown report", check.report), ("JUnit XML", check.junit), ("JSON report", check.json)):
        if path is not None and path.is_file():
            print(f"  {label}: {path}")
    return judgement.verdict.exit_code
