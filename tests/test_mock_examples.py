"""Every named example of the contract is returned verbatim on request (Prism's convention)."""

from __future__ import annotations

import json

import pytest
import yaml

from facematch_contract import SPEC_PATH

from .client import image_files, post
from .conftest import fixture_path

SPEC = yaml.safe_load(SPEC_PATH.read_text())
OPERATION = SPEC["paths"]["/advanced_facematch"]["post"]
EXAMPLES = [
    (name, int(status), example["value"])
    for status, response in OPERATION["responses"].items()
    for name, example in response["content"]["application/json"].get("examples", {}).items()
]
REQUIRED_SCENARIOS = {
    "two_image_success",
    "one_image_success",
    "image1_fake",
    "image2_fake",
    "both_fake",
    "faces_mismatch",
    "one_image_fake",
    "empty_image",
    "unsupported_format",
    "size_out_of_range",
    "no_face",
    "invalid_token",
    "missing_image1",
}


def test_every_required_scenario_has_an_example() -> None:
    assert {name for name, _, _ in EXAMPLES} >= REQUIRED_SCENARIOS


def test_upstream_figures_are_kept() -> None:
    value = {name: value for name, _, value in EXAMPLES}["two_image_success"]
    assert (value["image1"]["confidence"], value["image2"]["confidence"]) == (95, 93.5)
    assert value["image1_image2_facematch"]["confidence"] == 87.2
    assert value["overall_confidence"] == 91.82


@pytest.mark.parametrize(("name", "status", "value"), EXAMPLES, ids=[name for name, _, _ in EXAMPLES])
def test_prefer_header_returns_the_example(
    app_url: str, auth: dict[str, str], name: str, status: int, value: dict
) -> None:
    image = fixture_path("astronaut_a.jpg").read_bytes()
    response = post(app_url, image_files(image), headers={**auth, "Prefer": f"example={name}"})
    assert response.status_code == status
    assert response.json() == value


@pytest.mark.parametrize(("name", "status", "value"), EXAMPLES[:3] + EXAMPLES[-3:], ids=lambda v: str(v)[:20])
def test_query_parameter_returns_the_example(
    app_url: str, auth: dict[str, str], name: str, status: int, value: dict
) -> None:
    response = post(app_url, image_files(b"placeholder"), headers=auth, params={"__example": name})
    assert (response.status_code, response.json()) == (status, value)


def test_prefer_code_returns_the_first_example_of_that_status(app_url: str, auth: dict[str, str]) -> None:
    first_401 = next(value for _, status, value in EXAMPLES if status == 401)
    response = post(app_url, image_files(b"x"), headers={**auth, "Prefer": "code=401"})
    assert (response.status_code, response.json()) == (401, first_401)


@pytest.mark.parametrize("code", ["\u00b2", "99999", "abc"])
def test_a_status_code_that_is_not_one_is_a_422(code: str, app_url: str, auth: dict[str, str]) -> None:
    response = post(app_url, image_files(b"x"), headers={**auth, "Prefer": f"code={code}"})
    assert response.status_code == 422 and response.json()["detail"]["error"] == "unknown_example"


def test_unknown_example_is_a_422_listing_the_names(app_url: str, auth: dict[str, str]) -> None:
    response = post(app_url, image_files(b"x"), headers={**auth, "Prefer": "example=nope"})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"]["error"] == "unknown_example"
    assert set(body["detail"]["available"]) == {name for name, _, _ in EXAMPLES}
    assert "nope" in body["message"]


def test_scenarios_still_need_a_token(app_url: str) -> None:
    response = post(app_url, image_files(b"x"), headers={"Prefer": "example=two_image_success"})
    assert response.status_code == 401


def test_scenarios_still_need_the_form(app_url: str, auth: dict[str, str]) -> None:
    response = post(app_url, image_files(None, b"x"), headers={**auth, "Prefer": "example=two_image_success"})
    assert response.status_code == 422


def test_example_bytes_are_stable(app_url: str, auth: dict[str, str]) -> None:
    bodies = {
        post(app_url, image_files(b"x"), headers={**auth, "Prefer": "example=two_image_success"}).content
        for _ in range(3)
    }
    assert len(bodies) == 1
    assert json.loads(bodies.pop())["overall_confidence"] == 91.82
