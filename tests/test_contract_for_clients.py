"""The contract as generated clients read it (issue 14): the 422 detail typed with every key
the mock fills, the mock-only Prefer/__example declared and kept out of the kit's
schemathesis run, public mock routes marked public, and the journal's limit enforced."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30Validator

from contract_tests import st_hooks
from facematch_contract import SPEC_PATH
from facematch_contract.document import Document
from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.errors import ERRORS, ApiError, ErrorKind
from mock_server.scenarios import QUERY_PARAMETER

from .live import start_server

DOC = Document(SPEC_PATH)


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    return create_app(Settings(journal_path=tmp_path / "journal.jsonl")).test_client()


def schema(name: str) -> Any:
    return DOC.deep_resolve(DOC.document["components"]["schemas"][name])


def mock_extension_parameters() -> dict[str, dict[str, Any]]:
    params = [DOC.resolve(p) for p in DOC.operation["parameters"]]
    return {p["name"]: p for p in params if p.get(st_hooks.MOCK_EXTENSION) is True}


def test_every_422_the_mock_gives_fits_the_typed_detail() -> None:
    detail = schema("ValidationDetail")
    validator = OAS30Validator(schema("ValidationError"))
    kinds = [kind for kind, spec in ERRORS.items() if spec.status == 422]
    assert len(kinds) >= 9
    for kind in kinds:
        params = {"field": "image1", "reason": "required", "name": "x", "limit": 16, "choices": "a, b"}
        extra = {"available": ["a", "b"]} if kind is ErrorKind.UNKNOWN_EXAMPLE else {}
        body = ApiError(kind, params, extra=extra).body()
        assert set(body["detail"]) <= set(detail["properties"]), kind
        assert not list(validator.iter_errors(body)), kind
        assert f"`{kind.value}`" in detail["properties"]["error"]["description"], f"{kind.value} is not documented"


def test_prefer_and_example_are_declared_as_mock_extensions() -> None:
    declared = mock_extension_parameters()
    assert set(declared) == {"Prefer", QUERY_PARAMETER}
    assert declared["Prefer"]["in"] == "header" and declared[QUERY_PARAMETER]["in"] == "query"
    for param in declared.values():
        assert "Mock extension" in param["description"] and param["required"] is False


def test_the_kits_schemathesis_run_never_generates_mock_extensions() -> None:
    loaded = schemathesis.openapi.from_path(SPEC_PATH).include(tag="facematch")
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert [op.path for op in operations] == ["/advanced_facematch"]
    names = {param.name for param in operations[0].iter_parameters()}
    assert "X-Correlation-ID" in names
    assert not names & set(mock_extension_parameters()), names


@pytest.mark.parametrize(("path", "method", "status"), [("/healthz", "get", 200), ("/openapi.yaml", "get", 200)])
def test_public_mock_routes_are_declared_public_and_are(
    client: FlaskClient, path: str, method: str, status: int
) -> None:
    assert DOC.document["paths"][path][method]["security"] == []
    assert getattr(client, method)(path).status_code == status


@pytest.mark.parametrize(("method", "status"), [("get", 200), ("delete", 204)])
def test_admin_routes_declare_their_optional_token(client: FlaskClient, method: str, status: int) -> None:
    """No token needed unless the mock runs with --admin-token: both declared, both true."""
    assert DOC.document["paths"]["/__mock/requests"][method]["security"] == [{}, {"adminToken": []}]
    assert getattr(client, method)("/__mock/requests").status_code == status


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1001", "", "1.5", " 7", "99999999999999999999"])
def test_journal_limit_outside_the_declared_range_is_a_422(client: FlaskClient, limit: str) -> None:
    response = client.get("/__mock/requests", query_string={"limit": limit})
    assert response.status_code == 422
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["detail"] == {"error": "invalid_query", "field": "limit"}
    assert not list(OAS30Validator(schema("ValidationError")).iter_errors(body))


def test_journal_limit_inside_the_range_is_honoured(client: FlaskClient) -> None:
    for unique in ("a", "b", "c"):
        client.post("/advanced_facematch", data={"unique_id": unique})  # 401s are journalled too
    declared = DOC.resolve(DOC.document["paths"]["/__mock/requests"]["get"]["parameters"][0])["schema"]
    assert len(client.get("/__mock/requests", query_string={"limit": "2"}).get_json()["requests"]) == 2
    for limit in (str(declared["minimum"]), str(declared["maximum"])):
        assert client.get("/__mock/requests", query_string={"limit": limit}).status_code == 200
    assert len(client.get("/__mock/requests").get_json()["requests"]) == 3


@pytest.mark.server
def test_plain_schemathesis_finds_nothing_on_the_mock_routes() -> None:
    """Plain `st run` (no kit hooks) on the `mock` tag: the contract download and the journal's
    limit are described as served (no ST108 on /openapi.yaml, no ST201 on limit).

    On a mock of its own: the run PUTs generated settings (faults among them) and sequences,
    which would steer every later test of the session's shared mock."""
    st = Path(sys.executable).parent / "st"
    with start_server("--strict") as url:
        command = [str(st), "run", str(SPEC_PATH), "-u", url, "--include-tag", "mock", "-n", "20", "--seed", "14"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    assert "passed" in output and "ST1" not in output and "ST2" not in output, output[-5000:]
