"""The kit's rule validator (facematch_contract.rules) on the contract's examples and on
hand-broken bodies: each mistake is reported by the one rule it breaks."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from facematch_contract import SPEC_PATH
from facematch_contract.rules import RULE_IDS, Exchange, Part, check_exchange, curl_line, evaluate

from .live import ROOT

SPEC = yaml.safe_load(SPEC_PATH.read_text())
RESPONSES = SPEC["paths"]["/advanced_facematch"]["post"]["responses"]
SUCCESS = {name: ex["value"] for name, ex in RESPONSES["200"]["content"]["application/json"]["examples"].items()}
ERRORS = [
    (int(status), name, ex["value"])
    for status, response in RESPONSES.items()
    if status != "200"
    for name, ex in response["content"]["application/json"]["examples"].items()
]
TWO = copy.deepcopy(SUCCESS["two_image_success"])
ONE = copy.deepcopy(SUCCESS["one_image_success"])
FAKE = copy.deepcopy(SUCCESS["image1_fake"])


def exchange(
    body: Any,
    *,
    status: int = 200,
    image2: bool | None = None,
    fate: str | None = None,
    content_type: str = "application/json",
    correlation: str | None = "cid-1",
    echo: str | None = "same",
    method: str = "POST",
) -> Exchange:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if image2 is None:
        image2 = isinstance(body, dict) and body.get("image2", {}).get("input_provided") == "True"
    headers = {"Content-Type": content_type}
    echoed = correlation if echo == "same" else echo
    if echoed is not None:
        headers["X-Correlation-ID"] = echoed
    parts = (Part("image1", "a.jpg", 20_000),) + ((Part("image2", "b.jpg", 30_000),) if image2 else ())
    sent = {"Authorization": "Bearer secret.jwt.x"} | ({"X-Correlation-ID": correlation} if correlation else {})
    return Exchange(
        method, "http://127.0.0.1:8080/advanced_facematch", sent, parts, image2, correlation, status, headers, raw, fate
    )


def failing(ex: Exchange) -> set[str]:
    return {f.rule for f in check_exchange(ex) if f.severity == "fail"}


@pytest.mark.parametrize("name", sorted(SUCCESS))
def test_every_success_example_satisfies_every_rule(name: str) -> None:
    assert check_exchange(exchange(SUCCESS[name])) == []


@pytest.mark.parametrize(("status", "name", "body"), ERRORS, ids=[f"{s}-{n}" for s, n, _ in ERRORS])
def test_every_error_example_satisfies_every_rule(status: int, name: str, body: Any) -> None:
    assert check_exchange(exchange(body, status=status)) == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for key in parents:
            target = target[key]
        target[last] = value

    return change


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for key in parents:
            target = target[key]
        del target[last]

    return change


#: (rule, base body, mutation, description): each must break that rule and no other.
MUTATIONS = [
    ("SHAPE-1", TWO, _set("debug", True), "extra top-level key"),
    ("SHAPE-1", TWO, _delete("overall_confidence"), "missing top-level key"),
    ("SHAPE-1", ONE, _set("image2.note", "x"), "extra key in a block"),
    ("SHAPE-1", TWO, _delete("image1_image2_facematch.confidence"), "missing key in the match block"),
    ("TYPE-1", TWO, _set("overall_result", True), "JSON boolean flag"),
    ("TYPE-1", TWO, _set("image2.confidence", "93.5"), "score as a string"),
    ("TYPE-1", TWO, _set("image1_image2_facematch.confidence", 187.2), "score above 100"),
    ("TYPE-1", ONE, _set("image1.result", "REAL"), "result outside the vocabulary"),
    ("IMG1-1", TWO, _set("image1.input_provided", "False"), "image1 not provided"),
    ("IMG1-1", ONE, _set("image1.result", "N/A"), "image1 N/A"),
    ("LIVE-1", FAKE, _set("image1.confidence", 22.4), "fake with its score as confidence"),
    ("LIVE-2", TWO, _set("image2.prediction_confidence", 90.1), "real with a different prediction"),
    ("ONE-1", ONE, _set("image2.confidence", 0), "one-photo image2 confidence 0"),
    ("ONE-1", ONE, _set("image1_image2_facematch.performed", "True"), "one-photo match performed"),
    ("TWO-1", TWO, _set("image2.input_provided", "False"), "two-photo image2 not provided"),
    ("TWO-1", TWO, _set("image1_image2_facematch.confidence", None), "two-photo match confidence null"),
    (
        "OVR-1",
        SUCCESS["faces_mismatch"],
        lambda b: b.update(overall_result="True", overall_confidence=50),
        "True despite a mismatch",
    ),
    ("OVR-2", FAKE, _set("overall_confidence", 40), "False with a confidence"),
    ("OVR-3", TWO, _set("overall_confidence", 0), "True with confidence 0"),
]


@pytest.mark.parametrize(("rule", "base", "mutate", "what"), MUTATIONS, ids=[f"{m[0]}-{m[3]}" for m in MUTATIONS])
def test_each_broken_body_fails_exactly_its_rule(rule: str, base: dict[str, Any], mutate: Callable, what: str) -> None:
    body = copy.deepcopy(base)
    mutate(body)
    findings = [
        f
        for f in check_exchange(exchange(body, image2=base["image2"]["input_provided"] == "True"))
        if f.severity == "fail"
    ]
    assert {f.rule for f in findings} == {rule}, findings
    assert all(f.field for f in findings)


def test_ovr3_bounds_are_a_warning_not_a_failure() -> None:
    body = copy.deepcopy(TWO)
    body["overall_confidence"] = 99.0  # above every gate's confidence
    findings = check_exchange(exchange(body))
    assert [(f.rule, f.severity) for f in findings] == [("OVR-3", "warn")]


def test_aggregate_within_rounding_is_not_warned() -> None:
    body = copy.deepcopy(ONE)
    body["overall_confidence"] = 96.305
    assert check_exchange(exchange(body)) == []


@pytest.mark.parametrize(
    ("fate", "status", "body", "rule"),
    [
        ("tiny_image", 200, ONE, "ERR-1"),
        ("huge_image", 413, {"msg": "too large"}, "ERR-1"),
        ("usable", 415, {"msg": "unsupported"}, "ERR-1"),
        ("expired_token", 200, ONE, "ERR-2"),
        ("usable", 401, {"msg": "invalid token"}, "ERR-2"),
        ("not_multipart", 415, {"msg": "send multipart"}, "ERR-3"),
        ("missing_image1", 200, ONE, "ERR-3"),
        ("missing_image1", 400, {"detail": {}, "message": "x"}, "ERR-1"),
        ("usable", 422, {"detail": {}, "message": "x"}, "ERR-3"),
        ("not_multipart", 500, {"msg": "oops"}, "ERR-4"),
    ],
)
def test_fixed_fates_are_judged_by_their_rule(fate: str, status: int, body: Any, rule: str) -> None:
    assert failing(exchange(body, status=status, fate=fate, image2=False)) == {rule}


@pytest.mark.parametrize(
    ("fate", "status", "body"),
    [
        ("missing_image1", 422, {"detail": {"error": "missing_image1"}, "message": "field image1 is required"}),
        ("missing_image1", 400, {"msg": "image1 is empty"}),
        ("not_multipart", 422, {"detail": {}, "message": "send multipart/form-data"}),
        ("not_multipart", 400, {"msg": "image1 is empty"}),
    ],
)
def test_a_request_that_is_not_the_operation_may_get_422_or_400(fate: str, status: int, body: Any) -> None:
    """The upstream documents the 422 body and lists 400 for "Empty image1": either is conforming."""
    assert failing(exchange(body, status=status, fate=fate, image2=False)) == set()


@pytest.mark.parametrize("status", [200, 400])
def test_a_usable_photo_may_get_200_or_400(status: int) -> None:
    body = ONE if status == 200 else {"msg": "no usable face found in image1"}
    assert failing(exchange(body, status=status, fate="usable")) == set()


@pytest.mark.parametrize(
    ("status", "body", "rule"),
    [
        (400, {"message": "no face"}, "ERR-1"),
        (400, {"msg": ""}, "ERR-1"),
        (401, {"msg": "x", "code": 7}, "ERR-2"),
        (422, {"message": "x"}, "ERR-3"),
        (422, {"detail": "x", "message": "x"}, "ERR-3"),
    ],
)
def test_error_bodies_are_checked(status: int, body: Any, rule: str) -> None:
    assert failing(exchange(body, status=status)) == {rule}


def test_non_json_and_stack_traces_are_err4_only() -> None:
    assert failing(exchange(b"<html>oops</html>", content_type="text/html")) == {"ERR-4"}
    trace = {"msg": 'Traceback (most recent call last):\n  File "app.py", line 3, in f'}
    assert failing(exchange(trace, status=400)) == {"ERR-4"}
    assert failing(exchange(b"", status=502, content_type="text/plain")) == {"ERR-4"}


def test_headers() -> None:
    assert failing(exchange(ONE, content_type="text/plain")) == {"HDR-1"}
    assert failing(exchange({"msg": "x"}, status=400, echo=None)) == {"HDR-1"}
    assert failing(exchange(ONE, echo="another-id")) == {"HDR-1"}
    assert failing(exchange(ONE, content_type="application/json; charset=utf-8")) == set()
    # An id outside the contract's form may be refused and replaced: not judged.
    assert failing(exchange({"detail": {}, "message": "x"}, status=422, correlation="has space", echo="new")) == set()


def test_only_post_is_judged() -> None:
    verdicts = evaluate(exchange(b"", status=200, method="OPTIONS", content_type="text/plain"))
    assert not any(v.applied for v in verdicts)


def test_every_rule_has_a_verdict() -> None:
    assert [v.rule for v in evaluate(exchange(TWO))] == list(RULE_IDS)
    assert len(RULE_IDS) == 15


def test_curl_line_redacts_the_token_and_shows_files() -> None:
    ex = exchange(TWO)
    line = curl_line(ex)
    assert "secret.jwt.x" not in line
    assert '"Authorization: Bearer $TOKEN"' in line
    assert "image1=@a.jpg" in line and "image2=@b.jpg" in line and "20000 bytes" in line
    assert "X-Correlation-ID: cid-1" in line


def test_rules_module_imports_only_the_standard_library() -> None:
    code = (
        "import sys, facematch_contract.rules; "
        "bad = sorted(m for m in ('requests', 'hypothesis', 'schemathesis', 'PIL', 'yaml', 'pytest') "
        "if m in sys.modules); print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
