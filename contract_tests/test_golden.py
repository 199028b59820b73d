"""Profile `golden`: the mock's exact canned answers (meaningful only against the mock).

Every fixture photo gets its manifest outcome (GOLD-1), alone and paired; every named
example chosen with ``Prefer: example=NAME`` comes back exactly as written in openapi.yaml
(GOLD-2); the mock's own strict choices, which the other profiles never judge, hold (GOLD-3).
"""

from __future__ import annotations

from itertools import combinations

import pytest

from . import SPEC_PATH, fixtures, strategies
from .client import Client
from .exchange import KitRequest, Recorder, Upload, explain
from .profiles import (
    KitConfig,
    NamedExample,
    expect_status,
    golden_example_check,
    golden_fixture_check,
    includes,
    named_examples,
)

TEST = "golden"


@pytest.fixture(scope="module", autouse=True)
def golden_profile(kit: KitConfig) -> None:
    if not includes(kit.profile, "golden"):
        pytest.skip("the golden checks run with --profile golden (against the mock)")


def _photo(name: str, fixture: fixtures.Fixture) -> Upload:
    return strategies.upload(name, fixture.data, fixture.format, f"fixture {fixture.name}")


def test_fixtures_get_their_canned_outcome(kit: KitConfig, client: Client, recorder: Recorder) -> None:
    every = fixtures.load(kit.fixtures_dir)
    for fixture in every:
        record = client.send(KitRequest(f"golden {fixture.name}", (_photo("image1", fixture),), fate="usable"
                                        if fixture.size >= 700 else "tiny_image" if fixture.size else "empty_image"),
                             TEST)
        record.checks.append(golden_fixture_check(record.exchange, fixture, None))
    faces = [f for f in every if f.canned.liveness]
    for a, b in combinations(faces, 2):
        record = client.send(KitRequest(f"golden {a.name}+{b.name}", (_photo("image1", a), _photo("image2", b))),
                             TEST)
        record.checks.append(golden_fixture_check(record.exchange, a, b))
    failing = [r for r in recorder.for_test(TEST) if r.failures]
    assert not failing, explain(failing)


@pytest.mark.parametrize("example", named_examples(SPEC_PATH), ids=lambda e: e.name)
def test_named_example(example: NamedExample, kit: KitConfig, client: Client, recorder: Recorder) -> None:
    photo = next(iter(fixtures.faces(fixtures.load(kit.fixtures_dir))))
    two = isinstance(example.value, dict) and (example.value.get("image2") or {}).get("input_provided") == "True"
    uploads = (_photo("image1", photo),) + ((_photo("image2", photo),) if two else ())
    # The mock answers with the example whatever the photos are: no fate is fixed by the photos.
    request = KitRequest(f"example {example.name}", uploads, headers=(("Prefer", f"example={example.name}"),),
                         correlation_id=f"example-{example.name}", fate="")
    record = client.send(request, f"{TEST}-example")
    record.checks.append(golden_example_check(record.exchange, example))
    assert not record.failures, explain([record])


def strict_choice_requests(photo: fixtures.Fixture) -> list[KitRequest]:
    """Requests the mock refuses by its own choice (the upstream leaves each open): 422."""
    image1 = _photo("image1", photo)
    return [
        KitRequest("only image2", (_photo("image2", photo),)),
        KitRequest("JSON body", raw_body=b'{"image1": "aGVsbG8="}', raw_content_type="application/json"),
        KitRequest("an unknown form field", (image1,), fields=(("colour", "blue"),)),
        KitRequest("image1 twice", (image1, image1)),
        KitRequest("unique_id of 129 characters", (image1,), fields=(("unique_id", "u" * 129),)),
        KitRequest("a correlation id with a space", (image1,), correlation_id="has space"),
        KitRequest("a correlation id of 129 characters", (image1,), correlation_id="c" * 129),
    ]


def test_the_mocks_strict_choices(kit: KitConfig, client: Client, recorder: Recorder) -> None:
    photo = next(iter(fixtures.faces(fixtures.load(kit.fixtures_dir))))
    for request in strict_choice_requests(photo):
        # fate "": the contract fixes nothing here; only the mock's choice (GOLD-3) is judged.
        sent = KitRequest(request.label, request.uploads, request.fields, correlation_id=request.correlation_id,
                          fate="", raw_body=request.raw_body, raw_content_type=request.raw_content_type)
        record = client.send(sent, f"{TEST}-strict")
        record.checks.append(expect_status("GOLD-3", record.exchange, 422, f"the mock refuses {request.label}"))
    failing = [r for r in recorder.for_test(f"{TEST}-strict") if r.failures]
    assert not failing, explain(failing)
