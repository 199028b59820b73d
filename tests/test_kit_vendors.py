"""The kit, run as a vendor runs it, against implementations it has never seen.

The servers in ``tests/vendors`` answer ``POST /advanced_facematch`` without any of the
mock's code: three conforming ones on different stacks (each lenient where the upstream is
silent) must PASS; every named bug must FAIL, on the rule it breaks. The kit runs as
``python -m facematch check`` in its own process (forked from a process that has
the kit imported: tests/kit_process.py), sees only HTTP, and the rules it failed are
read back from its JSON report by ``failed_rules``.

Each stack is one server process holding one instance per bug; kit runs go three at a time.
The hold-out bugs (``tests/vendors/holdout.py``) have their own fixture and tests.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import kit_process
from .kit_commands import check_command
from .live import ROOT
from .vendors.bug import CONFORMING, Bug
from .vendors.bugs import BUGS
from .vendors.holdout import HOLDOUT_BUGS
from .vendors.launch import vendors
from .vendors.stacks import Stack

pytestmark = pytest.mark.server

SECRET = "vendor-kit-secret-7f3a9c1e5b2d4086a1c3e5f7"
#: Generated requests per property for a bug hunt, and for a conforming run. Every bug, hold-outs
#: included, is caught on its rule at 5 as it was at 12 (most by the kit's fixed requests, the rest
#: by the first generated ones); a vendor's run uses the default, 100.
BUG_EXAMPLES = 5
CONFORMING_EXAMPLES = 20
#: Fixed seeds for bug hunts (a bug's verdict must not hang on luck); conforming runs draw theirs.
BUG_SEED = 20261204
#: Random-seed runs per conforming stack, made with the bug hunts (one pool, one server per stack):
#: five, the issue's bar for "no false alarms". With the 47 bug hunts in the same pool, more
#: would take the file past its CI budget.
CONFORMING_SEEDS = 5
PARALLEL_RUNS = 3


def failed_rules(path: Path) -> set[str]:
    """The rules, expectations and schemathesis checks the kit failed, from its JSON report."""
    doc = json.loads(path.read_text())
    found = {row["id"] for row in doc["rules"] + doc["expectations"] if row["status"] == "fail"}
    return found | {check["name"] for check in doc["schemathesis_checks"] if check["failed"]}


@dataclass(frozen=True)
class KitRun:
    target: str
    seed: int
    exit_code: int
    failed: frozenset[str]
    seconds: float
    output: str

    def summary(self) -> str:
        return (
            f"{self.target}: exit {self.exit_code}, failed {sorted(self.failed)}, seed {self.seed}, "
            f"{self.seconds:.1f} s"
        )


def run_kit(target: str, url: str, out: Path, seed: int, max_examples: int) -> KitRun:
    """``facematch check --profile contract`` against ``url``, as a vendor would type it."""
    out.mkdir(parents=True, exist_ok=True)
    report, junit, evidence = out / "report.md", out / "junit.xml", out / "report.json"
    command = [
        *check_command(url),
        "--jwt-secret",
        SECRET,
        "--profile",
        "contract",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--report",
        str(report),
        "--junit",
        str(junit),
        "--json",
        str(evidence),
    ]
    started = time.monotonic()
    done = kit_process.run(command, out, timeout=300)
    failed = frozenset(failed_rules(evidence)) if evidence.exists() else frozenset({"(no JSON report)"})
    tail = done.stdout[-3000:] + done.stderr[-1500:]
    return KitRun(target, seed, done.returncode, failed, time.monotonic() - started, tail)


@dataclass(frozen=True)
class Job:
    name: str
    stack: Stack
    bug: Bug
    seed: int
    max_examples: int


def serve_and_check(jobs: list[Job], base: Path) -> dict[str, KitRun]:
    """Start one process per stack with an instance per bug, then run the kit on every job."""
    with ExitStack() as stack:
        urls: dict[tuple[Stack, str], str] = {}
        for kind in Stack:
            names = sorted({j.bug.name for j in jobs if j.stack is kind})
            if names:
                started = stack.enter_context(vendors(kind, SECRET, names, ROOT))
                urls.update({(kind, name): url for name, url in started.items()})

        def one(job: Job) -> tuple[str, KitRun]:
            run = run_kit(job.name, urls[(job.stack, job.bug.name)], base / job.name, job.seed, job.max_examples)
            print(run.summary())
            return job.name, run

        with ThreadPoolExecutor(max_workers=PARALLEL_RUNS) as pool:
            return dict(pool.map(one, jobs))


def bug_jobs(bugs: tuple[Bug, ...]) -> list[Job]:
    return [Job(bug.name, bug.runs_on, bug, BUG_SEED, BUG_EXAMPLES) for bug in bugs]


def conforming_jobs(seeds_per_stack: int, rng: random.Random) -> list[Job]:
    return [
        Job(f"conforming-{kind.value}-{i}", kind, CONFORMING, rng.randrange(2**31), CONFORMING_EXAMPLES)
        for kind in Stack
        for i in range(seeds_per_stack)
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KitRun]:
    """Every visible bug once, and each conforming stack with five random seeds."""
    jobs = conforming_jobs(CONFORMING_SEEDS, random.Random()) + bug_jobs(BUGS)
    return serve_and_check(jobs, tmp_path_factory.mktemp("vendors"))


@pytest.fixture(scope="module")
def holdout_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KitRun]:
    return serve_and_check(bug_jobs(HOLDOUT_BUGS), tmp_path_factory.mktemp("holdout"))


def assert_conforms(run: KitRun) -> None:
    assert run.exit_code == 0 and not run.failed, (
        f"conforming server judged non-conforming: {run.summary()}\n{run.output}"
    )


def assert_caught(bug: Bug, run: KitRun) -> None:
    assert run.exit_code == 1, f"bug {bug.name} ({bug.what}) was not FAILed by the kit: {run.summary()}\n{run.output}"
    assert run.failed & set(bug.rules), (
        f"bug {bug.name} ({bug.what}) breaks {', '.join(bug.rules)}, the kit failed {sorted(run.failed)}\n{run.output}"
    )


@pytest.mark.parametrize("stack", list(Stack), ids=lambda s: s.value)
def test_conforming_vendor_passes_five_random_seeds(stack: Stack, runs: dict[str, KitRun]) -> None:
    """Each conforming stack, five kit runs with random seeds (the issue's bar for "no false
    alarms"), made in the same pool as the bug hunts."""
    found = [run for name, run in sorted(runs.items()) if name.startswith(f"conforming-{stack.value}-")]
    assert len(found) == CONFORMING_SEEDS == 5
    assert len({run.seed for run in found}) == len(found), "five different seeds"
    for run in found:
        assert_conforms(run)


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.name)
def test_bug_is_caught_on_its_rule(bug: Bug, runs: dict[str, KitRun]) -> None:
    assert_caught(bug, runs[bug.name])


@pytest.mark.parametrize("bug", HOLDOUT_BUGS, ids=lambda b: b.name)
def test_holdout_bug_is_caught_on_its_rule(bug: Bug, holdout_runs: dict[str, KitRun]) -> None:
    assert_caught(bug, holdout_runs[bug.name])


def test_every_rule_has_a_bug_and_names_are_unique() -> None:
    from facematch_contract.rules import RULE_IDS

    every = BUGS + HOLDOUT_BUGS
    assert len({b.name for b in every}) == len(every)
    assert len(every) >= 30 and len(HOLDOUT_BUGS) >= 10
    assert set(RULE_IDS) <= {rule for b in every for rule in b.rules}
    assert all(set(b.rules) <= set(RULE_IDS) for b in every)


# --- the vendors are lenient where they claim to be (no kit involved) ---------------------------

LENIENT_UPLOAD = (ROOT / "fixtures" / "images" / "astronaut_a.jpg").read_bytes()


@pytest.fixture(scope="module")
def conforming_urls() -> Iterator[dict[Stack, str]]:
    from .vendors.launch import start

    instances = {kind: start(kind, SECRET, CONFORMING) for kind in Stack}
    yield {kind: i.url for kind, i in instances.items()}
    for instance in instances.values():
        instance.stop()


@pytest.mark.parametrize("stack", list(Stack), ids=lambda s: s.value)
def test_conforming_vendor_is_lenient_where_the_upstream_is_silent(
    stack: Stack, conforming_urls: dict[Stack, str]
) -> None:
    """A token without exp, a 5,000-character unique_id, an unknown field and an odd correlation id: all 200."""
    import jwt
    import requests

    token = jwt.encode({"sub": "vendor-test"}, SECRET, algorithm="HS256")
    odd_id = "corr id with spaces/" + "x" * 300
    response = requests.post(
        f"{conforming_urls[stack]}/advanced_facematch",
        headers={"Authorization": f"Bearer {token}", "X-Correlation-ID": odd_id},
        files={"image1": ("a.jpg", LENIENT_UPLOAD, "image/jpeg")},
        data={"unique_id": "u" * 5000, "channel": "kiosk-7"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["X-Correlation-ID"] == odd_id
    assert response.json()["image2"] == {
        "input_provided": "False",
        "result": "N/A",
        "confidence": None,
        "prediction_confidence": None,
    }
    quiet = requests.post(
        f"{conforming_urls[stack]}/advanced_facematch",
        headers={"Authorization": f"Bearer {token}"},
        files={"image1": ("a.jpg", LENIENT_UPLOAD, "image/jpeg")},
        timeout=30,
    )
    generated = quiet.headers.get("X-Correlation-ID")
    assert (generated is None) if stack is not Stack.WERKZEUG else (generated is not None and len(generated) == 36)
