"""Sequences, runtime settings and journal queries through the app (Flask test client,
embedded state store): what a frontend test steers, and how bad input is refused."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30Validator

from facematch_contract import SPEC_PATH
from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.runtime import NO_OVERRIDES, RuntimeOverrides
from mock_server.sequences import Sequence, SequenceError, Step, StepKind, load_sequences_file
from mock_server.spec import Contract
from mock_server.state.embedded import EmbeddedStore

from .conftest import fixture_path

DOC = Contract(SPEC_PATH)
FACE = fixture_path("hopper_a.jpg").read_bytes()
OTHER = fixture_path("astronaut_a.jpg").read_bytes()


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    return create_app(Settings(journal_path=tmp_path / "journal.jsonl")).test_client()


def call(client: FlaskClient, token: str, unique_id: str | None = None, two: bool = False, **headers: str) -> Any:
    data: dict[str, Any] = {"image1": (_io(FACE), "a.jpg", "image/jpeg")}
    if two:
        data["image2"] = (_io(OTHER), "b.jpg", "image/jpeg")
    if unique_id is not None:
        data["unique_id"] = unique_id
    return client.post("/advanced_facematch", data=data, headers={"Authorization": f"Bearer {token}", **headers})


def _io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def schema(name: str) -> OAS30Validator:
    return OAS30Validator(DOC.deep_resolve(DOC.document["components"]["schemas"][name]))


def test_first_call_fake_then_real_per_unique_id(client: FlaskClient, token: str) -> None:
    defined = client.put("/__mock/sequences/fake-then-real", json={"steps": [{"example": "one_image_fake"}, "normal"]})
    assert defined.status_code == 200 and not list(schema("SequenceState").iter_errors(defined.get_json()))
    results = [call(client, token, "alice").get_json()["image1"]["result"] for _ in range(3)]
    assert results == ["fake", "real", "real"]  # after the last step: stay on it
    assert call(client, token, "bob").get_json()["image1"]["result"] == "fake"  # bob has his own position
    assert call(client, token).get_json()["image1"]["result"] == "real"  # no unique_id: no sequence
    listing = client.get("/__mock/sequences").get_json()
    assert listing["sequences"][0]["positions"] == {"alice": 3, "bob": 1}
    assert not list(schema("SequenceList").iter_errors(listing))


def test_fail_twice_with_503_then_succeed_by_session_header(client: FlaskClient, token: str) -> None:
    client.put(
        "/__mock/sequences/flaky",
        json={"key": {"header": "X-Session-ID"}, "steps": [{"fault": "503"}, {"fault": "503"}, "normal"]},
    )
    answers = [call(client, token, **{"X-Session-ID": "s1"}) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [503, 503, 200]
    assert answers[0].headers["Retry-After"] and answers[0].get_json()["msg"]
    assert call(client, token).status_code == 200  # without the header: not in the sequence


def test_after_last_repeat_and_normal(client: FlaskClient, token: str) -> None:
    client.put(
        "/__mock/sequences/cycle",
        json={"steps": [{"example": "one_image_fake"}, {"example": "no_face"}], "after_last": "repeat"},
    )
    assert [call(client, token, "k").status_code for _ in range(4)] == [200, 400, 200, 400]
    client.put("/__mock/sequences/cycle", json={"steps": [{"example": "no_face"}], "after_last": "normal"})
    # a changed definition sends its keys back to the first step
    assert [call(client, token, "k").status_code for _ in range(2)] == [400, 200]


def test_own_request_wins_and_does_not_use_a_step(client: FlaskClient, token: str) -> None:
    client.put("/__mock/sequences/s", json={"steps": [{"example": "one_image_fake"}, {"example": "no_face"}]})
    own = call(client, token, "k", Prefer="example=faces_mismatch")
    assert own.get_json()["overall_result"] == "False" and own.get_json()["image2"]["input_provided"] == "True"
    assert call(client, token, "k").get_json()["image1"]["result"] == "fake"  # still the first step


def test_reset_one_key_one_sequence_and_all(client: FlaskClient, token: str) -> None:
    for name in ("a", "b"):
        client.put(f"/__mock/sequences/{name}", json={"key": {"header": f"X-{name}"}, "steps": ["normal"]})
    for key in ("k1", "k2"):
        call(client, token, **{"X-a": key, "X-b": key})  # the first sequence that matches takes the call
    assert client.get("/__mock/sequences/a").get_json()["positions"] == {"k1": 1, "k2": 1}
    assert client.delete("/__mock/positions", query_string={"sequence": "a", "key": "k1"}).get_json() == {"reset": 1}
    assert client.get("/__mock/sequences/a").get_json()["positions"] == {"k2": 1}
    call(client, token, **{"X-b": "k3"})
    assert client.delete("/__mock/positions").get_json() == {"reset": 2}
    assert client.delete("/__mock/positions", query_string={"sequence": "nope"}).status_code == 404
    assert client.delete("/__mock/sequences/a").status_code == 204
    assert client.get("/__mock/sequences/a").get_json() == {"msg": "no sequence a is defined"}
    assert client.delete("/__mock/sequences").status_code == 204
    assert client.get("/__mock/sequences").get_json() == {"sequences": []}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"steps": []}, "steps"),
        ({"steps": [{"example": "nope"}]}, "nope"),
        ({"steps": [{"fault": "418"}]}, "418"),
        ({"steps": ["normal"], "after_last": "later"}, "later"),
        ({"steps": ["normal"], "key": {"header": "bad header"}}, "header"),
        ({"steps": ["normal"] * 101}, "steps"),
        ({"steps": ["normal"], "name": "other"}, "name"),
        ([1, 2], "body"),
    ],
)
def test_bad_definitions_get_a_422_in_the_contract_shape(client: FlaskClient, body: Any, needle: str) -> None:
    answer = client.put("/__mock/sequences/s", json=body)
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["detail"]["error"] == "invalid_body" and needle in answer.get_json()["message"]
    assert not list(schema("ValidationError").iter_errors(answer.get_json()))


def test_bodies_are_bounded_and_must_be_json(client: FlaskClient) -> None:
    huge = b'{"steps": ["normal"], "x": "' + b"a" * 70_000 + b'"}'
    assert "KiB" in client.put("/__mock/sequences/s", data=huge, content_type="application/json").get_json()["message"]
    assert client.put("/__mock/settings", data=b"{", content_type="application/json").status_code == 422


def test_definitions_are_bounded(client: FlaskClient) -> None:
    for number in range(64):
        assert client.put(f"/__mock/sequences/s{number}", json={"steps": ["normal"]}).status_code == 200
    refused = client.put("/__mock/sequences/one-more", json={"steps": ["normal"]})
    assert refused.status_code == 422 and "64" in refused.get_json()["message"]


def test_default_scenario_latency_and_faults_at_run_time(client: FlaskClient, token: str) -> None:
    put = client.put("/__mock/settings", json={"default_scenario": "one_image_fake"})
    assert put.get_json() == {"default_scenario": "one_image_fake", "latency": None, "faults": None}
    assert call(client, token).get_json()["image1"]["result"] == "fake"
    assert call(client, token, Prefer="example=no_face").status_code == 400  # the request's own choice wins
    client.patch("/__mock/settings", json={"faults": {"rate": 1, "faults": ["429"]}})
    assert call(client, token).status_code == 429
    assert client.get("/__mock/settings").get_json()["default_scenario"] == "one_image_fake"  # PATCH kept it
    client.put("/__mock/sequences/s", json={"steps": ["normal"]})
    assert call(client, token, "k").status_code == 200  # a normal step: the engine, whatever the settings say
    assert client.delete("/__mock/settings").status_code == 204
    assert client.get("/__mock/settings").get_json() == {"default_scenario": None, "latency": None, "faults": None}


@pytest.mark.parametrize(
    "body",
    [
        {"default_scenario": "nope"},
        {"latency": "soon"},
        {"latency": 250},
        {"faults": {"rate": 2, "faults": ["503"]}},
        {"faults": {"rate": 0.5, "faults": ["teapot"]}},
        {"faults": {"rate": 0.5, "faults": []}},
        {"colour": "blue"},
    ],
)
def test_bad_settings_get_a_422(client: FlaskClient, body: dict[str, Any]) -> None:
    answer = client.put("/__mock/settings", json=body)
    assert answer.status_code == 422 and answer.get_json()["detail"]["error"] == "invalid_body", answer.get_json()
    assert client.get("/__mock/settings").get_json()["default_scenario"] is None


def test_journal_queries_and_count(client: FlaskClient, token: str) -> None:
    call(client, token, "u1")
    call(client, token, "u2", two=True, **{"X-Correlation-ID": "corr-1"})
    call(client, token, "u3", Prefer="example=no_face")
    client.post("/advanced_facematch", data={"unique_id": "u4"})  # 401
    count = client.get("/__mock/requests/count", query_string={"path": "/advanced_facematch", "image2": "true"})
    assert count.get_json() == {"count": 1} and not list(schema("JournalCount").iter_errors(count.get_json()))
    assert client.get("/__mock/requests/count").get_json() == {"count": 4}
    assert client.get("/__mock/requests/count", query_string={"image2": "false"}).get_json() == {"count": 3}
    assert client.get("/__mock/requests/count", query_string={"status": "401"}).get_json() == {"count": 1}
    assert client.get("/__mock/requests/count", query_string={"fixture": "hopper_a.jpg"}).get_json() == {"count": 2}
    found = client.get("/__mock/requests", query_string={"correlation_id": "corr-1"}).get_json()
    assert [entry["unique_id"] for entry in found["requests"]] == ["u2"] and found["dropped"] == 0
    assert not list(schema("Journal").iter_errors(found))
    by_id = client.get("/__mock/requests", query_string={"unique_id": "u3", "limit": "5"}).get_json()["requests"]
    assert by_id[0]["example"] == "no_face" and by_id[0]["status"] == 400


@pytest.mark.parametrize(
    "query", [{"colour": "x"}, {"status": "abc"}, {"status": "99"}, {"image2": "yes"}, {"unique_id": "u" * 129}]
)
def test_bad_journal_queries_get_a_422(client: FlaskClient, query: dict[str, str]) -> None:
    for path in ("/__mock/requests", "/__mock/requests/count"):
        answer = client.get(path, query_string=query)
        assert answer.status_code == 422 and answer.get_json()["detail"]["error"] == "invalid_query"


def test_admin_routes_keep_the_admin_guard(tmp_path: Path) -> None:
    guarded = create_app(Settings(admin_token="s3cret", journal_path=tmp_path / "j.jsonl")).test_client()
    for method, path in (
        ("get", "/__mock/settings"),
        ("put", "/__mock/sequences/s"),
        ("delete", "/__mock/positions"),
        ("get", "/__mock/requests/count"),
    ):
        assert getattr(guarded, method)(path).status_code == 401
        assert getattr(guarded, method)(path, headers={"Host": "evil.test"}).status_code == 403
    assert guarded.get("/__mock/settings", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    spec = DOC.document["paths"]
    for path in (
        "/__mock/settings",
        "/__mock/sequences",
        "/__mock/sequences/{name}",
        "/__mock/positions",
        "/__mock/requests/count",
    ):
        for method, operation in spec[path].items():
            if method != "parameters":
                assert operation["security"] == [{}, {"adminToken": []}] and operation["tags"] == ["mock"]


def test_the_declared_example_names_are_the_contracts() -> None:
    """The example enums of RuntimeSettings and SequenceStep repeat the operation's example
    names: they must stay the same set."""
    schemas = DOC.document["components"]["schemas"]
    scenario = schemas["RuntimeSettings"]["properties"]["default_scenario"]["enum"]
    step = schemas["SequenceStep"]["oneOf"][1]["properties"]["example"]["enum"]
    assert set(scenario) - {None} == set(step) == set(DOC.examples)


def test_sequences_file(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "sequences:\n  - name: flaky\n    key: {header: X-Session-ID}\n"
        "    steps: [{fault: '503'}, {fault: '503'}, normal]\n"
        "  - name: fake-then-real\n    steps: [{example: one_image_fake}, normal]\n"
    )
    loaded = load_sequences_file(good, DOC.examples)
    assert [sequence.name for sequence in loaded] == ["flaky", "fake-then-real"]
    assert loaded[0].header == "X-Session-ID" and loaded[1].header is None
    for text, needle in (
        ("sequences: [", "YAML"),
        ("steps: []", "one key"),
        ("sequences:\n  - name: a\n    steps: [{example: nope}]", "nope"),
        ("sequences:\n  - {name: a, steps: [normal]}\n  - {name: a, steps: [normal]}", "more than once"),
    ):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(SequenceError, match=needle):
            load_sequences_file(bad, DOC.examples)


def test_a_bad_sequences_file_or_state_url_stops_serve_with_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    from .live import ROOT, free_port

    bad = tmp_path / "flows.yaml"
    bad.write_text("sequences:\n  - name: a\n    steps: [{fault: teapot}]\n")
    cases = (
        (["--sequences", str(bad)], "teapot"),
        (["--sequences", str(tmp_path / "none.yaml")], "none.yaml"),
        (["--state", "memcached://x"], "--state"),
    )
    for args, needle in cases:
        done = subprocess.run(
            [sys.executable, "-m", "facematch", "serve", "--port", str(free_port()), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and needle in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_embedded_workers_see_each_others_changes_on_their_next_call(tmp_path: Path) -> None:
    """Two stores on one folder stand for two workers; the generation counter is shared
    memory, so a worker with nothing new to read makes no system call at all."""
    examples = list(DOC.examples)
    one, two = EmbeddedStore(tmp_path, None, examples), EmbeddedStore(tmp_path, None, examples)
    assert two.snapshot().overrides is NO_OVERRIDES
    for number in range(10):
        scenario = "no_face" if number % 2 == 0 else None
        (one if number % 3 else two).set_overrides(RuntimeOverrides(default_scenario=scenario))
        assert one.snapshot().overrides.default_scenario == two.snapshot().overrides.default_scenario == scenario
    sequence = Sequence("s", (Step(StepKind.NORMAL),))
    one.define([sequence])
    assert two.snapshot().sequences == (sequence,)
    with patch("os.stat", side_effect=AssertionError("a stat call with nothing changed")):
        assert two.snapshot().sequences == (sequence,)
    context = multiprocessing.get_context("fork")
    child = context.Process(target=one.set_overrides, args=(RuntimeOverrides(default_scenario="no_face"),))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert two.snapshot().overrides.default_scenario == "no_face"  # written by another process
