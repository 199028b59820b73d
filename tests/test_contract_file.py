"""openapi.yaml itself: a valid OpenAPI document whose every example satisfies its schema."""

from __future__ import annotations

import subprocess
import sys

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
from werkzeug.datastructures import Headers

from facematch_contract import SPEC_PATH
from mock_server.spec import Contract
from mock_server.strict import SpecRequest, SpecResponse, spec_problems

from .live import ROOT

CONTRACT = Contract(SPEC_PATH)


def test_the_contract_is_valid_openapi() -> None:
    document, _ = read_from_filename(str(SPEC_PATH))
    validate(document)


@pytest.mark.parametrize("name", sorted(CONTRACT.examples))
def test_every_example_satisfies_the_schema(name: str) -> None:
    example = CONTRACT.examples[name]
    for prefix in CONTRACT.server_prefixes:
        request = SpecRequest(path=prefix + "/advanced_facematch", method="post", headers=Headers())
        response = SpecResponse(example.body, example.status, "application/json", Headers({"X-Correlation-ID": "x"}))
        assert spec_problems(CONTRACT, request, response) == []


def test_a_broken_example_would_be_caught() -> None:
    """The check above can fail: a body with an extra key does not satisfy the schema."""
    body = CONTRACT.examples["two_image_success"].body.replace(b'"overall_result"', b'"extra":1,"overall_result"')
    request = SpecRequest(path="/advanced_facematch", method="post", headers=Headers())
    response = SpecResponse(body, 200, "application/json", Headers({"X-Correlation-ID": "x"}))
    assert spec_problems(CONTRACT, request, response)


def test_the_form_contract_is_compiled_from_the_spec() -> None:
    form = CONTRACT.form
    assert form.required == {"image1"}
    assert form.binary_fields == {"image1", "image2"}
    assert set(form.text_fields) == {"unique_id"}
    assert not form.allow_unknown_fields
    assert CONTRACT.server_prefixes == ("", "/sumi/v1")


def test_fixtures_are_reproducible_from_the_generator() -> None:
    result = subprocess.run(
        [sys.executable, "fixtures/make_fixtures.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(CONTRACT.examples))
def test_every_example_satisfies_the_rules(name: str) -> None:
    from facematch_contract.rules import Exchange, Part, check_exchange

    example = CONTRACT.examples[name]
    two = b'"image2":{"input_provided":"True"' in example.body
    exchange = Exchange(
        method="POST",
        url="http://127.0.0.1:8080/advanced_facematch",
        request_headers={"X-Correlation-ID": "c"},
        parts=(Part("image1", "a.jpg", 5000),) + ((Part("image2", "b.jpg", 5000),) if two else ()),
        sent_image2=two,
        sent_correlation_id="c",
        status=example.status,
        response_headers={"Content-Type": "application/json", "X-Correlation-ID": "c"},
        body=example.body,
    )
    assert check_exchange(exchange) == []
