"""The response builder: turns an engine's :class:`Outcome` into the fixed response shape.

This is one of the two formulations of the rules catalogue (the other, independent one is
the kit's validator in ``facematch_contract/rules.py``). Rule IDs are cited where they apply.
"""

from __future__ import annotations

import math
from typing import Any

from .domain import Liveness, Match, Outcome

TRUE, FALSE, NOT_APPLICABLE = "True", "False", "N/A"

#: ONE-1: the blocks of a one-photo request.
ABSENT_IMAGE: dict[str, Any] = {
    "input_provided": FALSE,
    "result": NOT_APPLICABLE,
    "confidence": None,
    "prediction_confidence": None,
}
NOT_PERFORMED: dict[str, Any] = {"performed": FALSE, "result": NOT_APPLICABLE, "confidence": None}


def score(value: float) -> float:
    """Scores are reported with at most two decimals."""
    return round(float(value), 2)


def image_block(liveness: Liveness) -> dict[str, Any]:
    """IMG1-1 / TWO-1 / LIVE-1 / LIVE-2."""
    predicted = None if liveness.score is None else score(liveness.score)
    confidence = predicted if liveness.result == "real" else 0.0  # LIVE-1: fake -> 0
    return {
        "input_provided": TRUE,
        "result": liveness.result,
        "confidence": confidence,
        "prediction_confidence": predicted,  # LIVE-2: before the fake-zeroing
    }


def match_block(match: Match) -> dict[str, Any]:
    """TWO-1: performed, a "True"/"False" result and a numeric confidence."""
    return {"performed": TRUE, "result": TRUE if match.matched else FALSE, "confidence": score(match.confidence)}


def gates(outcome: Outcome) -> list[tuple[bool, float]]:
    """The active gates, each (passed, confidence): image1; with image2 also image2 and the match."""
    active = [(outcome.image1.result == "real", outcome.image1.score or 0.0)]
    if outcome.image2 is not None and outcome.match is not None:
        active.append((outcome.image2.result == "real", outcome.image2.score or 0.0))
        active.append((outcome.match.matched, outcome.match.confidence))
    return active


def overall_confidence(confidences: list[float]) -> float:
    """OVR-3: the geometric mean of the active gates' confidences, two decimals, in (0, 100].

    A geometric mean lies between the smallest and the largest value, and a weak gate pulls
    it down harder than an arithmetic mean would.
    """
    mean = math.exp(sum(math.log(value) for value in confidences) / len(confidences))
    return min(100.0, max(0.01, score(mean)))


def build(outcome: Outcome) -> dict[str, Any]:
    """SHAPE-1: exactly five keys, in this order, in every mode."""
    if outcome.image2 is not None and outcome.match is not None:
        image2, match = image_block(outcome.image2), match_block(outcome.match)
    else:
        image2, match = dict(ABSENT_IMAGE), dict(NOT_PERFORMED)
    active = gates(outcome)
    passed = all(ok for ok, _ in active)  # OVR-1
    return {
        "image1": image_block(outcome.image1),
        "image2": image2,
        "image1_image2_facematch": match,
        "overall_result": TRUE if passed else FALSE,
        "overall_confidence": overall_confidence([c for _, c in active]) if passed else 0.0,  # OVR-2
    }
