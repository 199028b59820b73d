"""Face detection and face embeddings with dlib (real-model mode only).

Three dlib models do the work:

* the HOG + linear SVM frontal face detector that ships inside dlib
  (``dlib.get_frontal_face_detector``);
* the 5-point landmark predictor ``shape_predictor_5_face_landmarks.dat``, used to align
  the face before it is embedded;
* ``dlib_face_recognition_resnet_model_v1.dat``, a ResNet that maps an aligned 150×150
  face chip to a 128-dimensional vector; two photos of one person lie within about 0.6
  (Euclidean) of each other. Its weights are read by :mod:`.dlib_resnet` and evaluated
  with numpy's BLAS, about 8× faster than dlib-bin's own code and equal to its output
  within 1e-6.

The two ``.dat`` files come from the PyPI package ``face-recognition-models`` (Davis
King's models, public domain / CC0, packaged by Adam Geitgey). That package's
``__init__`` imports ``pkg_resources``, which current setuptools no longer ships, so the
files are found through the import system's metadata without importing the package.

Importing this module needs numpy and dlib; when either is missing it raises
:class:`RuntimeError` saying what to install.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

try:
    import dlib  # type: ignore[import-untyped]  # dlib-bin ships no type hints
    import numpy as np
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise RuntimeError(
        f"real-model mode needs numpy and dlib ({exc.name} is missing): install them with pip install -e '.[real]'"
    ) from exc

from .dlib_resnet import FaceResNet

SHAPE_PREDICTOR_FILE = "shape_predictor_5_face_landmarks.dat"
RECOGNITION_MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"

#: Side of the aligned chip the ResNet embeds, and the margin dlib's own examples use.
CHIP_SIZE = 150
CHIP_PADDING = 0.25


def dlib_models_dir() -> Path:
    """Folder holding the ``.dat`` files of the ``face-recognition-models`` package.

    ``find_spec`` reads the package's location without executing its ``__init__``.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "real-model mode needs the face-recognition-models package: install it with pip install -e '.[real]'"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "models"
        if (candidate / RECOGNITION_MODEL_FILE).is_file():
            return candidate
    raise RuntimeError(
        f"face-recognition-models is installed but {RECOGNITION_MODEL_FILE} is missing "
        "from it: reinstall it with pip install --force-reinstall face-recognition-models"
    )


@dataclass(frozen=True)
class FaceBox:
    """A detected face in pixel coordinates of the image it was found in.

    ``left``/``top`` are inclusive, ``right``/``bottom`` exclusive, so ``width`` is
    ``right - left``. ``score`` is the detector's SVM margin (higher is surer).
    ``outside`` is the share of the detector's raw box (before clamping to the image)
    that lay beyond the image edges along the worse axis: 0 for a face fully in frame,
    0.25 when a quarter of its width is cut off by the frame.
    """

    left: int
    top: int
    right: int
    bottom: int
    score: float = 0.0
    outside: float = 0.0

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return self.width * self.height

    def scaled(self, factor: float, width: int, height: int) -> FaceBox:
        """The same box in an image ``factor`` times larger, clamped to ``width``×``height``."""
        return FaceBox(
            left=max(0, round(self.left * factor)),
            top=max(0, round(self.top * factor)),
            right=min(width, round(self.right * factor)),
            bottom=min(height, round(self.bottom * factor)),
            score=self.score,
            outside=self.outside,
        )

    def to_dlib(self) -> dlib.rectangle:
        # dlib rectangles are inclusive on all four sides.
        return dlib.rectangle(self.left, self.top, self.right - 1, self.bottom - 1)


class FaceModel:
    """dlib's detector and landmark predictor and the embedding network, loaded once.

    Safe to share between threads: dlib's detector releases the GIL while it scans and
    is not thread-safe (two threads detecting at once crash the process), so every dlib
    call runs under one lock per instance; the embedding network is plain numpy.
    """

    def __init__(self, models_dir: Path | None = None) -> None:
        folder = models_dir if models_dir is not None else dlib_models_dir()
        self._lock = threading.Lock()
        self._detector = dlib.get_frontal_face_detector()
        self._shape_predictor = dlib.shape_predictor(str(folder / SHAPE_PREDICTOR_FILE))
        self._encoder = FaceResNet.from_file(folder / RECOGNITION_MODEL_FILE)

    def detect(self, rgb: np.ndarray, upsample: int = 0) -> list[FaceBox]:
        """Faces in an RGB uint8 array (H, W, 3), largest first.

        ``upsample`` doubles the image that many times before scanning: the detector
        finds faces of about 80 pixels and more, 40 and more after one doubling.
        """
        with self._lock:
            rects, scores, _ = self._detector.run(rgb, upsample, 0.0)
        height, width = rgb.shape[:2]
        boxes = [
            FaceBox(
                left=max(0, rect.left()),
                top=max(0, rect.top()),
                right=min(width, rect.right() + 1),
                bottom=min(height, rect.bottom() + 1),
                score=float(score),
                outside=_outside_share(rect, width, height),
            )
            for rect, score in zip(rects, scores, strict=True)
        ]
        boxes = [box for box in boxes if box.width > 0 and box.height > 0]
        boxes.sort(key=lambda box: (box.area, box.score), reverse=True)
        return boxes

    def chip(self, rgb: np.ndarray, box: FaceBox) -> np.ndarray:
        """The face in ``box`` aligned on five landmarks: 150×150 RGB, as dlib crops it."""
        with self._lock:
            shape = self._shape_predictor(rgb, box.to_dlib())
            return np.asarray(dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING))

    def embed(self, rgb: np.ndarray, box: FaceBox) -> np.ndarray:
        """128-d embedding of the face in ``box`` (aligned on five landmarks first)."""
        return self.embed_chip(self.chip(rgb, box))

    def embed_chip(self, chip: np.ndarray) -> np.ndarray:
        """128-d embedding of an aligned chip from :meth:`chip`."""
        # The network is numpy only (BLAS releases the GIL): no lock needed.
        return self._encoder.embed(chip)


def _outside_share(rect: dlib.rectangle, width: int, height: int) -> float:
    left, top, right, bottom = int(rect.left()), int(rect.top()), int(rect.right()), int(rect.bottom())
    rect_w, rect_h = right - left + 1, bottom - top + 1
    if rect_w <= 0 or rect_h <= 0:
        return 1.0
    cut_x = max(0, -left) + max(0, right + 1 - width)
    cut_y = max(0, -top) + max(0, bottom + 1 - height)
    return max(cut_x / rect_w, cut_y / rect_h)


def face_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two embeddings (0 = identical)."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))
