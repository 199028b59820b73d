"""The kit's checks fail loudly where they are misnamed: a misspelt fate, severity, profile or
expectation is an error where it is written, never a check that quietly stops judging; and a
registered expectation judges the answer its request carries."""

from __future__ import annotations

import json

import pytest

from contract_tests.expectations import Expectation, MatchResult, Status
from contract_tests.kit_request import KitRequest
from contract_tests.profiles import includes
from contract_tests.recorder import Recorder
from facematch_contract.registry import Guard, Registry
from facematch_contract.rules import Exchange, FateName, Finding, Severity, check_exchange
from facematch_contract.verdicts import Findings

from .live import ROOT


def exchange(status: int, body: object, fate: str | None = None) -> Exchange:
    return Exchange(
        "POST",
        "http://127.0.0.1:1/advanced_facematch",
        {},
        (),
        False,
        None,
        status,
        {"Content-Type": "application/json"},
        json.dumps(body).encode(),
        fate,
    )


def test_misspelt_names_are_refused() -> None:
    with pytest.raises(ValueError, match="tiny_imgae"):
        exchange(400, {"msg": "x"}, fate="tiny_imgae")
    with pytest.raises(ValueError, match="fial"):
        Finding("ERR-1", "fial", "x")  # type: ignore[arg-type]  # the typo under test
    with pytest.raises(ValueError, match="goldne"):
        includes("goldne", "semantic")
    with pytest.raises(KeyError, match="SEM-9"):
        Expectation("SEM-9", Status(400, "x"))
    with pytest.raises(TypeError, match="MatchResult"):
        Expectation("SEM-1", MatchResult("True", "x"))


def test_a_fate_given_as_text_is_the_enum_and_is_judged() -> None:
    refused = exchange(200, {"msg": "x"}, fate="tiny_image")
    assert refused.fate is FateName.TINY_IMAGE
    assert {f.rule for f in check_exchange(refused) if f.severity is Severity.FAIL} >= {"ERR-1"}


def test_the_recorder_judges_the_expectations_a_request_carries() -> None:
    recorder = Recorder()
    request = KitRequest("no face", expects=(Expectation("SEM-1", Status(400, "a wall shows no face")),))
    passed = recorder.add("t", request, exchange(400, {"msg": "no usable face found in image1"}))
    failed = recorder.add("t", request, exchange(200, {"msg": "x"}))
    assert [v.rule for v in passed.checks] == ["SEM-1"] and not passed.checks[0].findings
    (finding,) = failed.checks[0].findings
    assert (finding.rule, finding.field, finding.expected, finding.got) == ("SEM-1", "status", "400", "200")
    assert finding.message == "a wall shows no face: expected status 400, got 200"


def test_a_guard_decides_whether_a_check_applies() -> None:
    registry: Registry[int] = Registry()
    positive = Guard[int]("a positive number", lambda n: n > 0)

    @registry.check("EVEN-1", "a positive number is even", when=(positive,))
    def even(n: int, found: Findings) -> None:
        if n % 2:
            found.fail(f"expected an even number, got {n}", expected="even", got=str(n))

    (check,) = registry
    assert not check.judge(-3).applied
    assert check.judge(4).applied and not check.judge(4).findings
    assert check.judge(3).failures[0].got == "3"
    with pytest.raises(ValueError, match="twice"):
        registry.check("EVEN-1", "again")(even)


def test_an_edit_too_small_as_jpeg_is_stored_as_png() -> None:
    """A crop so small that its JPEG falls under the window's low edge is re-encoded as
    lossless PNG (deterministic: the random-seed kit runs reach this only by chance)."""
    from io import BytesIO

    from PIL import Image

    from contract_tests.images import WINDOW_LOW, Transform, decode_upright, encode, transform

    photo = (ROOT / "fixtures" / "images" / "astronaut_a.jpg").read_bytes()
    edit = Transform(crop=(0.4, 0.4, 0.45, 0.45), scale=0.1, quality=20)
    out = transform(photo, edit)
    pixels = decode_upright(out)
    as_jpeg = encode(pixels, "JPEG", edit.quality)
    assert len(as_jpeg) < WINDOW_LOW
    with Image.open(BytesIO(out)) as stored:
        assert stored.format == "PNG"
    assert pixels.size == (16, 16) and len(out) > len(as_jpeg)
