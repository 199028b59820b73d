"""Real-model mode end to end: ``facematch serve --mode real`` (gunicorn) over HTTP.

Photographs and liveness models come from the shared data folder beside the repository
(``../shared`` or ``$FACEMATCH_SHARED_DIR``). Without its ``models`` folder the module is
skipped, except in CI (``CI=true``), where a missing folder is a failure.

Genuine pairs of ``identities.csv`` must match over HTTP and impostor pairs must not: by
default 60 of the 120 genuine and 80 of the 1258 impostor pairs, evenly spaced (140
two-photo requests; the impostors reach every photo). Every one of the 1378 pairs is judged
at the same threshold, on the same models, by tests/test_real_models.py (one embedding per
photo instead of two analyses per request); here the server's path is checked on a sample.
``FACEMATCH_REAL_PAIR_SAMPLE=all`` sends all 1378 pairs (a few minutes on two cores);
``=G,I`` sends G genuine and I impostor pairs.
"""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .client import image_files, post
from .live import start_server
from .shared_data import FACES, MODELS, require_models

pytestmark = pytest.mark.server

require_models("real-mode HTTP tests")

#: Parallel clients: keeps both server workers (and their helper processes) busy.
CLIENTS = 4
#: Genuine and impostor pairs sent over HTTP by default (all are judged in tests/test_real_models.py).
GENUINE_SAMPLE, IMPOSTOR_SAMPLE = 60, 80


@pytest.fixture(scope="module")
def real_url() -> Iterator[str]:
    with start_server("--mode", "real", "--models-dir", str(MODELS), ready_timeout=180) as url:
        yield url


def photo(name: str) -> bytes:
    return (FACES / "images" / name).read_bytes()


def rows(name: str) -> list[dict[str, str]]:
    with open(FACES / name, newline="") as handle:
        return list(csv.DictReader(handle))


def compare(url: str, auth: dict[str, str], first: str, second: str) -> dict:
    response = post(url, files=image_files(photo(first), photo(second)), headers=auth)
    assert response.status_code == 200, f"{first} vs {second}: {response.status_code} {response.text}"
    body = response.json()
    match = body["image1_image2_facematch"]
    assert match["performed"] == "True"
    # The calibration's promise: confidence >= 50 exactly when the faces match.
    assert (match["confidence"] >= 50) == (match["result"] == "True"), body
    return body


def evenly_spaced(pairs: list[tuple[str, str]], wanted: int) -> list[tuple[str, str]]:
    if not 0 < wanted < len(pairs):
        return pairs
    step = len(pairs) / wanted
    return [pairs[int(i * step)] for i in range(wanted)]


def test_identity_pairs(real_url: str, auth: dict[str, str]) -> None:
    people = rows("identities.csv")
    pairs = list(itertools.combinations(people, 2))
    genuine = [(a["file"], b["file"]) for a, b in pairs if a["identity"] == b["identity"]]
    impostor = [(a["file"], b["file"]) for a, b in pairs if a["identity"] != b["identity"]]
    assert (len(genuine), len(impostor)) == (120, 1258)
    wanted = os.environ.get("FACEMATCH_REAL_PAIR_SAMPLE") or f"{GENUINE_SAMPLE},{IMPOSTOR_SAMPLE}"
    if wanted != "all":
        genuine_wanted, impostor_wanted = (int(n) for n in wanted.split(","))
        genuine, impostor = evenly_spaced(genuine, genuine_wanted), evenly_spaced(impostor, impostor_wanted)
    if wanted == f"{GENUINE_SAMPLE},{IMPOSTOR_SAMPLE}":  # the default sample sends every photo
        assert {name for pair in impostor for name in pair} == {row["file"] for row in people}

    def result(pair: tuple[str, str]) -> tuple[str, str, str, float]:
        match = compare(real_url, auth, *pair)["image1_image2_facematch"]
        return pair[0], pair[1], match["result"], match["confidence"]

    with ThreadPoolExecutor(CLIENTS) as pool:
        genuine_results = list(pool.map(result, genuine))
        impostor_results = list(pool.map(result, impostor))
    false_non_matches = [r for r in genuine_results if r[2] != "True"]
    false_matches = [r for r in impostor_results if r[2] != "False"]
    genuine_conf = [r[3] for r in genuine_results]
    impostor_conf = [r[3] for r in impostor_results]
    print(
        f"\nreal mode over HTTP: genuine pairs {len(genuine_results)}, "
        f"FNMR {len(false_non_matches)}/{len(genuine_results)} = {len(false_non_matches) / len(genuine_results):.4f}, "
        f"confidence {min(genuine_conf):.2f}..{max(genuine_conf):.2f}"
        f"\nimpostor pairs {len(impostor_results)}, "
        f"FMR {len(false_matches)}/{len(impostor_results)} = {len(false_matches) / len(impostor_results):.4f}, "
        f"confidence {min(impostor_conf):.2f}..{max(impostor_conf):.2f}"
    )
    assert not false_non_matches, false_non_matches
    assert not false_matches, false_matches


@pytest.mark.parametrize("row", rows("liveness.csv") if FACES.is_dir() else [], ids=lambda row: row["file"])
def test_liveness_samples(row: dict[str, str], real_url: str, auth: dict[str, str]) -> None:
    response = post(real_url, files=image_files(photo(row["file"])), headers=auth)
    assert response.status_code == 200, response.text
    image1 = response.json()["image1"]
    assert image1["result"] == row["label"]
    if row["label"] == "fake":
        assert image1["confidence"] == 0  # LIVE-1
        assert 0 <= image1["prediction_confidence"] < 50
    else:
        assert image1["confidence"] == image1["prediction_confidence"] > 50  # LIVE-2


@pytest.mark.parametrize(
    ("group_photo", "portrait", "same"),
    [
        ("df_couple.jpg", "df_img1.jpg", "True"),  # the larger face is person_A's
        ("fr_two_people.jpg", "fr_biden.jpg", "True"),  # the larger face is Biden's ...
        ("fr_two_people.jpg", "fr_obama.jpg", "False"),  # ... not Obama's
    ],
)
def test_several_faces_use_the_largest(
    group_photo: str, portrait: str, same: str, real_url: str, auth: dict[str, str]
) -> None:
    assert compare(real_url, auth, group_photo, portrait)["image1_image2_facematch"]["result"] == same
    assert compare(real_url, auth, portrait, group_photo)["image1_image2_facematch"]["result"] == same


@pytest.mark.parametrize("field", ["image1", "image2"])
def test_partial_face_is_refused_naming_the_image(field: str, real_url: str, auth: dict[str, str]) -> None:
    partial, whole = photo("fr_obama_partial_face.jpg"), photo("fr_obama.jpg")
    files = image_files(partial, whole) if field == "image1" else image_files(whole, partial)
    response = post(real_url, files=files, headers=auth)
    assert response.status_code == 400
    assert response.json() == {"msg": f"no usable face found in {field}"}


def test_one_photo_mode(real_url: str, auth: dict[str, str]) -> None:
    response = post(real_url, files=image_files(photo("fr_obama.jpg")), headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert body["image2"]["input_provided"] == "False"
    assert body["image1_image2_facematch"] == {"performed": "False", "result": "N/A", "confidence": None}
    assert body["image1"]["result"] == "real"


def test_the_contract_kit_passes_real_mode(real_url: str, tmp_path: Path) -> None:
    """The kit's semantic profile holds for real mode: every rule of the contract profile
    (it includes them) and what a working face service must do with the fixture photos
    (fewer generated examples than against the mock: every real request runs the models)."""
    from .test_kit_mock import facematch_check

    done = facematch_check(real_url, tmp_path, "--profile", "semantic", "--max-examples", "6")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    report = (tmp_path / "report.md").read_text()
    assert "**Verdict: PASS**" in report and "100% (15 of 15 rules hold)" in report
