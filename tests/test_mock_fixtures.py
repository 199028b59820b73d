"""Every fixture gives its documented (manifest) answer; the same request gives the same
bytes from two separate server processes."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import pytest

from mock_server.engines.canned import derived_liveness

from .client import image_files, post
from .conftest import FIXTURES, fixture_bytes
from .live import start_server

MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
ENTRIES = MANIFEST["fixtures"]
FACES = [entry for entry in ENTRIES if "liveness" in entry["canned"]]
ERROR_MESSAGES = {
    "no_face": "no usable face found in image1",
    "empty_image": "image1 is empty",
    "unsupported_image": "image1 is not a supported image: send JPEG, PNG or WebP",
    "corrupt_image": "image1 could not be decoded: the image data is truncated or corrupt",
}


def test_manifest_matches_the_files() -> None:
    for entry in ENTRIES:
        data = fixture_bytes(entry)
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
        assert len(data) == entry["bytes"], entry["file"]


def test_manifest_covers_what_the_issue_asks_for() -> None:
    tags = set(itertools.chain.from_iterable(entry["tags"] for entry in ENTRIES))
    assert {
        "same_person_pair",
        "recapture",
        "several_faces",
        "no_face",
        "exif_rotated",
        "grayscale",
        "alpha",
        "webp",
        "tiny",
        "truncated",
        "corrupt",
        "not_image",
        "empty",
    } <= tags
    assert {entry["person"] for entry in FACES} >= {"astronaut", "grace_hopper"}
    assert any(entry["canned"]["liveness"] == "fake" for entry in FACES)


def expected_block(canned: dict[str, Any]) -> dict[str, Any]:
    real = canned["liveness"] == "real"
    return {
        "input_provided": "True",
        "result": canned["liveness"],
        "confidence": canned["score"] if real else 0,
        "prediction_confidence": canned["score"],
    }


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["file"] for entry in ENTRIES])
def test_fixture_alone(app_url: str, auth: dict[str, str], entry: dict[str, Any]) -> None:
    response = post(app_url, image_files(fixture_bytes(entry)), headers=auth)
    canned = entry["canned"]
    if "error" in canned:
        assert response.status_code == 400
        message = response.json()["msg"]
        if canned["error"] == "image_too_small":
            assert message.startswith("image1 is too small")
        else:
            assert message == ERROR_MESSAGES[canned["error"]]
        return
    body = response.json()
    assert response.status_code == 200
    assert body["image1"] == expected_block(canned)
    real = canned["liveness"] == "real"
    assert body["overall_result"] == ("True" if real else "False")
    assert body["overall_confidence"] == (canned["score"] if real else 0)


PAIRS = [(a, b) for a, b in itertools.product(FACES, FACES) if a is not b][::3]


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a['file']}+{b['file']}" for a, b in PAIRS])
def test_fixture_pairs(app_url: str, auth: dict[str, str], first: dict, second: dict) -> None:
    response = post(app_url, image_files(fixture_bytes(first), fixture_bytes(second)), headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert body["image1"] == expected_block(first["canned"])
    assert body["image2"] == expected_block(second["canned"])
    same = first["person"] == second["person"]
    match = body["image1_image2_facematch"]
    assert match["performed"] == "True"
    assert match["result"] == ("True" if same else "False")
    assert (match["confidence"] >= 70) if same else (match["confidence"] < 45)
    both_real = first["canned"]["liveness"] == second["canned"]["liveness"] == "real"
    assert body["overall_result"] == ("True" if same and both_real else "False")


def test_non_fixture_images_reach_every_branch(app_url: str, auth: dict[str, str]) -> None:
    """Arbitrary bytes decide real/fake and match/mismatch deterministically; all four occur."""
    base = fixture_bytes(FACES[0])
    seen: set[tuple[str, str]] = set()
    for salt in range(40):
        # The same picture with a different trailing comment: a different digest.
        variant = base + b"\xff\xfe" + salt.to_bytes(2, "big")
        body = post(app_url, image_files(variant, base + b"x" * (salt + 1)), headers=auth).json()
        assert body["image1"]["result"] == derived_liveness(hashlib.sha256(variant).hexdigest()).result
        seen.add((body["image1"]["result"], body["image1_image2_facematch"]["result"]))
    assert seen == {("real", "True"), ("real", "False"), ("fake", "True"), ("fake", "False")}


def requests_to_replay() -> list[list[tuple[str, Any]]]:
    face, other = fixture_bytes(FACES[0]), fixture_bytes(FACES[-1])
    return [
        image_files(face),
        image_files(face, other),
        image_files(face + b"tail"),
        image_files(face + b"tail", other + b"tail", unique_id="abc"),
        image_files(fixture_bytes(next(e for e in ENTRIES if e["canned"].get("error") == "no_face"))),
    ]


@pytest.mark.server
def test_same_request_same_bytes_across_server_processes(token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    bodies = []
    for _ in range(2):
        with start_server("--workers", "2") as url:
            bodies.append([post(url, files, headers=headers).content for files in requests_to_replay() * 2])
    assert bodies[0] == bodies[1]
    assert bodies[0][:5] == bodies[0][5:]  # and across workers of one server
