"""``facematch check``: the contract-test kit from the command line (registered by facematch.cli)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from .profiles import DEFAULT_MAX_EXAMPLES, PROFILES


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = subparsers.add_parser(
        "check",
        help="check an implementation against the contract (the contract-test kit)",
        description="Send generated and fixed requests to BASE_URL/advanced_facematch and check every "
        "response against openapi.yaml and the rules catalogue. Exit status: 0 PASS (every "
        "rule exercised and held), 1 FAIL (a rule broke), 2 usage error, 3 ERROR: not judged "
        "(unreachable, token refused, timeout, kit error, a rule never exercised).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    env = os.environ.get
    check.add_argument(
        "--base-url",
        default=env("FACEMATCH_BASE_URL", "http://127.0.0.1:8080"),
        help="the implementation's base URL (env FACEMATCH_BASE_URL)",
    )
    check.add_argument(
        "--token",
        default=env("FACEMATCH_TOKEN"),
        help="bearer token (env FACEMATCH_TOKEN); against the mock one is minted when absent",
    )
    check.add_argument(
        "--jwt-secret",
        default=env("FACEMATCH_JWT_SECRET"),
        help="HS256 secret to mint tokens with (also enables the expired-token check)",
    )
    check.add_argument(
        "--profile",
        choices=PROFILES,
        default="contract",
        help="contract: rules only; semantic: + fixture-photo expectations; golden: + the mock's exact answers",
    )
    check.add_argument(
        "--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, help="generated requests per property test"
    )
    check.add_argument("--seed", type=int, default=None, help="seed for generated requests (random by default)")
    check.add_argument(
        "--report", type=Path, default=Path("reports/contract-report.md"), help="Markdown report for people"
    )
    check.add_argument("--junit", type=Path, default=Path("reports/contract-junit.xml"), help="JUnit XML for CI")
    check.add_argument(
        "--json",
        type=Path,
        default=Path("reports/contract-report.json"),
        help="machine-readable report: verdict, per-rule counts, first failures, seed, contract SHA-256",
    )
    check.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for one answer; a request that takes longer stops the run (ERROR)",
    )
    check.add_argument(
        "--no-token-checks",
        action="store_true",
        help="skip malformed/expired/badly signed token checks (for --auth any servers)",
    )
    check.add_argument(
        "--skip-st-check",
        action="append",
        default=[],
        metavar="NAME",
        help="turn off one of schemathesis's own checks, e.g. unsupported_method (repeatable)",
    )
    check.add_argument("--fixtures-dir", type=Path, default=None, help="fixture photos and manifest.json")
    check.add_argument("--verbose", "-v", action="store_true", help="list every kit test")
    check.set_defaults(func=handler)


KIT_MODULES = ("pytest", "schemathesis", "hypothesis")


def handler(args: argparse.Namespace) -> int:
    missing = [name for name in KIT_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"facematch check needs {', '.join(missing)}: install the kit with pip install 'facematch-kit[kit]'",
            file=sys.stderr,
        )
        return 2
    from .runner import CheckRun, run

    return run(
        CheckRun(
            base_url=args.base_url,
            token=args.token,
            jwt_secret=args.jwt_secret,
            profile=args.profile,
            max_examples=args.max_examples,
            seed=args.seed,
            report=args.report,
            junit=args.junit,
            json=args.json,
            timeout=args.timeout,
            token_checks=not args.no_token_checks,
            fixtures_dir=args.fixtures_dir,
            verbose=args.verbose,
            skip_st_checks=tuple(args.skip_st_check),
        )
    )
