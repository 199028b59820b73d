"""The profile expectations (SEM-*, GOLD-*): registered checks on one answer, beside the rules.

The catalogue's rules hold for every answer; an expectation holds for the answer to one
particular request - "this photo shows no face, so 400", "this fixture gets its canned
outcome". A request carries its expectations (:class:`Expectation`: a registered check's ID
and what that check wants, a :data:`Want`), and the recorder judges them when it records
the answer, exactly as it judges the rules: the test bodies only build requests and send
them. Each check is registered once with :func:`expectation`, which names its profile level
and the kind of want it takes; binding the wrong kind, or an ID nobody registered, is an
error where the request is built.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from facematch_contract.document import Document
from facematch_contract.registry import Check, Registry
from facematch_contract.rules import Exchange
from facematch_contract.verdicts import Findings, RuleVerdict

from .fixtures import Fixture
from .profiles import Profile, includes


@dataclass(frozen=True)
class Status:
    """The answer must have this status (``why`` says what the request is, for the report)."""

    status: int
    why: str


@dataclass(frozen=True)
class MatchResult:
    """The answer must be a 200 whose match block has this result ("True" or "False")."""

    result: str
    why: str


@dataclass(frozen=True)
class CannedOutcome:
    """The mock's answer for one or two fixtures, by the manifest's canned outcomes."""

    first: Fixture
    second: Fixture | None = None


@dataclass(frozen=True)
class NamedExample:
    name: str
    status: int
    value: Any


@dataclass(frozen=True)
class ExampleBody:
    """The answer is exactly this named example of openapi.yaml, with its status."""

    example: NamedExample


Want = Status | MatchResult | CannedOutcome | ExampleBody
W = TypeVar("W", Status, MatchResult, CannedOutcome, ExampleBody)


@dataclass(frozen=True)
class Answer:
    """What an expectation judges: the recorded exchange and what the sender wanted of it."""

    exchange: Exchange
    want: Want

    def wanted(self, kind: type[W]) -> W:
        if not isinstance(self.want, kind):
            raise TypeError(f"expected a {kind.__name__} want, got {type(self.want).__name__}")
        return self.want


#: Every profile expectation, in the order reports list them.
PROFILE_CHECKS: Registry[Answer] = Registry()
_LEVELS: dict[str, Profile] = {}
_WANTS: dict[str, type[Any]] = {}
Body = Callable[[Answer, Findings], None]


def expectation(check_id: str, level: Profile, summary: str, want: type[Any]) -> Callable[[Body], Body]:
    """Register a check as the profile expectation ``check_id`` of ``level``, judging ``want``s of one kind."""

    def register(body: Body) -> Body:
        PROFILE_CHECKS.check(check_id, summary)(body)
        _LEVELS[check_id] = level
        _WANTS[check_id] = want
        return body

    return register


@dataclass(frozen=True)
class Expectation:
    """A registered expectation bound to what one request wants of its answer."""

    check: str
    want: Want

    def __post_init__(self) -> None:
        kind = _WANTS.get(self.check)
        if kind is None:
            raise KeyError(f"no profile expectation {self.check} is registered (known: {', '.join(_WANTS)})")
        if not isinstance(self.want, kind):
            raise TypeError(f"{self.check} judges a {kind.__name__}, not a {type(self.want).__name__}")

    def judge(self, exchange: Exchange) -> RuleVerdict:
        return PROFILE_CHECKS[self.check].judge(Answer(exchange, self.want))


def expectations_of(profile: str) -> list[Check[Answer]]:
    """The expectations a profile judges (contract: none; semantic: SEM-*; golden: all), level by level."""
    chosen = [check for check in PROFILE_CHECKS if includes(profile, _LEVELS[check.id])]
    return sorted(chosen, key=lambda check: (list(Profile).index(_LEVELS[check.id]), check.id))


def _json(exchange: Exchange) -> Any:
    try:
        return json.loads(exchange.body)
    except ValueError:
        return None


# --- semantic, and the mock's strict choices: statuses and match results ---------------------


@expectation("SEM-1", Profile.SEMANTIC, "a photo with no face gets 400", Status)
@expectation("SEM-4", Profile.SEMANTIC, "one photo with a real face gets 200", Status)
@expectation(
    "GOLD-3",
    Profile.GOLDEN,
    "the mock's own choices where the upstream is silent: no image1, not "
    "multipart, unknown or repeated fields, unique_id over 128 characters, an invalid correlation id "
    "-> 422",
    Status,
)
def answered_with_status(answer: Answer, found: Findings) -> None:
    want, got = answer.wanted(Status), answer.exchange.status
    if got != want.status:
        found.fail(
            f"{want.why}: expected status {want.status}, got {got}", "status", expected=str(want.status), got=str(got)
        )


@expectation("SEM-2", Profile.SEMANTIC, 'two photos of the same person match ("True")', MatchResult)
@expectation("SEM-3", Profile.SEMANTIC, 'photos of two different people do not match ("False")', MatchResult)
def answered_with_match(answer: Answer, found: Findings) -> None:
    want, exchange = answer.wanted(MatchResult), answer.exchange
    if exchange.status != 200:
        found.fail(
            f"{want.why}: expected 200 with match result {want.result!r}, got {exchange.status}",
            "status",
            expected="200",
            got=str(exchange.status),
        )
        return
    got = (_json(exchange) or {}).get("image1_image2_facematch", {}).get("result")
    if got != want.result:
        found.fail(
            f"{want.why}: expected match result {want.result!r}, got {got!r}",
            "image1_image2_facematch.result",
            expected=json.dumps(want.result),
            got=json.dumps(got),
        )


# --- golden: the mock's canned answers ------------------------------------------------------

#: The mock's 400 messages per canned error kind (from openapi.yaml's examples).
GOLDEN_MESSAGES = {
    "empty_image": "{field} is empty",
    "unsupported_image": "{field} is not a supported image: send JPEG, PNG or WebP",
    "corrupt_image": "{field} could not be decoded: the image data is truncated or corrupt",
    "image_too_small": "{field} is too small: {size} bytes (the minimum is 1024 bytes)",
    "no_face": "no usable face found in {field}",
}
#: How the mock aggregates the active gates' confidences into overall_confidence.
GOLDEN_DECIMALS = 2


def golden_aggregate(scores: list[float]) -> float:
    """Geometric mean of the active gates' confidences, rounded to GOLDEN_DECIMALS."""
    return round(math.exp(sum(math.log(s) for s in scores) / len(scores)), GOLDEN_DECIMALS)


def golden_image_block(fixture: Fixture) -> dict[str, Any]:
    canned = fixture.canned
    confidence = canned.score if canned.liveness == "real" else 0
    return {
        "input_provided": "True",
        "result": canned.liveness,
        "confidence": confidence,
        "prediction_confidence": canned.score,
    }


@expectation(
    "GOLD-1", Profile.GOLDEN, "a fixture photo gets the mock's canned outcome from the manifest", CannedOutcome
)
def answered_with_canned_outcome(answer: Answer, found: Findings) -> None:
    """GOLD-1: a canned error's exact 400 body, or the exact blocks and verdict of the manifest."""
    want, exchange = answer.wanted(CannedOutcome), answer.exchange
    first, second = want.first, want.second
    errors = [(name, f) for name, f in (("image1", first), ("image2", second)) if f is not None and f.canned.error]
    body = _json(exchange)
    if errors:
        name, fixture = errors[0]
        message = GOLDEN_MESSAGES.get(fixture.canned.error or "", "").format(field=name, size=fixture.size)
        expected = json.dumps({"msg": message})
        if exchange.status != 400 or body != {"msg": message}:
            found.fail(
                f"{_pair(want)}: expected 400 {expected}, got {exchange.status} {exchange.body[:200]!r}",
                "$",
                expected=f"400 {expected}",
                got=f"{exchange.status} {exchange.body[:200]!r}",
            )
        return
    if exchange.status != 200 or not isinstance(body, dict):
        found.fail(
            f"{_pair(want)}: expected 200, got {exchange.status}", "status", expected="200", got=str(exchange.status)
        )
        return
    problems = _canned_differences(body, first, second)
    if problems:
        found.fail(f"{_pair(want)}: " + "; ".join(problems), "$")


def _canned_differences(body: dict[str, Any], first: Fixture, second: Fixture | None) -> list[str]:
    problems = []
    block1 = golden_image_block(first)
    if body.get("image1") != block1:
        problems.append(f"image1 {json.dumps(body.get('image1'))} != {json.dumps(block1)}")
    gates = [first.canned.liveness == "real"]
    scores = [block1["confidence"]]
    if second is not None:
        block2 = golden_image_block(second)
        if body.get("image2") != block2:
            problems.append(f"image2 {json.dumps(body.get('image2'))} != {json.dumps(block2)}")
        same = first.person is not None and first.person == second.person
        match = body.get("image1_image2_facematch") or {}
        if match.get("result") != ("True" if same else "False"):
            problems.append(f"match result {match.get('result')!r}, expected {'True' if same else 'False'!r}")
        gates += [second.canned.liveness == "real", same]
        scores += [block2["confidence"], match.get("confidence")]
    overall = all(gates)
    if body.get("overall_result") != ("True" if overall else "False"):
        problems.append(f"overall_result {body.get('overall_result')!r}")
    elif overall and all(isinstance(s, (int, float)) for s in scores):
        want_conf = golden_aggregate([float(s) for s in scores])
        if abs(float(body.get("overall_confidence") or 0) - want_conf) > 0.011:
            problems.append(f"overall_confidence {body.get('overall_confidence')!r}, expected {want_conf}")
    return problems


def _pair(want: CannedOutcome) -> str:
    return want.first.name + (f" + {want.second.name}" if want.second else "")


def named_examples(spec_path: Path) -> list[NamedExample]:
    """Every named example of the facematch operation's responses in openapi.yaml."""
    responses = Document(spec_path).operation["responses"]
    found = []
    for status, response in responses.items():
        for media in (response.get("content") or {}).values():
            for name, example in (media.get("examples") or {}).items():
                found.append(NamedExample(name, int(status), example["value"]))
    return found


@expectation(
    "GOLD-2", Profile.GOLDEN, "Prefer: example=NAME returns exactly that example from openapi.yaml", ExampleBody
)
def answered_with_example(answer: Answer, found: Findings) -> None:
    """GOLD-2: the body is exactly the example's value, with its status."""
    example, exchange = answer.wanted(ExampleBody).example, answer.exchange
    body = _json(exchange)
    if exchange.status != example.status or body != example.value or not _same_types(body, example.value):
        found.fail(
            f"example {example.name}: expected {example.status} {json.dumps(example.value)}, "
            f"got {exchange.status} {exchange.body[:300]!r}",
            "$",
            expected=f"{example.status} {json.dumps(example.value)}",
            got=f"{exchange.status} {exchange.body[:300]!r}",
        )


def _same_types(a: Any, b: Any) -> bool:
    """Equal JSON values with the same types ("True" is not true, 95 may be 95.0)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b)
    return True
