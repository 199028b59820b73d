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
from collections.abc import Generator
from pathlib import Path

import pluggy
import pytest
import requests

from facematch_contract.operation import DEV_JWT_SECRET, OPERATION_PATH
from facematch_contract.tokens import mint_token

from . import fixtures
from .client import Client, Target, unreachable
from .fixtures import DEFAULT_DIR
from .problems import KitError, KitProblem, ProblemKind
from .profiles import DEFAULT_MAX_EXAMPLES, PROFILES, KitConfig, Profile
from .recorder import Recorder
from .report import RunInfo, write_json, write_junit, write_markdown
from .session import CURRENT
from .tokens import TokenCases
from .verdict import TOKEN_REFUSED_MESSAGE, judge


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("facematch-kit", "Advanced Facematch contract-test kit")
    group.addoption(
        "--facematch-base-url",
        default=os.environ.get("FACEMATCH_BASE_URL"),
        help="base URL of the implementation (env FACEMATCH_BASE_URL)",
    )
    group.addoption(
        "--facematch-token",
        default=os.environ.get("FACEMATCH_TOKEN"),
        help="bearer token to send (env FACEMATCH_TOKEN); minted for the mock when absent",
    )
    group.addoption(
        "--facematch-jwt-secret",
        default=os.environ.get("FACEMATCH_JWT_SECRET"),
        help="HS256 secret: mints the token and an expired one (default for the mock: its dev secret)",
    )
    group.addoption("--facematch-profile", choices=PROFILES, default=Profile.CONTRACT.value, help="how much to check")
    group.addoption(
        "--facematch-max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, help="generated examples per property test"
    )
    group.addoption("--facematch-seed", type=int, default=None, help="seed for every generated request")
    group.addoption(
        "--facematch-fixtures-dir", type=Path, default=DEFAULT_DIR, help="fixture photos and their manifest"
    )
    group.addoption(
        "--facematch-no-token-checks",
        action="store_true",
        help="skip malformed/expired/badly signed token checks (for servers that accept any token)",
    )
    group.addoption(
        "--facematch-skip-st-check",
        action="append",
        default=[],
        metavar="NAME",
        help="turn off one of schemathesis's own checks (repeatable)",
    )
    group.addoption("--facematch-report", type=Path, default=None, help="write the Markdown report here")
    group.addoption("--facematch-junit", type=Path, default=None, help="write the per-rule JUnit XML here")
    group.addoption(
        "--facematch-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for one answer; a request that takes longer stops the run (ERROR)",
    )
    group.addoption(
        "--facematch-json",
        type=Path,
        default=None,
        help="write the machine-readable JSON report (verdict, per-rule counts, evidence) here",
    )


def build_config(config: pytest.Config) -> KitConfig:
    """The kit's settings; a target that cannot be judged is recorded as a problem, not raised."""
    base_url = str(config.getoption("facematch_base_url")).rstrip("/")
    token = config.getoption("facematch_token")
    secret = config.getoption("facematch_jwt_secret")
    timeout = float(config.getoption("facematch_timeout"))
    problem = probe(base_url, min(timeout, PROBE_SECONDS))
    if problem is not None:
        CURRENT.recorder.add_problem(problem)
    elif not token:
        if secret is None and looks_like_the_mock(base_url):
            secret = DEV_JWT_SECRET
        if secret is None:
            CURRENT.recorder.add_problem(
                KitProblem(
                    ProblemKind.NO_TOKEN,
                    f"no token for {base_url}: pass --token TOKEN, or --jwt-secret SECRET to mint one "
                    "(only the facematch-kit mock gets one minted by default)",
                )
            )
    if not token and secret is not None:
        token = mint_token(secret, subject="facematch-contract-kit")
    fixtures_dir = config.getoption("facematch_fixtures_dir")
    if token and not CURRENT.recorder.problems and probe_token(base_url, token, fixtures_dir, timeout):
        CURRENT.recorder.add_problem(KitProblem(ProblemKind.TOKEN_REFUSED, TOKEN_REFUSED_MESSAGE))
    seed = config.getoption("facematch_seed")
    json_report = config.getoption("facematch_json")
    return KitConfig(
        base_url=base_url,
        token=token or "",
        profile=Profile(config.getoption("facematch_profile")),
        max_examples=config.getoption("facematch_max_examples"),
        seed=seed if seed is not None else random.randrange(2**31),
        jwt_secret=secret,
        fixtures_dir=config.getoption("facematch_fixtures_dir"),
        token_checks=not config.getoption("facematch_no_token_checks"),
        report=config.getoption("facematch_report"),
        junit=config.getoption("facematch_junit"),
        json=json_report,
        timeout=timeout,
        skip_st_checks=tuple(config.getoption("facematch_skip_st_check")),
    )


def probe(base_url: str, timeout: float) -> KitProblem | None:
    """Whether anything answers at the operation's URL (any HTTP answer will do)."""
    url = base_url + OPERATION_PATH
    try:
        requests.get(url, timeout=timeout)
    except requests.Timeout:
        return KitProblem(ProblemKind.TIMEOUT, f"{url} did not answer within {timeout:g} s")
    except requests.RequestException as error:
        return unreachable(url, error)
    return None


PROBE_SECONDS = 15


def probe_token(base_url: str, token: str, fixtures_dir: Path, timeout: float) -> bool:
    """True when one well-formed request with the kit's token gets 401 (the token is refused)."""
    face = next(iter(fixtures.faces(fixtures.load(fixtures_dir))), None)
    if face is None:
        return False
    try:
        response = requests.post(
            base_url + OPERATION_PATH,
            headers={"Authorization": f"Bearer {token}"},
            files={"image1": (face.name, face.data, "application/octet-stream")},
            timeout=timeout,
        )
    except requests.RequestException:
        return False  # the tests meet the same failure and record it with its request
    return response.status_code == 401


def looks_like_the_mock(base_url: str) -> bool:
    """The facematch-kit mock answers GET /healthz with {"status": "ok", "mode": ..., "version": ...}."""
    try:
        body = requests.get(base_url + "/healthz", timeout=5).json()
    except (requests.RequestException, ValueError):
        return False
    return isinstance(body, dict) and body.get("status") == "ok" and body.get("mode") in ("mock", "real")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("help") or not config.getoption("facematch_base_url", None):
        return  # no target: the plugin stays out of the way and the kit's tests skip
    CURRENT.recorder = Recorder()
    CURRENT.started = time.time()
    try:
        CURRENT.config = build_config(config)
    except Exception as error:  # any failure of the kit itself is a verdict, not a traceback
        CURRENT.recorder.add_problem(
            KitProblem(
                ProblemKind.KIT_ERROR, f"the kit crashed while starting: {type(error).__name__}: {str(error)[:300]}"
            )
        )
        CURRENT.config = KitConfig(
            base_url=str(config.getoption("facematch_base_url")).rstrip("/"),
            token="",
            profile=config.getoption("facematch_profile"),
            max_examples=config.getoption("facematch_max_examples"),
            seed=config.getoption("facematch_seed") or 0,
            report=config.getoption("facematch_report"),
            junit=config.getoption("facematch_junit"),
            json=config.getoption("facematch_json"),
        )


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """When the target cannot be judged at all, run nothing (the reports still say why)."""
    if CURRENT.config is None or not CURRENT.recorder.problems:
        return
    reason = "not judged: " + CURRENT.recorder.problems[0].message
    for item in items:
        item.add_marker(pytest.mark.skip(reason=reason))


def pytest_report_header(config: pytest.Config) -> str | None:
    kit = CURRENT.config
    if kit is not None:
        return f"facematch-kit: {kit.base_url} profile={kit.profile} max-examples={kit.max_examples} seed={kit.seed}"
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
    return Client(Target(kit.base_url, kit.token, kit.timeout), recorder)


@pytest.fixture(scope="session")
def token_cases(kit: KitConfig) -> TokenCases | None:
    return TokenCases(kit.token, kit.jwt_secret) if kit.token_checks else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    """A kit test that raised anything but a rule failure (AssertionError) is a kit problem."""
    outcome = yield
    if CURRENT.config is None or call.excinfo is None:
        return
    report = outcome.get_result()
    error = call.excinfo.value
    if report.skipped or isinstance(error, (AssertionError, KitError)):
        return
    CURRENT.recorder.add_problem(
        KitProblem(
            ProblemKind.KIT_ERROR,
            f"the kit's test {item.nodeid} crashed in {call.when}: {type(error).__name__}: {str(error)[:300]}",
        )
    )


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if CURRENT.config is not None and report.failed:
        CURRENT.recorder.add_problem(
            KitProblem(
                ProblemKind.KIT_ERROR,
                f"the kit could not collect {report.nodeid or 'its tests'}: "
                f"{str(report.longrepr).strip().splitlines()[-1][:300]}",
            )
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Judge the run, write every report asked for, and exit with the verdict's code."""
    kit = CURRENT.config
    if kit is None:
        return
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        CURRENT.recorder.add_problem(KitProblem(ProblemKind.KIT_ERROR, "the run was interrupted"))
    judgement = judge(CURRENT.recorder, kit.profile)
    CURRENT.judgement = judgement
    info = RunInfo(
        base_url=kit.base_url,
        profile=kit.profile,
        seed=kit.seed,
        max_examples=kit.max_examples,
        seconds=time.time() - CURRENT.started,
    )
    for path, write in ((kit.report, write_markdown), (kit.junit, write_junit), (kit.json, write_json)):
        if path is not None:
            write(path, judgement, CURRENT.recorder, info)
    session.exitstatus = judgement.verdict.exit_code
