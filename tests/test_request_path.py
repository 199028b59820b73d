"""The operation's request path through the app alone (Flask, no socket): the one error path
(every refusal raised, rendered by the app's handlers, then journaled, drained and delayed by
the operation's after-request hook from the request's typed state), the Prefer header read
once per call, strict mode knowing the operation, and the app's typed context accessor.

Calls go in as the server layer sends them (its marker in the environ), so a delay is handed
back in the environ instead of slept, and the body is a stream whose reading can be seen."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import FileStorage, Headers
from werkzeug.test import EnvironBuilder, encode_multipart

from facematch_contract.cassette import CassetteEntry, write_entry
from mock_server.app import create_app, mock_context
from mock_server.config import Settings
from mock_server.faults import DELAY_KEY, FRONT_KEY, parse_delay
from mock_server.scenarios import NO_PREFERENCES, Preferences, parse_prefer

from .conftest import fixture_path

FACE = fixture_path("astronaut_a.jpg").read_bytes()
OPERATION = "/advanced_facematch"


@dataclass
class Served:
    status: int
    headers: Headers
    body: bytes
    environ: dict[str, Any]
    #: Bytes of the request body the app read (its drain included).
    read: int


def serve(
    app: Flask,
    fields: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    path: str = OPERATION,
    declared: bool = True,
) -> Served:
    """One call as the server layer makes it; ``declared=False``: without Content-Length
    (as a chunked body arrives)."""
    boundary, body = encode_multipart(fields if fields is not None else {"image1": photo(FACE)})
    stream = io.BytesIO(body)
    builder = EnvironBuilder(
        path=path,
        method=method,
        headers=headers or {},
        input_stream=stream,
        content_type=f"multipart/form-data; boundary={boundary}",
        content_length=len(body),
    )
    environ = builder.get_environ()
    environ[FRONT_KEY] = True
    if not declared:
        del environ["CONTENT_LENGTH"]
        environ["wsgi.input_terminated"] = True
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append((status, response_headers))
        return lambda data: None

    answer = b"".join(app(environ, start_response))
    status, response_headers = started[0]
    return Served(int(status.split()[0]), Headers(response_headers), answer, environ, stream.tell())


def photo(data: bytes, name: str = "image1.jpg") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type="image/jpeg")


def journal(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.jsonl"


# -- the one error path ------------------------------------------------------------------------


def test_a_refusal_before_the_body_is_journaled_drained_and_delayed(journal_path: Path) -> None:
    app = create_app(Settings(journal_path=journal_path, latency=parse_delay("250")))
    served = serve(app, headers={"X-Correlation-ID": "refused-1"})  # no token
    assert served.status == 401
    assert json.loads(served.body) == {"msg": "missing bearer token: send Authorization: Bearer <token>"}
    assert served.headers["X-Correlation-ID"] == "refused-1"
    assert "Connection" not in served.headers
    assert served.read == int(served.environ["CONTENT_LENGTH"])  # drained, so the client reads the 401
    assert served.environ[DELAY_KEY] == 0.25  # the configured latency delays refusals too
    (entry,) = journal(journal_path)
    assert (entry["status"], entry["correlation_id"], entry["parts"], entry["fault"]) == (401, "refused-1", [], None)


def test_a_refusal_after_the_form_is_journaled_with_the_form(journal_path: Path, auth: dict[str, str]) -> None:
    app = create_app(Settings(journal_path=journal_path))
    fields = {"image1": photo(FACE), "unique_id": "user-7"}
    served = serve(app, fields, {**auth, "Prefer": "example=no_such_example", "X-Correlation-ID": "refused-2"})
    assert served.status == 422
    assert json.loads(served.body)["detail"]["error"] == "unknown_example"
    assert served.headers["X-Correlation-ID"] == "refused-2"
    (entry,) = journal(journal_path)
    assert (entry["status"], entry["correlation_id"], entry["unique_id"]) == (422, "refused-2", "user-7")
    assert [part["name"] for part in entry["parts"]] == ["image1", "unique_id"]


def test_a_body_over_the_limit_is_refused_unread_and_its_connection_closed(
    journal_path: Path, auth: dict[str, str]
) -> None:
    app = create_app(Settings(journal_path=journal_path, max_image_bytes=20_000))
    limit = mock_context(app).settings.max_body_bytes
    served = serve(app, {"image1": photo(b"\xff" * (limit + 1))}, auth)
    assert served.status == 400
    assert json.loads(served.body)["msg"].startswith("request body is too large")
    assert served.headers["Connection"] == "close"
    assert served.read == 0
    assert [entry["status"] for entry in journal(journal_path)] == [400]


def test_a_body_found_over_the_limit_while_read_is_refused_and_its_connection_closed(
    journal_path: Path, auth: dict[str, str]
) -> None:
    app = create_app(Settings(journal_path=journal_path, max_image_bytes=20_000))
    limit = mock_context(app).settings.max_body_bytes
    served = serve(app, {"image1": photo(b"\xff" * (4 * limit))}, auth, declared=False)
    assert served.status == 400
    assert json.loads(served.body)["msg"].startswith("request body is too large")
    assert served.headers["Connection"] == "close"
    assert served.read < 2 * limit  # read up to the limit, never drained
    assert [entry["status"] for entry in journal(journal_path)] == [400]


def test_an_http_fault_is_answered_unread_drained_and_journaled(journal_path: Path, auth: dict[str, str]) -> None:
    app = create_app(Settings(journal_path=journal_path))
    served = serve(app, headers={**auth, "Prefer": "fault=503"})
    assert served.status == 503
    assert served.read == int(served.environ["CONTENT_LENGTH"])
    assert [(entry["status"], entry["fault"]) for entry in journal(journal_path)] == [(503, "503")]


def test_answers_outside_the_operation_are_not_journaled(journal_path: Path) -> None:
    app = create_app(Settings(journal_path=journal_path))
    missing = serve(app, path="/no/such/path", method="GET", headers={"X-Correlation-ID": "lost-1"})
    assert missing.status == 404 and missing.headers["X-Correlation-ID"] == "lost-1"
    assert json.loads(missing.body) == {"msg": "no such resource: /no/such/path"}
    options = serve(app, method="OPTIONS")  # Flask answers it; the operation's view never runs
    assert options.status in (200, 204)
    wrong = serve(app, method="GET")
    assert wrong.status == 405 and wrong.headers["Allow"]
    assert journal(journal_path) == []


# -- Prefer, read once per call ----------------------------------------------------------------


def test_prefer_is_parsed_into_one_typed_value() -> None:
    assert parse_prefer(None) is NO_PREFERENCES
    assert parse_prefer("respond-async, wait=5") is NO_PREFERENCES  # nothing the mock reads
    assert parse_prefer('Example="both_fake"; Delay=150, fault=503, FAULT=reset') == Preferences(
        example="both_fake", fault="reset", delay="150"
    )
    assert parse_prefer("code=401, fault-ms=20") == Preferences(code="401", fault_ms="20")


def test_one_prefer_header_chooses_the_example_and_the_delay(journal_path: Path, auth: dict[str, str]) -> None:
    app = create_app(Settings(journal_path=journal_path))
    served = serve(app, headers={**auth, "Prefer": "Example=both_fake; Delay=150"})
    assert served.status == 200
    assert json.loads(served.body)["overall_result"] == "False"
    assert served.environ[DELAY_KEY] == 0.15
    assert [entry["example"] for entry in journal(journal_path)] == ["both_fake"]
    refused = serve(app, headers={**auth, "Prefer": "code=401, delay=soon"})
    assert refused.status == 422  # the steering half of the same header is checked first
    assert json.loads(refused.body)["detail"]["error"] == "invalid_delay"


# -- strict mode knows the operation ------------------------------------------------------------


def test_strict_mode_judges_the_operations_answers_by_the_rules(tmp_path: Path, auth: dict[str, str]) -> None:
    """A recorded answer that the schema accepts but the rules do not (OVR-2: a "False"
    overall result with a non-zero confidence) is named in X-Contract-Violation."""
    body = {
        "image1": {"input_provided": "True", "result": "fake", "confidence": 0, "prediction_confidence": 40},
        "image2": {"input_provided": "False", "result": "N/A", "confidence": None, "prediction_confidence": None},
        "image1_image2_facematch": {"performed": "False", "result": "N/A", "confidence": None},
        "overall_result": "False",
        "overall_confidence": 50,
    }
    entry = CassetteEntry(
        image1_sha256=hashlib.sha256(FACE).hexdigest(),
        image2_sha256=None,
        method="POST",
        path=OPERATION,
        parts=(),
        status=200,
        headers=(("Content-Type", "application/json"),),
        body=json.dumps(body).encode(),
    )
    write_entry(tmp_path / "cassette", entry)
    app = create_app(Settings(strict=True, replay_dir=tmp_path / "cassette"))
    served = serve(app, headers=auth)
    assert served.status == 200
    assert "OVR-2" in served.headers["X-Contract-Violation"].split(",")
    example = serve(app, headers={**auth, "Prefer": "example=both_fake"})  # examples: the schema only
    assert "X-Contract-Violation" not in example.headers


# -- the app's context -------------------------------------------------------------------------


def test_the_context_is_reached_through_a_typed_accessor() -> None:
    settings = Settings(max_image_bytes=30_000)
    app = create_app(settings)
    assert mock_context(app).settings is settings
    assert "MOCK_CONTEXT" not in app.config
