"""Unit tests of the real-model code (liveness port, embeddings, engine, model files).

They read photographs and ONNX files from the shared data folder beside the repository
(``../shared``, or ``$FACEMATCH_SHARED_DIR``). Without its ``models`` folder the module is
skipped, except in CI (``CI=true``), where a missing folder is a failure.
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import http.server
import io
import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .shared_data import FACES, MODELS, require_models

require_models("real-model tests")

import numpy as np
from PIL import Image, ImageOps

from mock_server import cli_models
from mock_server.config import RealModeSettings
from mock_server.domain import CheckedImage
from mock_server.engines.face_model import FaceModel, face_distance
from mock_server.engines.liveness_model import (
    LivenessModel,
    LivenessNet,
    crop_box,
    resize_bilinear,
)
from mock_server.engines.real import (
    Analyser,
    ImageAnalysis,
    ImageFailure,
    RealEngine,
    match_confidence,
)
from mock_server.errors import ApiError, ErrorKind
from mock_server.models_fetch import (
    KnownFile,
    ModelsError,
    ModelSpec,
    fetch_models,
    locate_models,
    sha256_file,
)

SHARED_V2 = MODELS / "minifasnet_v2_scale2.7_80x80.onnx"
SHARED_V1SE = MODELS / "minifasnet_v1se_scale4.0_80x80.onnx"


def face_bytes(name: str) -> bytes:
    return (FACES / "images" / name).read_bytes()


def checked(field: str, name: str) -> CheckedImage:
    data = face_bytes(name)
    return CheckedImage(field, data, hashlib.sha256(data).hexdigest(), "JPEG", 0, 0, 1)


def read_csv(name: str) -> list[dict[str, str]]:
    with open(FACES / name, newline="") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def face_model() -> FaceModel:
    return FaceModel()


@pytest.fixture(scope="module")
def liveness_model() -> LivenessModel:
    return LivenessModel([LivenessNet(m.path, m.scale) for m in locate_models(MODELS)])


@pytest.fixture(scope="module")
def analyser() -> Analyser:
    return Analyser(RealModeSettings(models_dir=MODELS))


@pytest.fixture(scope="module")
def engine() -> Iterator[RealEngine]:
    real = RealEngine(RealModeSettings(models_dir=MODELS))
    yield real
    real.close()


# --------------------------------------------------------------------------- liveness port


def test_crop_box_scales_about_the_centre() -> None:
    # 100×100 face in the middle of a 1000×1000 image, scale 2.7: 270×270 about (500, 500).
    assert crop_box(1000, 1000, (450, 450, 100, 100), 2.7) == (365, 365, 635, 635)


def test_crop_box_shifts_inside_instead_of_clipping() -> None:
    x1, y1, x2, y2 = crop_box(640, 480, (0, 0, 100, 100), 4.0)
    assert (x1, y1) == (0, 0)
    assert (x2 - x1, y2 - y1) == (400, 400)  # full size kept, moved inside
    x1, y1, x2, y2 = crop_box(640, 480, (560, 400, 80, 80), 4.0)
    assert (x2, y2) == (639, 479)
    assert (x2 - x1, y2 - y1) == (320, 320)


def test_crop_box_scale_is_capped_by_the_image() -> None:
    # A 300-pixel face in a 480-high image: s = min(479/300, 639/300, 4.0) = 1.5966...
    x1, y1, x2, y2 = crop_box(640, 480, (170, 90, 300, 300), 4.0)
    assert (y1, y2) == (0, 479)
    assert x1 >= 0 and x2 <= 639


def test_bilinear_resize_samples_pixel_centres() -> None:
    # Halving with OpenCV's INTER_LINEAR averages each 2×2 block (no wider anti-aliasing).
    patch = np.arange(16, dtype=np.uint8).reshape(4, 4, 1).repeat(3, axis=2) * 10
    out = resize_bilinear(patch, 2)
    expected = np.array([[25, 45], [105, 125]], dtype=np.uint8)
    assert np.array_equal(out[:, :, 0], expected)
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)


def test_liveness_input_tensor_layout(liveness_model: LivenessModel) -> None:
    rgb = np.zeros((240, 320, 3), dtype=np.uint8)
    rgb[:, :, 0] = 200  # pure red in RGB
    tensors = liveness_model.crops(rgb, (100, 60, 120, 120))
    assert len(tensors) == 2
    for tensor in tensors:
        assert tensor.shape == (1, 3, 80, 80) and tensor.dtype == np.float32
        # BGR, raw 0..255: red lands in the last channel, unnormalised.
        assert tensor[0, 2].min() == 200 and tensor[0, 0].max() == 0


#: Measured fused real-class probabilities (dlib HOG box, no upsampling) and the bound
#: each must respect; the shared README's ranges are 0.07-0.15, 0.04-0.18 and about 0.99.
LIVENESS_REFERENCE = {
    "sf_image_F1.jpg": ("fake", 0.1919),
    "sf_image_F2.jpg": ("fake", 0.1874),
    "sf_image_T1.jpg": ("real", 0.9952),
}


@pytest.mark.parametrize("name", sorted(LIVENESS_REFERENCE))
def test_liveness_reference_outputs(name: str, face_model: FaceModel, liveness_model: LivenessModel) -> None:
    label = next(row["label"] for row in read_csv("liveness.csv") if row["file"] == name)
    expected_label, measured = LIVENESS_REFERENCE[name]
    assert label == expected_label
    image = ImageOps.exif_transpose(Image.open(FACES / "images" / name)).convert("RGB")
    rgb = np.asarray(image)
    box = face_model.detect(rgb)[0]
    score = liveness_model.predict(rgb, (box.left, box.top, box.width, box.height))
    print(f"{name}: real_score={score.real_score:.4f} probabilities={score.probabilities}")
    assert score.is_real == (label == "real")
    assert score.real_score == pytest.approx(measured, abs=0.01)
    if label == "fake":
        assert score.real_score < 0.25
    else:
        assert score.real_score > 0.97


@pytest.mark.parametrize("name", sorted(LIVENESS_REFERENCE))
def test_engine_liveness_matches_labels(name: str, engine: RealEngine) -> None:
    label = LIVENESS_REFERENCE[name][0]
    outcome = engine.evaluate(checked("image1", name), None)
    assert outcome.image1.result == label
    assert outcome.image1.score is not None
    assert outcome.image1.score == pytest.approx(LIVENESS_REFERENCE[name][1] * 100, abs=1.0)


# --------------------------------------------------------------------------- embeddings


@pytest.fixture(scope="module")
def embeddings(analyser: Analyser) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    for row in read_csv("identities.csv"):
        result = analyser.analyse("image1", face_bytes(row["file"]), want_embedding=True)
        assert isinstance(result, ImageAnalysis), f"{row['file']}: {result}"
        assert result.embedding is not None
        found[row["file"]] = np.asarray(result.embedding)
    return found


def test_genuine_and_impostor_distances_separate_at_the_threshold(
    embeddings: dict[str, np.ndarray],
) -> None:
    rows = read_csv("identities.csv")
    threshold = RealModeSettings().match_distance
    genuine: list[tuple[float, str, str]] = []
    impostor: list[tuple[float, str, str]] = []
    for a, b in itertools.combinations(rows, 2):
        distance = face_distance(embeddings[a["file"]], embeddings[b["file"]])
        (genuine if a["identity"] == b["identity"] else impostor).append((distance, a["file"], b["file"]))
    false_non_matches = [pair for pair in genuine if pair[0] > threshold]
    false_matches = [pair for pair in impostor if pair[0] <= threshold]
    print(
        f"\ngenuine pairs: {len(genuine)}, distance {min(genuine)[0]:.3f}..{max(genuine)[0]:.3f}"
        f"\nimpostor pairs: {len(impostor)}, distance {min(impostor)[0]:.3f}..{max(impostor)[0]:.3f}"
        f"\nFNMR {len(false_non_matches)}/{len(genuine)}, FMR {len(false_matches)}/{len(impostor)}"
    )
    assert len(genuine) == 120 and len(impostor) == 1258
    assert not false_non_matches, false_non_matches
    assert not false_matches, false_matches
    # A margin on both sides of the threshold, not a knife edge.
    assert max(genuine)[0] < threshold - 0.02
    assert min(impostor)[0] > threshold + 0.01


def test_same_photo_embeds_to_the_same_vector(analyser: Analyser) -> None:
    data = face_bytes("fr_obama.jpg")
    first = analyser.analyse("image1", data, True)
    second = analyser.analyse("image2", data, True)
    assert isinstance(first, ImageAnalysis) and isinstance(second, ImageAnalysis)
    assert face_distance(np.asarray(first.embedding), np.asarray(second.embedding)) < 1e-6


# --------------------------------------------------------------------------- engine behaviour


def test_match_confidence_mapping() -> None:
    t = 0.6
    assert match_confidence(t, t) == 50.0
    assert match_confidence(t + 1e-9, t) == 49.99  # never rounds up to 50 when not matched
    assert match_confidence(t - 0.25, t) == pytest.approx(95.26, abs=0.01)
    assert match_confidence(t + 0.25, t) == pytest.approx(4.74, abs=0.01)
    previous = 100.0
    for step in range(0, 301):
        distance = step / 200  # 0 .. 1.5
        value = match_confidence(distance, t)
        assert 0 <= value <= 100
        assert (value >= 50) == (distance <= t)
        assert value <= previous
        assert value == round(value, 2)
        previous = value


def test_engine_two_photos_same_person(engine: RealEngine) -> None:
    outcome = engine.evaluate(checked("image1", "fr_obama.jpg"), checked("image2", "fr_obama2.jpg"))
    assert outcome.match is not None and outcome.match.matched
    assert outcome.match.confidence >= 50
    assert outcome.image1.result == "real" and outcome.image2 is not None


def test_engine_two_photos_different_people(engine: RealEngine) -> None:
    outcome = engine.evaluate(checked("image1", "fr_biden.jpg"), checked("image2", "fr_obama.jpg"))
    assert outcome.match is not None and not outcome.match.matched
    assert outcome.match.confidence < 50


def test_engine_uses_the_helper_process(engine: RealEngine) -> None:
    assert engine._helper is not None, "helper process did not start"
    future = engine._helper.submit("image2", face_bytes("fr_obama_small.jpg"), True)
    assert future is not None
    result = future.result(timeout=60)
    assert isinstance(result, ImageAnalysis) and result.field == "image2"


def test_engine_is_safe_across_threads(engine: RealEngine) -> None:
    # gthread workers call one engine from several threads; dlib's detector is not
    # thread-safe (it crashed the worker before FaceModel serialised dlib calls).
    pairs = [("fr_obama.jpg", "fr_obama2.jpg"), ("df_img4.jpg", "df_img2.jpg")] * 2
    expected = {pair: engine.evaluate(checked("image1", pair[0]), checked("image2", pair[1])) for pair in pairs}
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda pair: engine.evaluate(checked("image1", pair[0]), checked("image2", pair[1])), pairs)
        )
    assert results == [expected[pair] for pair in pairs]


def test_several_faces_use_the_largest(face_model: FaceModel, analyser: Analyser) -> None:
    for name in ("df_couple.jpg", "fr_two_people.jpg", "df_selfie-many-people.jpg"):
        result = analyser.analyse("image1", face_bytes(name), False)
        assert isinstance(result, ImageAnalysis), name
        assert result.faces >= 2, name
        # The chosen box is the largest the detector found on the same analysis image.
        scale = min(1.0, analyser.settings.detect_max_side / max(result.size))
        areas = sorted((b.area for b in face_model.detect(_detection_image(name, analyser, scale))), reverse=True)
        chosen = result.box[2] * result.box[3] * scale * scale
        assert chosen == pytest.approx(areas[0], rel=0.05), name


def _detection_image(name: str, analyser: Analyser, scale: float) -> np.ndarray:
    from mock_server.engines.real import _scaled_size, decode_rgb

    image = decode_rgb(face_bytes(name), analyser.settings.analysis_max_side)
    if scale < 1.0:
        image = image.resize(_scaled_size(*image.size, analyser.settings.detect_max_side), Image.Resampling.BILINEAR)
    return np.asarray(image)


@pytest.mark.parametrize("field", ["image1", "image2"])
def test_partial_face_is_not_usable(field: str, engine: RealEngine) -> None:
    partial = checked(field, "fr_obama_partial_face.jpg")
    other = checked("image1" if field == "image2" else "image2", "fr_obama.jpg")
    first, second = (partial, other) if field == "image1" else (other, partial)
    with pytest.raises(ApiError) as caught:
        engine.evaluate(first, second)
    assert caught.value.kind is ErrorKind.NO_FACE
    assert caught.value.status == 400
    assert caught.value.body() == {"msg": f"no usable face found in {field}"}


def test_photo_without_a_face_names_the_image(engine: RealEngine) -> None:
    gradient = np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (480, 1))
    buffer = io.BytesIO()
    Image.fromarray(np.stack([gradient] * 3, axis=2)).save(buffer, "PNG")
    data = buffer.getvalue()
    blank = CheckedImage("image2", data, hashlib.sha256(data).hexdigest(), "PNG", 640, 480, 1)
    with pytest.raises(ApiError) as caught:
        engine.evaluate(checked("image1", "fr_obama.jpg"), blank)
    assert caught.value.kind is ErrorKind.NO_FACE and caught.value.params == {"field": "image2"}


def test_undecodable_bytes_are_a_processing_failure(analyser: Analyser) -> None:
    result = analyser.analyse("image1", b"\xff\xd8\xff" + b"\x00" * 2000, True)
    assert isinstance(result, ImageFailure)
    assert result.error().kind is ErrorKind.PROCESSING_FAILED
    assert result.error().params == {"field": "image1"}


def test_exif_orientation_is_applied(analyser: Analyser) -> None:
    # sf_image_*.jpg are stored sideways with EXIF orientation 6; upright they are 480×640.
    result = analyser.analyse("image1", face_bytes("sf_image_T1.jpg"), False)
    assert isinstance(result, ImageAnalysis)
    assert result.size == (480, 640)


# --------------------------------------------------------------------------- model files


@pytest.fixture
def model_server() -> Iterator[str]:
    """A local HTTP server publishing the shared models folder (read-only)."""
    handler = functools.partial(_QuietHandler, directory=str(MODELS))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


def _shared_specs(v2_sha: str | None = None) -> tuple[ModelSpec, ...]:
    """Specs that download the shared file names (the public names are not served here)."""
    v2 = KnownFile(SHARED_V2.name, v2_sha or sha256_file(SHARED_V2))
    v1se = KnownFile(SHARED_V1SE.name, sha256_file(SHARED_V1SE))
    return (ModelSpec("MiniFASNetV2", 2.7, (v2,), v2), ModelSpec("MiniFASNetV1SE", 4.0, (v1se,), v1se))


def test_fetch_downloads_and_verifies(tmp_path: Path, model_server: str) -> None:
    target = tmp_path / "models"
    located = fetch_models(target, model_server, specs=_shared_specs())
    assert sorted(p.name for p in target.iterdir()) == sorted([SHARED_V1SE.name, SHARED_V2.name])
    assert [m.scale for m in located] == [2.7, 4.0]
    assert (target / SHARED_V2.name).read_bytes() == SHARED_V2.read_bytes()
    # A second run keeps the verified files.
    messages: list[str] = []
    fetch_models(target, model_server, specs=_shared_specs(), log=messages.append)
    assert all("already present" in message for message in messages)


def test_fetch_base_url_from_environment(tmp_path: Path, model_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEMATCH_MODELS_BASE_URL", model_server)
    fetch_models(tmp_path, specs=_shared_specs())
    assert (tmp_path / SHARED_V1SE.name).is_file()


def test_fetch_refuses_a_hash_mismatch_and_leaves_nothing(tmp_path: Path, model_server: str) -> None:
    with pytest.raises(ModelsError, match=r"refusing .*sha256"):
        fetch_models(tmp_path, model_server, specs=_shared_specs(v2_sha="0" * 64))
    assert list(tmp_path.iterdir()) == []  # no target, no partial file


def test_fetch_reports_a_missing_file(tmp_path: Path, model_server: str) -> None:
    with pytest.raises(ModelsError, match=r"download of .*MiniFASNetV2\.onnx failed"):
        fetch_models(tmp_path, model_server)  # the public names are not published here
    assert list(tmp_path.iterdir()) == []


def test_locate_accepts_the_shared_names() -> None:
    located = locate_models(MODELS)
    assert [(m.key, m.scale) for m in located] == [("MiniFASNetV2", 2.7), ("MiniFASNetV1SE", 4.0)]


def test_locate_accepts_the_public_names(tmp_path: Path) -> None:
    # Same mechanism, public names: a spec whose public-name hash is the shared file's.
    (tmp_path / "MiniFASNetV2.onnx").symlink_to(SHARED_V2)
    specs = (
        ModelSpec(
            "MiniFASNetV2",
            2.7,
            (KnownFile("MiniFASNetV2.onnx", sha256_file(SHARED_V2)),),
            KnownFile("MiniFASNetV2.onnx", sha256_file(SHARED_V2)),
        ),
    )
    assert locate_models(tmp_path, specs)[0].path.name == "MiniFASNetV2.onnx"


def test_locate_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelsError, match="does not exist: run facematch models fetch"):
        locate_models(tmp_path / "nowhere")


def test_locate_missing_files_names_both_namings(tmp_path: Path) -> None:
    with pytest.raises(ModelsError) as caught:
        locate_models(tmp_path)
    message = str(caught.value)
    for name in (
        "minifasnet_v2_scale2.7_80x80.onnx",
        "MiniFASNetV2.onnx",
        "minifasnet_v1se_scale4.0_80x80.onnx",
        "MiniFASNetV1SE.onnx",
    ):
        assert name in message


def test_locate_rejects_a_corrupt_file(tmp_path: Path) -> None:
    (tmp_path / SHARED_V1SE.name).symlink_to(SHARED_V1SE)
    (tmp_path / "MiniFASNetV2.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelsError, match=r"MiniFASNetV2\.onnx: sha256 is .*expected b32929"):
        locate_models(tmp_path)


def test_engine_refuses_a_bad_models_dir(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="real mode cannot start"):
        RealEngine(RealModeSettings(models_dir=tmp_path, helper_processes=0))


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="facematch")
    cli_models.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return int(args.func(args))


def test_cli_models_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert _cli("models", "check", "--dir", str(MODELS)) == 0
    assert "MiniFASNetV1SE" in capsys.readouterr().out
    assert _cli("models", "check", "--dir", str(tmp_path)) == 1
    assert "is missing" in capsys.readouterr().err


def test_cli_models_fetch_failure_exit_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_server: str
) -> None:
    assert _cli("models", "fetch", "--dir", str(tmp_path), "--base-url", model_server) == 1
    assert "failed" in capsys.readouterr().err
