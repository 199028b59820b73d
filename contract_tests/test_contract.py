"""Profile `contract`: the rules hold on every response, for every image and every input.

Never assumes what a model decides about a photo: a usable photo may get 200 or 400.
Only inputs whose fate the contract fixes (empty, clearly too small or too large, not an
image, truncated, no image1, not multipart, bad tokens) must get their status and body.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from itertools import combinations

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from facematch_contract.exchange import size_fate
from facematch_contract.rules import FateName

from . import fixtures, images, strategies
from .client import Client
from .kit_request import KitRequest, Upload
from .profiles import KitConfig
from .recorder import Recorder, explain
from .tokens import TokenCases


def run_property(
    kit: KitConfig,
    strategy: st.SearchStrategy[KitRequest],
    send: Callable[[KitRequest], object],
    max_examples: int | None = None,
) -> None:
    """Send ``max_examples`` generated requests; every exchange is judged when it is recorded."""

    @seed(kit.seed)
    @settings(
        max_examples=max_examples or kit.max_examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(request: KitRequest) -> None:
        send(request)

    run()


def assert_rules_hold(recorder: Recorder, test: str) -> None:
    records = recorder.for_test(test)
    failing = [r for r in records if r.failures]
    assert not failing, f"{len(failing)} of {len(records)} responses broke the contract:\n" + explain(failing)


@pytest.fixture(scope="module")
def faces(kit: KitConfig) -> tuple[fixtures.Fixture, ...]:
    return fixtures.faces(fixtures.load(kit.fixtures_dir))


def tour_requests(kit: KitConfig) -> list[KitRequest]:
    """A fixed set: every usable fixture alone, pairs across people and liveness, fixed seeds."""
    every = fixtures.load(kit.fixtures_dir)
    usable = [
        f
        for f in every
        if size_fate(f.size) is FateName.USABLE
        and f.format is not None
        and not f.tags & {"truncated", "corrupt", "not_image"}
    ]

    up = strategies.fixture_upload
    found = [KitRequest("fixture alone", (up("image1", f),), correlation_id=f"tour-{i}") for i, f in enumerate(usable)]
    face_list = fixtures.faces(every)
    for i, (a, b) in enumerate(combinations(face_list, 2)):
        if i % 3 == 0 or "recapture" in a.tags | b.tags:
            found.append(
                KitRequest(
                    "fixture pair",
                    (up("image1", a), up("image2", b)),
                    fields=(("unique_id", f"tour-pair-{i}"),),
                    correlation_id=f"tour-pair-{i}",
                )
            )
    found += odd_but_valid_requests(face_list)
    for i in range(8):
        kind = ("noise", "gradient", "cartoon")[i % 3]
        data = images.synthetic(1000 + i, 160 + 20 * i, 200, kind, images.FORMATS[i % 3])
        second = (
            (
                strategies.upload(
                    "image2",
                    images.synthetic(2000 + i, 180, 180, "noise", "PNG"),
                    "PNG",
                    f"synthetic noise seed {2000 + i}",
                ),
            )
            if i % 2
            else ()
        )
        found.append(
            KitRequest(
                "synthetic",
                (
                    strategies.upload("image1", data, images.FORMATS[i % 3], f"synthetic {kind} seed {1000 + i}"),
                    *second,
                ),
                correlation_id=f"tour-synthetic-{i}",
            )
        )
    return found


def odd_but_valid_requests(faces: tuple[fixtures.Fixture, ...]) -> list[KitRequest]:
    """Requests whose answer the upstream leaves open, sent for one thing only: no input may get
    a 5xx (ERR-4). A large frame, a part without a file name, non-ASCII and very long text fields."""
    if not faces:
        return []
    face = faces[0]
    photo = strategies.upload("image1", face.data, face.format, f"fixture {face.name}")
    big = images.upscaled(face.data, 2400)
    no_name = Upload("image2", face.data, None, face.content_type, f"fixture {face.name}, sent without a file name")
    return [
        KitRequest(
            "a 2400-pixel-wide photo",
            (Upload("image1", big, "wide.jpg", "image/jpeg", f"fixture {face.name} scaled to 2400 px wide"),),
            correlation_id="odd-wide",
        ),
        KitRequest(
            "image2 without a file name",
            (photo, no_name),
            correlation_id="odd-no-filename",
            fate=None,
            image2_either_way=True,
        ),
        KitRequest(
            "a non-ASCII unique_id",
            (photo,),
            fields=(("unique_id", "Zoë-渡辺-№7-🙂"),),
            correlation_id="odd-unicode",
            fate=None,
        ),
        KitRequest(
            "a 5,000-character unique_id",
            (photo,),
            fields=(("unique_id", "u" * 5000),),
            correlation_id="odd-long-id",
            fate=None,
        ),
    ]


def fixed_fate_requests(kit: KitConfig, token_cases: TokenCases | None) -> list[KitRequest]:
    """One of each input whose answer the contract fixes, each sent with a correlation id."""
    every = fixtures.load(kit.fixtures_dir)
    photo = next((f for f in fixtures.faces(every)), None)
    good = (
        strategies.upload("image1", photo.data, photo.format, f"fixture {photo.name}")
        if photo
        else strategies.upload("image1", images.synthetic(7, 200, 200, "noise", "JPEG"), "JPEG", "synthetic noise")
    )
    good2 = Upload("image2", good.data, "image2.jpg", good.content_type, good.about)
    cases = [
        KitRequest(
            "empty image1",
            (Upload("image1", b"", "image1.jpg", "image/jpeg", "empty file"),),
            fate=FateName.EMPTY_IMAGE,
        ),
        KitRequest(
            "empty image2",
            (good, Upload("image2", b"", "image2.jpg", "image/jpeg", "empty file")),
            fate=FateName.EMPTY_IMAGE,
        ),
        KitRequest(
            "image1 under 700 bytes",
            (strategies.upload("image1", images.tiny_image(3), "JPEG", "8x8 JPEG"),),
            fate=FateName.TINY_IMAGE,
        ),
        KitRequest(
            "image2 over 10.5 MiB",
            (
                good,
                Upload(
                    "image2",
                    images.huge_image(good.data),
                    "image2.jpg",
                    good.content_type,
                    f"{good.about}, padded to 11 MiB",
                ),
            ),
            fate=FateName.HUGE_IMAGE,
        ),
        KitRequest(
            "image1 over 10.5 MiB",
            (
                Upload(
                    "image1",
                    images.huge_image(good.data),
                    "image1.jpg",
                    good.content_type,
                    f"{good.about}, padded to 11 MiB",
                ),
            ),
            fate=FateName.HUGE_IMAGE,
        ),
        KitRequest(
            "image1 is text",
            (strategies.upload("image1", images.not_image("text", 1), "JPEG", "text"),),
            fate=FateName.NOT_IMAGE,
        ),
        KitRequest(
            "image1 is random bytes",
            (strategies.upload("image1", images.not_image("random", 2), "PNG", "random bytes"),),
            fate=FateName.NOT_IMAGE,
        ),
        KitRequest(
            "image1 truncated",
            (
                Upload(
                    "image1", images.truncated(good.data, 0.5), "image1.jpg", good.content_type, "first half of a photo"
                ),
            ),
            fate=FateName.TRUNCATED_IMAGE,
        ),
        KitRequest(
            "image2 truncated",
            (
                good,
                Upload("image2", images.truncated(good.data, 0.6), "image2.jpg", good.content_type, "60% of a photo"),
            ),
            fate=FateName.TRUNCATED_IMAGE,
        ),
        KitRequest("only image2", (good2,), fate=FateName.MISSING_IMAGE1),
        KitRequest("only unique_id", fields=(("unique_id", "abc"),), fate=FateName.MISSING_IMAGE1),
        KitRequest(
            "JSON body",
            raw_body=b'{"image1": "aGVsbG8="}',
            raw_content_type="application/json",
            fate=FateName.NOT_MULTIPART,
        ),
        KitRequest(
            "urlencoded body",
            raw_body=b"image1=hello",
            raw_content_type="application/x-www-form-urlencoded",
            fate=FateName.NOT_MULTIPART,
        ),
    ]
    for fixture in fixtures.load(kit.fixtures_dir):
        kind = {
            "empty": FateName.EMPTY_IMAGE,
            "tiny": FateName.TINY_IMAGE,
            "truncated": FateName.TRUNCATED_IMAGE,
            "corrupt": FateName.TRUNCATED_IMAGE,
            "not_image": FateName.NOT_IMAGE,
        }
        fate = next((kind[t] for t in sorted(fixture.tags) if t in kind), None)
        if fate is not None:
            cases.append(
                KitRequest(
                    f"fixture {fixture.name}",
                    (strategies.upload("image1", fixture.data, fixture.format, f"fixture {fixture.name}"),),
                    fate=fate,
                )
            )
    if token_cases is not None:
        for label, (fate, header) in sorted(token_cases.cases().items()):
            cases.append(KitRequest(label, (good,), authorization=header, fate=fate))
    else:
        cases.append(KitRequest("no Authorization header", (good,), authorization=None, fate=FateName.MISSING_TOKEN))
    return [dataclasses.replace(c, correlation_id=f"fixed-{i}") for i, c in enumerate(cases)]


def test_tour(kit: KitConfig, client: Client, recorder: Recorder) -> None:
    """Fixed requests that reach every branch (real/fake, match/mismatch) on a mock or a real service."""
    for request in tour_requests(kit):
        client.send(request, "tour")
    assert_rules_hold(recorder, "tour")


def test_fixed_fates(kit: KitConfig, client: Client, recorder: Recorder, token_cases: TokenCases | None) -> None:
    """Each input whose answer the contract fixes gets that answer."""
    for request in fixed_fate_requests(kit, token_cases):
        client.send(request, "fixed-fate")
    assert_rules_hold(recorder, "fixed-fate")


def test_usable_requests(
    kit: KitConfig, client: Client, recorder: Recorder, faces: tuple[fixtures.Fixture, ...]
) -> None:
    """Generated photos (edited fixture faces, synthetic pictures), one and two at a time."""
    run_property(kit, strategies.usable_requests(faces), lambda r: client.send(r, "usable"))
    assert_rules_hold(recorder, "usable")


def test_generated_fixed_fates(
    kit: KitConfig,
    client: Client,
    recorder: Recorder,
    faces: tuple[fixtures.Fixture, ...],
    token_cases: TokenCases | None,
) -> None:
    """Generated broken images, non-operation requests and bad tokens."""
    run_property(
        kit,
        strategies.fixed_fate_requests(faces, token_cases),
        lambda r: client.send(r, "generated-fate"),
        max_examples=max(5, kit.max_examples // 2),
    )
    assert_rules_hold(recorder, "generated-fate")
