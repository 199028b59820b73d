"""Profile `golden`: the mock's exact canned answers (meaningful only against the mock).

Every fixture photo gets its manifest outcome (GOLD-1), alone and paired; every named
example chosen with ``Prefer: example=NAME`` comes back exactly as written in openapi.yaml
(GOLD-2).
"""

from __future__ import annotations

from itertools import combinations

import pytest

from . import SPEC_PATH, fixtures, strategies
from .client import Client
from .exchange import KitRequest, Recorder, explain
from .profiles import KitConfig, golden_example_check, golden_fixture_check, includes, named_examples

TEST = "golden"


@pytest.fixture(scope="module", autouse=True)
def golden_profile(kit: KitConfig) -> None:
    if not includes(kit.profile, "golden"):
        pytest.skip("the golden checks run with --profile golden (against the mock)")


def _photo(name: str, fixture: fixtures.Fixture):
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
def test_named_example(example, kit: KitConfig, client: Client, recorder: Recorder) -> None:
    photo = next(iter(fixtures.faces(fixtures.load(kit.fixtures_dir))))
    two = isinstance(example.value, dict) and (example.value.get("image2") or {}).get("input_provided") == "True"
    uploads = (_photo("image1", photo),) + ((_photo("image2", photo),) if two else ())
    # The mock answers with the example whatever the photos are: no fate is fixed by the photos.
    request = KitRequest(f"example {example.name}", uploads, headers=(("Prefer", f"example={example.name}"),),
                         correlation_id=f"example-{example.name}", fate="")
    record = client.send(request, f"{TEST}-example")
    record.checks.append(golden_example_check(record.exchange, example))
    assert not record.failures, explain([record])
