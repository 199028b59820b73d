"""The numpy evaluation of dlib's face recognition ResNet against dlib's own code.

Real mode embeds faces with :mod:`mock_server.engines.dlib_resnet` (same weights, numpy
BLAS) instead of dlib-bin's slower evaluation. These tests hold it to dlib: the vectors
for real face chips (the committed fixture photos) and for random chips must agree, and
a model file that is not exactly the supported network must be refused, not evaluated.
"""

from __future__ import annotations

from pathlib import Path

import dlib
import numpy as np
import pytest
from PIL import Image

from mock_server.engines.dlib_resnet import FaceResNet, ModelFormatError, read_layers
from mock_server.engines.face_model import RECOGNITION_MODEL_FILE, FaceModel, dlib_models_dir

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "images"
FACE_FIXTURES = [
    "astronaut_a.jpg",
    "astronaut_b.jpg",
    "hopper_a.jpg",
    "hopper_b.jpg",
    "hopper_gray.jpg",
    "collage.jpg",
    "recapture.jpg",
]
#: float32 arithmetic in a different order: dlib's vectors and ours differ by ~4e-7.
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    return (dlib_models_dir() / RECOGNITION_MODEL_FILE).read_bytes()


@pytest.fixture(scope="module")
def network() -> FaceResNet:
    return FaceResNet.from_file(dlib_models_dir() / RECOGNITION_MODEL_FILE)


@pytest.fixture(scope="module")
def dlib_network() -> dlib.face_recognition_model_v1:
    return dlib.face_recognition_model_v1(str(dlib_models_dir() / RECOGNITION_MODEL_FILE))


@pytest.fixture(scope="module")
def faces() -> FaceModel:
    return FaceModel()


@pytest.mark.parametrize("name", FACE_FIXTURES)
def test_face_chips_embed_as_dlib_does(
    name: str, faces: FaceModel, network: FaceResNet, dlib_network: dlib.face_recognition_model_v1
) -> None:
    rgb = np.asarray(Image.open(FIXTURES / name).convert("RGB"))
    boxes = faces.detect(rgb) or faces.detect(rgb, upsample=1)
    assert boxes, f"no face found in the fixture {name}"
    chip = faces.chip(rgb, boxes[0])
    ours = network.embed(chip)
    theirs = np.asarray(dlib_network.compute_face_descriptor(chip))
    assert ours.shape == (128,) and ours.dtype == np.float64
    assert np.abs(ours - theirs).max() < TOLERANCE
    # The engine's own path gives the same vector.
    assert np.array_equal(faces.embed(rgb, boxes[0]), ours)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_chips_embed_as_dlib_does(
    seed: int, network: FaceResNet, dlib_network: dlib.face_recognition_model_v1
) -> None:
    chip = np.random.default_rng(seed).integers(0, 256, size=(150, 150, 3), dtype=np.uint8)
    ours = network.embed(chip)
    theirs = np.asarray(dlib_network.compute_face_descriptor(chip))
    assert np.abs(ours - theirs).max() < TOLERANCE


def test_distances_between_fixture_people_match_dlib(
    faces: FaceModel, network: FaceResNet, dlib_network: dlib.face_recognition_model_v1
) -> None:
    chips = []
    for name in ("astronaut_a.jpg", "astronaut_b.jpg", "hopper_a.jpg"):
        rgb = np.asarray(Image.open(FIXTURES / name).convert("RGB"))
        chips.append(faces.chip(rgb, faces.detect(rgb)[0]))
    ours = [network.embed(chip) for chip in chips]
    theirs = [np.asarray(dlib_network.compute_face_descriptor(chip)) for chip in chips]
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert abs(np.linalg.norm(ours[i] - ours[j]) - np.linalg.norm(theirs[i] - theirs[j])) < TOLERANCE
    assert np.linalg.norm(ours[0] - ours[1]) < 0.6 < np.linalg.norm(ours[0] - ours[2])


def test_the_file_holds_the_expected_network(model_bytes: bytes, network: FaceResNet) -> None:
    means, layers = read_layers(model_bytes)
    assert [round(m, 3) for m in means] == [122.782, 117.001, 104.298]
    assert len(layers) == 108
    assert sum(layer.kind == "conv" for layer in layers) == 29
    assert network.blocks == 14


def test_truncated_file_is_refused(model_bytes: bytes) -> None:
    with pytest.raises(ModelFormatError, match="file ends early"):
        read_layers(model_bytes[: len(model_bytes) // 2], "half.dat")


def test_trailing_bytes_are_refused(model_bytes: bytes) -> None:
    with pytest.raises(ModelFormatError, match="trailing bytes"):
        read_layers(model_bytes + b"\x00", "padded.dat")


def test_unknown_layer_is_refused(model_bytes: bytes) -> None:
    altered = model_bytes.replace(b"\x05relu_", b"\x05tanh_", 1)
    with pytest.raises(ModelFormatError, match="unsupported layer 'tanh_'"):
        read_layers(altered, "tanh.dat")


def test_other_network_shapes_are_refused(model_bytes: bytes) -> None:
    # Drop the shortcut pooling of the first down-sampling block: still readable, but no
    # longer the architecture the evaluator knows.
    means, layers = read_layers(model_bytes)
    first_pool = next(i for i, layer in enumerate(layers) if layer.kind == "avg_pool")
    with pytest.raises(ModelFormatError, match="expected"):
        FaceResNet(means, layers[:first_pool] + layers[first_pool + 2 :], "altered.dat")


def test_not_a_model_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.dat"
    path.write_bytes(b"\x01\x01\x05hello world")
    with pytest.raises(ModelFormatError, match=r"notes\.dat"):
        FaceResNet.from_file(path)


def test_chip_of_the_wrong_size_is_refused(network: FaceResNet) -> None:
    with pytest.raises(ValueError, match="150x150"):
        network.embed(np.zeros((100, 100, 3), dtype=np.uint8))
