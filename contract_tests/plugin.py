"""The kit as a pytest plugin (entry point ``pytest11: facematch``): options, fixtures, reports.

    pytest --pyargs contract_tests --facematch-base-url URL [--facematch-token T]
           [--facematch-profile contract|semantic|golden] [--facematch-max-examples N]
           [--facematch-seed S] [--facematch-report F.md] [--facematch-junit F.xml]
           [--facematch-json F.json]

Every option is namespaced (``--facematch-...``) so that it cannot clash with
pytest-base-url or any other plugin. Without ``--facematch-base-url`` the plugin does
nothing, so it is harmless in any other project's test run.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
import requests

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token

from .client import Client, Target
from .exchange import KitTestResult, Recorder
from .fixtures import DEFAULT_DIR
from .profiles import DEFAULT_MAX_EXAMPLES, PROFILES, KitConfig
from .report import RunInfo, write_junit, write_markdown
from .session import CURRENT
from .tokens import TokenCases



def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("facematch-kit", "Advanced Facematch contract-test kit")
    group.addoption("--facematch-base-url", default=os.environ.get("FACEMATCH_BASE_URL"),
                    help="base URL of the implementation (env FACEMATCH_BASE_URL)")
    group.addoption("--facematch-token", default=os.environ.get("FACEMATCH_TOKEN"),
                    help="bearer token to send (env FACEMATCH_TOKEN); minted for the mock when absent")
    group.addoption("--facematch-jwt-secret", default=os.environ.get("FACEMATCH_JWT_SECRET"),
                    help="HS256 secret: mints the token and an expired one (default for the mock: its dev secret)")
    group.addoption("--facematch-profile", choices=PROFILES, default="contract", help="how much to check")
    group.addoption("--facematch-max-examples", type=int, default=DEFAULT_MAX_EXAMPLES,
                    help="generated examples per property test")
    group.addoption("--facematch-seed", type=int, default=None, help="seed for every generated request")
    group.addoption("--facematch-fixtures-dir", type=Path, default=DEFAULT_DIR, help="fixture photos and their manifest")
    group.addoption("--facematch-no-token-checks", action="store_true",
                    help="skip malformed/expired/badly signed token checks (for servers that accept any token)")
    group.addoption("--facematch-skip-st-check", action="append", default=[], metavar="NAME",
                    help="turn off one of schemathesis's own checks (repeatable)")
    group.addoption("--facematch-report", type=Path, default=None, help="write the Markdown report here")
    group.addoption("--facematch-junit", type=Path, default=None, help="write the per-rule JUnit XML here")


def build_config(config: pytest.Config) -> KitConfig:
    base_url = config.getoption("facematch_base_url")
    if not base_url:
        raise pytest.UsageError("the contract kit needs --facematch-base-url URL (or FACEMATCH_BASE_URL)")
    base_url = base_url.rstrip("/")
    token = config.getoption("facematch_token")
    secret = config.getoption("facematch_jwt_secret")
    if not token:
        if secret is None and looks_like_the_mock(base_url):
            from facematch_contract.operation import DEV_JWT_SECRET

            secret = DEV_JWT_SECRET
        if secret is None:
            raise pytest.UsageError("pass --facematch-token TOKEN (or --facematch-jwt-secret SECRET to mint one)")
        token = mint_token(secret, subject="facematch-contract-kit")
    seed = config.getoption("facematch_seed")
    return KitConfig(
        base_url=base_url,
        token=token,
        profile=config.getoption("facematch_profile"),
        max_examples=config.getoption("facematch_max_examples"),
        seed=seed if seed is not None else random.randrange(2**31),
        jwt_secret=secret,
        fixtures_dir=config.getoption("facematch_fixtures_dir"),
        token_checks=not config.getoption("facematch_no_token_checks"),
        report=config.getoption("facematch_report"),
        junit=config.getoption("facematch_junit"),
        skip_st_checks=tuple(config.getoption("facematch_skip_st_check")),
    )


def looks_like_the_mock(base_url: str) -> bool:
    """The facematch-kit mock answers GET /healthz with {"status": "ok", "mode": ..., "version": ...}."""
    try:
        body = requests.get(base_url + "/healthz", timeout=5).json()
    except (requests.RequestException, ValueError):
        return False
    return isinstance(body, dict) and body.get("status") == "ok" and body.get("mode") in ("mock", "real")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("help") or not config.getoption("facematch_base_url", None):
        return  # no target: the kit's tests skip
    CURRENT.config = build_config(config)
    CURRENT.recorder = Recorder()
    CURRENT.started = time.time()


def pytest_report_header(config: pytest.Config) -> str | None:
    kit = CURRENT.config
    if kit is not None:
        return (f"facematch-kit: {kit.base_url} profile={kit.profile} max-examples={kit.max_examples} "
                f"seed={kit.seed}")
    return None


@pytest.fixture(scope="session")
def kit() -> KitConfig:
    if CURRENT.config is None:
        pytest.skip("the contract kit needs --facematch-base-url")
    return CURRENT.config


@pytest.fixture(scope="session")
def recorder() -> Recorder:
    return CURRENT.recorder


@pytest.fixture(scope="session")
def client(kit: KitConfig, recorder: Recorder) -> Client:
    return Client(Target(kit.base_url, kit.token), recorder)


@pytest.fixture(scope="session")
def token_cases(kit: KitConfig) -> TokenCases | None:
    return TokenCases(kit.token, kit.jwt_secret) if kit.token_checks else None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    kit = CURRENT.config
    if kit is None or (kit.report is None and kit.junit is None):
        return
    recorder = CURRENT.recorder
    info = RunInfo(base_url=kit.base_url, profile=kit.profile, seed=kit.seed, max_examples=kit.max_examples,
                   seconds=time.time() - CURRENT.started)
    if kit.report is not None:
        write_markdown(kit.report, recorder, info)
    if kit.junit is not None:
        write_junit(kit.junit, recorder, info)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or report.outcome == "failed":
        recorder = CURRENT.recorder
        summary = ""
        if report.failed:
            summary = str(report.longrepr.reprcrash.message if hasattr(report.longrepr, "reprcrash")
                          and report.longrepr.reprcrash else report.longrepr)[:300]
        recorder.outcomes.append(KitTestResult(report.nodeid, report.outcome, summary))
