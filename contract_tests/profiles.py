"""Profiles (contract < semantic < golden), the kit's settings, and the profile expectations.

* contract: what holds for every correct implementation and every image (the rules).
* semantic: adds what any working face service must do with the kit's fixture photos.
* golden:   adds the mock's exact canned answers (only meaningful against the mock).

Profile expectations have their own IDs (SEM-*, GOLD-*) next to the catalogue's rules.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facematch_contract.document import Document
from facematch_contract.rules import Exchange, Finding

from .exchange import Check
from .fixtures import DEFAULT_DIR, Fixture

PROFILES = ("contract", "semantic", "golden")
DEFAULT_MAX_EXAMPLES = 100

EXPECTATIONS: dict[str, tuple[str, str]] = {
    "SEM-1": ("semantic", "a photo with no face gets 400"),
    "SEM-2": ("semantic", 'two photos of the same person match ("True")'),
    "SEM-3": ("semantic", 'photos of two different people do not match ("False")'),
    "SEM-4": ("semantic", "one photo with a real face gets 200"),
    "GOLD-1": ("golden", "a fixture photo gets the mock's canned outcome from the manifest"),
    "GOLD-2": ("golden", "Prefer: example=NAME returns exactly that example from openapi.yaml"),
    "GOLD-3": ("golden", ("the mock's own choices where the upstream is silent: no image1, not multipart, unknown or "
                          "repeated fields, unique_id over 128 characters, an invalid correlation id -> 422")),
}


def includes(profile: str, level: str) -> bool:
    """True when ``profile`` includes the checks of ``level``."""
    return PROFILES.index(profile) >= PROFILES.index(level)


@dataclass(frozen=True)
class KitConfig:
    base_url: str
    token: str
    profile: str = "contract"
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int = 0
    jwt_secret: str | None = None
    fixtures_dir: Path = DEFAULT_DIR
    #: Check malformed, badly signed and expired tokens (off for a server that accepts any token).
    token_checks: bool = True
    report: Path | None = None
    junit: Path | None = None
    json: Path | None = None
    #: Seconds to wait for one answer before the run is ERROR (not judged).
    timeout: float = 60.0
    #: Schemathesis checks to turn off (by name), e.g. one a vendor disputes.
    skip_st_checks: tuple[str, ...] = ()


# --- expectations on one exchange ----------------------------------------------------------


def _json(exchange: Exchange) -> Any:
    try:
        return json.loads(exchange.body)
    except ValueError:
        return None


def _check(rule: str, ok: bool, message: str, field: str | None = None) -> Check:
    return Check(rule, () if ok else (Finding(rule, "fail", message, field),))


def expect_status(rule: str, exchange: Exchange, status: int, why: str) -> Check:
    return _check(rule, exchange.status == status, f"{why}: expected status {status}, got {exchange.status}",
                  "status")


def expect_match(rule: str, exchange: Exchange, result: str, why: str) -> Check:
    if exchange.status != 200:
        return _check(rule, False, f"{why}: expected 200 with match result {result!r}, got {exchange.status}",
                      "status")
    got = (_json(exchange) or {}).get("image1_image2_facematch", {}).get("result")
    return _check(rule, got == result, f"{why}: expected match result {result!r}, got {got!r}",
                  "image1_image2_facematch.result")


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
    return {"input_provided": "True", "result": canned.liveness, "confidence": confidence,
            "prediction_confidence": canned.score}


def golden_fixture_check(exchange: Exchange, first: Fixture, second: Fixture | None) -> Check:
    """GOLD-1: the mock's answer for one or two fixtures, by the manifest's canned outcomes."""
    errors = [(name, f) for name, f in (("image1", first), ("image2", second)) if f is not None and f.canned.error]
    body = _json(exchange)
    if errors:
        name, fixture = errors[0]
        message = GOLDEN_MESSAGES.get(fixture.canned.error or "", "").format(field=name, size=fixture.size)
        want: Any = {"msg": message}
        return _check("GOLD-1", exchange.status == 400 and body == want,
                      f"{_pair(first, second)}: expected 400 {json.dumps(want)}, got {exchange.status} "
                      f"{exchange.body[:200]!r}", "$")
    if exchange.status != 200 or not isinstance(body, dict):
        return _check("GOLD-1", False, f"{_pair(first, second)}: expected 200, got {exchange.status}", "status")
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
    return _check("GOLD-1", not problems, f"{_pair(first, second)}: " + "; ".join(problems), "$")


def _pair(first: Fixture, second: Fixture | None) -> str:
    return first.name + (f" + {second.name}" if second else "")


@dataclass(frozen=True)
class NamedExample:
    name: str
    status: int
    value: Any


def named_examples(spec_path: Path) -> list[NamedExample]:
    """Every named example of the facematch operation's responses in openapi.yaml."""
    responses = Document(spec_path).operation["responses"]
    found = []
    for status, response in responses.items():
        for media in (response.get("content") or {}).values():
            for name, example in (media.get("examples") or {}).items():
                found.append(NamedExample(name, int(status), example["value"]))
    return found


def golden_example_check(exchange: Exchange, example: NamedExample) -> Check:
    """GOLD-2: the body is exactly the example's value, with its status."""
    body = _json(exchange)
    ok = exchange.status == example.status and body == example.value and _same_types(body, example.value)
    return _check("GOLD-2", ok, f"example {example.name}: expected {example.status} {json.dumps(example.value)}, "
                                f"got {exchange.status} {exchange.body[:300]!r}", "$")


def _same_types(a: Any, b: Any) -> bool:
    """Equal JSON values with the same types ("True" is not true, 95 may be 95.0)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b)
    return True
