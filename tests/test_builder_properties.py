"""Hypothesis properties: the response builder obeys every rule of the catalogue for every
outcome an engine can produce."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mock_server.answer import build
from mock_server.domain import Liveness, Match, Outcome
from mock_server.jsonbody import encode

scores = st.floats(min_value=0.01, max_value=100, allow_nan=False)
livenesses = st.one_of(
    st.builds(Liveness, st.just("real"), scores),
    st.builds(Liveness, st.just("fake"), st.one_of(st.none(), st.floats(0, 100))),
)
matches = st.builds(Match, st.just(True), scores) | st.builds(Match, st.just(False), st.floats(0, 100))
outcomes = st.one_of(
    st.builds(Outcome, livenesses),
    st.builds(Outcome, livenesses, livenesses, matches),
)
IMAGE_KEYS = {"input_provided", "result", "confidence", "prediction_confidence"}


def is_score(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 100


@given(outcomes)
def test_builder_obeys_the_rules(outcome: Outcome) -> None:
    body = json.loads(encode(build(outcome)))  # what goes over the wire
    # SHAPE-1
    assert list(body) == ["image1", "image2", "image1_image2_facematch", "overall_result", "overall_confidence"]
    assert set(body["image1"]) == set(body["image2"]) == IMAGE_KEYS
    assert set(body["image1_image2_facematch"]) == {"performed", "result", "confidence"}
    # IMG1-1, TYPE-1
    image1 = body["image1"]
    assert image1["input_provided"] == "True" and image1["result"] in ("real", "fake")
    assert is_score(image1["confidence"])
    for block in (body["image1"], body["image2"]):
        # LIVE-1, LIVE-2
        if block["result"] == "fake":
            assert block["confidence"] == 0
        assert block["prediction_confidence"] is None or is_score(block["prediction_confidence"])
        if block["result"] == "real" and block["prediction_confidence"] is not None:
            assert block["prediction_confidence"] == block["confidence"]
    match = body["image1_image2_facematch"]
    if outcome.image2 is None:
        # ONE-1
        assert body["image2"] == {
            "input_provided": "False",
            "result": "N/A",
            "confidence": None,
            "prediction_confidence": None,
        }
        assert match == {"performed": "False", "result": "N/A", "confidence": None}
    else:
        # TWO-1
        assert body["image2"]["input_provided"] == "True" and body["image2"]["result"] in ("real", "fake")
        assert match["performed"] == "True" and match["result"] in ("True", "False") and is_score(match["confidence"])
    # OVR-1
    gates = [image1["result"] == "real"]
    if outcome.image2 is not None:
        gates += [body["image2"]["result"] == "real", match["result"] == "True"]
    assert body["overall_result"] == ("True" if all(gates) else "False")
    if body["overall_result"] == "False":
        assert body["overall_confidence"] == 0  # OVR-2
    else:
        # OVR-3, including its advisory part
        assert 0 < body["overall_confidence"] <= 100
        active = [image1["confidence"]]
        if outcome.image2 is not None:
            active += [body["image2"]["confidence"], match["confidence"]]
        assert min(active) - 0.01 <= body["overall_confidence"] <= max(active) + 0.01


@given(outcomes)
def test_builder_is_deterministic(outcome: Outcome) -> None:
    assert encode(build(outcome)) == encode(build(outcome))


def exchange_for(outcome: Outcome, body: bytes, status: int = 200):
    from facematch_contract.rules import Exchange, Part

    parts = [Part("image1", "a.jpg", 5000)]
    if outcome.image2 is not None:
        parts.append(Part("image2", "b.jpg", 5000))
    return Exchange(
        method="POST",
        url="http://127.0.0.1:8080/advanced_facematch",
        request_headers={"Authorization": "Bearer t", "X-Correlation-ID": "c-1"},
        parts=tuple(parts),
        sent_image2=outcome.image2 is not None,
        sent_correlation_id="c-1",
        status=status,
        response_headers={"Content-Type": "application/json", "X-Correlation-ID": "c-1"},
        body=body,
    )


@given(outcomes)
def test_the_kits_independent_validator_agrees(outcome: Outcome) -> None:
    """The second formulation of the rules (the kit's validator) finds nothing, not even
    OVR-3's advisory warning, in anything the builder makes."""
    from facematch_contract.rules import check_exchange

    assert check_exchange(exchange_for(outcome, encode(build(outcome)))) == []


def test_the_validator_does_catch_a_builder_mistake() -> None:
    from facematch_contract.rules import check_exchange

    outcome = Outcome(Liveness("fake", 30.0))
    body = build(outcome)
    body["image1"]["confidence"] = 30.0  # breaks LIVE-1
    findings = check_exchange(exchange_for(outcome, encode(body)))
    assert [finding.rule for finding in findings] == ["LIVE-1"]
