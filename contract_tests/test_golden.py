"""Profile `golden`: the mock's exact canned answers (meaningful only against the mock).

Every fixture photo gets its manifest outcome (GOLD-1), alone and paired; every named
example chosen with ``Prefer: example=NAME`` comes back exactly as written in openapi.yaml
(GOLD-2); the mock's own strict choices, which the other profiles never judge, hold (GOLD-3).
Each request carries its expectation (:mod:`.expectations`); the recorder judges it.
"""

from __future__ import annotations

import dataclasses
from itertools import combinations

import pytest

from facematch_contract.exchange import size_fate

from . import SPEC_PATH, fixtures
from .client import Client
from .expectations import CannedOutcome, ExampleBody, Expectation, NamedExample, Status, named_examples
from .kit_request import KitRequest
from .profiles import KitConfig, Profile, includes
from .recorder import Recorder, explain
from .strategies import fixture_upload as photo

TEST = "golden"


@pytest.fixture(scope="module", autouse=True)
def golden_profile(kit: KitConfig) -> None:
    if not includes(kit.profile, Profile.GOLDEN):
        pytest.skip("the golden checks run with --profile golden (against the mock)")


def test_fixtures_get_their_canned_outcome(kit: KitConfig, client: Client, recorder: Recorder) -> None:
    every = fixtures.load(kit.fixtures_dir)
    for fixture in every:
        client.send(
            KitRequest(
                f"golden {fixture.name}",
                (photo("image1", fixture),),
                fate=size_fate(fixture.size),
                expects=(Expectation("GOLD-1", CannedOutcome(fixture)),),
            ),
            TEST,
        )
    faces = [f for f in every if f.canned.liveness]
    for a, b in combinations(faces, 2):
        client.send(
            KitRequest(
                f"golden {a.name}+{b.name}",
                (photo("image1", a), photo("image2", b)),
                expects=(Expectation("GOLD-1", CannedOutcome(a, b)),),
            ),
            TEST,
        )
    failing = [r for r in recorder.for_test(TEST) if r.failures]
    assert not failing, explain(failing)


@pytest.mark.parametrize("example", named_examples(SPEC_PATH), ids=lambda e: e.name)
def test_named_example(example: NamedExample, kit: KitConfig, client: Client, recorder: Recorder) -> None:
    face = next(iter(fixtures.faces(fixtures.load(kit.fixtures_dir))))
    two = isinstance(example.value, dict) and (example.value.get("image2") or {}).get("input_provided") == "True"
    uploads = (photo("image1", face),) + ((photo("image2", face),) if two else ())
    # The mock answers with the example whatever the photos are: no fate is fixed by the photos.
    request = KitRequest(
        f"example {example.name}",
        uploads,
        headers=(("Prefer", f"example={example.name}"),),
        correlation_id=f"example-{example.name}",
        fate=None,
        expects=(Expectation("GOLD-2", ExampleBody(example)),),
    )
    record = client.send(request, f"{TEST}-example")
    assert not record.failures, explain([record])


def strict_choice_requests(face: fixtures.Fixture) -> list[KitRequest]:
    """Requests the mock refuses by its own choice (the upstream leaves each open): 422."""
    image1 = photo("image1", face)
    return [
        KitRequest("only image2", (photo("image2", face),)),
        KitRequest("JSON body", raw_body=b'{"image1": "aGVsbG8="}', raw_content_type="application/json"),
        KitRequest("an unknown form field", (image1,), fields=(("colour", "blue"),)),
        KitRequest("image1 twice", (image1, image1)),
        KitRequest("unique_id of 129 characters", (image1,), fields=(("unique_id", "u" * 129),)),
        KitRequest("a correlation id with a space", (image1,), correlation_id="has space"),
        KitRequest("a correlation id of 129 characters", (image1,), correlation_id="c" * 129),
    ]


def test_the_mocks_strict_choices(kit: KitConfig, client: Client, recorder: Recorder) -> None:
    face = next(iter(fixtures.faces(fixtures.load(kit.fixtures_dir))))
    for request in strict_choice_requests(face):
        # fate None: the contract fixes nothing here; only the mock's choice (GOLD-3) is judged.
        expects = (Expectation("GOLD-3", Status(422, f"the mock refuses {request.label}")),)
        client.send(dataclasses.replace(request, fate=None, expects=expects), f"{TEST}-strict")
    failing = [r for r in recorder.for_test(f"{TEST}-strict") if r.failures]
    assert not failing, explain(failing)
