"""Profile `semantic`: what any working face service must do with the kit's fixture photos.

A photo with no face is refused, two crops of one person match, two people do not, and a
clear real face on its own gets a 200. (The outcome of liveness is not assumed.) Each
request carries its expectation (:mod:`.expectations`); the recorder judges it.
"""

from __future__ import annotations

import pytest

from . import fixtures
from .client import Client
from .expectations import Expectation, MatchResult, Status
from .kit_request import KitRequest
from .profiles import KitConfig, Profile, includes
from .recorder import Recorder, explain
from .strategies import fixture_upload as photo

TEST = "semantic"


@pytest.fixture(scope="module", autouse=True)
def semantic_profile(kit: KitConfig) -> None:
    if not includes(kit.profile, Profile.SEMANTIC):
        pytest.skip("the semantic checks run with --profile semantic or golden")


def _send(client: Client, label: str, expects: Expectation, *pair: fixtures.Fixture) -> None:
    # One fixture or two: zip stops at the last one given.
    uploads = tuple(photo(name, f) for name, f in zip(("image1", "image2"), pair, strict=False))
    client.send(
        KitRequest(label, uploads, correlation_id="semantic-" + "-".join(label.split()), expects=(expects,)), TEST
    )


def same_person_pairs(kit: KitConfig) -> list[tuple[fixtures.Fixture, fixtures.Fixture]]:
    pairs = fixtures.with_tag(fixtures.load(kit.fixtures_dir), "same_person_pair")
    people = sorted({f.person for f in pairs if f.person})
    found = []
    for person in people:
        first, second = [f for f in pairs if f.person == person][:2]
        found.append((first, second))
    return found


def test_no_face_is_refused(kit: KitConfig, client: Client, recorder: Recorder) -> None:
    for fixture in fixtures.with_tag(fixtures.load(kit.fixtures_dir), "no_face"):
        _send(
            client,
            f"no face {fixture.name}",
            Expectation("SEM-1", Status(400, f"{fixture.name} shows no face")),
            fixture,
        )
    _assert_clean(recorder, "SEM-1")


def test_same_person_matches(kit: KitConfig, client: Client, recorder: Recorder) -> None:
    for first, second in same_person_pairs(kit):
        for a, b in ((first, second), (second, first)):
            why = f"{a.name} and {b.name} show the same person"
            _send(client, f"same person {a.name}+{b.name}", Expectation("SEM-2", MatchResult("True", why)), a, b)
    _assert_clean(recorder, "SEM-2")


def test_different_people_do_not_match(kit: KitConfig, client: Client, recorder: Recorder) -> None:
    pairs = same_person_pairs(kit)
    for (a, _), (_, b) in zip(pairs, pairs[1:] + pairs[:1], strict=True):
        if a.person == b.person:
            continue
        why = f"{a.name} and {b.name} show different people"
        _send(client, f"different people {a.name}+{b.name}", Expectation("SEM-3", MatchResult("False", why)), a, b)
    _assert_clean(recorder, "SEM-3")


def test_one_real_face_is_accepted(kit: KitConfig, client: Client, recorder: Recorder) -> None:
    for first, _ in same_person_pairs(kit):
        _send(
            client, f"one face {first.name}", Expectation("SEM-4", Status(200, f"{first.name} is a clear face")), first
        )
    _assert_clean(recorder, "SEM-4")


def _assert_clean(recorder: Recorder, check: str) -> None:
    records = [r for r in recorder.for_test(TEST) if any(c.rule == check for c in r.checks)]
    assert records, f"{check}: the fixtures have no photos for this check"
    failing = [r for r in records if r.failures]
    assert not failing, explain(failing)
