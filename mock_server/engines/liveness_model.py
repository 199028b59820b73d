"""Presentation-attack detection with two MiniFASNet networks (ONNX, real-model mode only).

The networks are the pretrained MiniFASNetV2 (crop scale 2.7) and MiniFASNetV1SE (crop
scale 4.0) of minivision-ai/Silent-Face-Anti-Spoofing (Apache-2.0), exported to ONNX.
Each one looks at the face with a different amount of surrounding context and answers
three logits: class 0 = 2D attack (print or screen), class 1 = bona fide, class 2 = 3D
attack. This module reproduces the upstream pre-processing:

1. scale the face box about its centre by the model's crop scale, capped so the box
   still fits in the image: ``s = min((H-1)/h, (W-1)/w, scale)``;
2. shift a box that crosses an image edge back inside (shift, never clip);
3. crop and resize to 80×80 with plain bilinear interpolation (OpenCV's
   ``INTER_LINEAR`` sampling: pixel centres, no anti-aliasing);
4. feed BGR, raw 0..255 values as float32, NCHW.

The two softmax vectors are averaged; the photo is real when class 1 has the largest
averaged probability, and ``real_score`` is that averaged class-1 probability.

Importing this module needs numpy and onnxruntime; when either is missing it raises
:class:`RuntimeError` saying what to install.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

try:
    import numpy as np
    import onnxruntime as ort  # type: ignore[import-untyped]  # onnxruntime ships no type hints (no py.typed)
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise RuntimeError(
        f"real-model mode needs numpy and onnxruntime ({exc.name} is missing): "
        "install them with pip install -e '.[real]'"
    ) from exc

INPUT_SIZE = 80
REAL_CLASS = 1


@dataclass(frozen=True)
class LivenessNet:
    """One network file and the crop scale it was trained with."""

    path: Path
    scale: float


@dataclass(frozen=True)
class LivenessScore:
    """Fused answer of the networks for one face."""

    #: Averaged softmax vector: (2D attack, bona fide, 3D attack).
    probabilities: tuple[float, float, float]

    @property
    def real_score(self) -> float:
        """Averaged bona-fide probability, 0..1."""
        return self.probabilities[REAL_CLASS]

    @property
    def is_real(self) -> bool:
        """Upstream's rule: bona fide has the largest averaged probability."""
        return max(range(3), key=lambda i: self.probabilities[i]) == REAL_CLASS


def crop_box(
    image_width: int, image_height: int, box: tuple[int, int, int, int], scale: float
) -> tuple[int, int, int, int]:
    """Upstream's context box: (x1, y1, x2, y2), inclusive, inside the image.

    ``box`` is (x, y, w, h) of the detected face.
    """
    x, y, w, h = box
    s = min((image_height - 1) / h, (image_width - 1) / w, scale)
    new_w, new_h = w * s, h * s
    cx, cy = x + w / 2, y + h / 2
    x1, y1 = cx - new_w / 2, cy - new_h / 2
    x2, y2 = cx + new_w / 2, cy + new_h / 2
    # Shift (do not clip) a box that sticks out of the image.
    if x1 < 0:
        x2 -= x1
        x1 = 0
    if y1 < 0:
        y2 -= y1
        y1 = 0
    if x2 > image_width - 1:
        x1 -= x2 - image_width + 1
        x2 = image_width - 1
    if y2 > image_height - 1:
        y1 -= y2 - image_height + 1
        y2 = image_height - 1
    return int(x1), int(y1), int(x2), int(y2)


def _linear_taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of OpenCV-style bilinear sampling along one axis."""
    ratio = src / dst
    pos = (np.arange(dst, dtype=np.float64) + 0.5) * ratio - 0.5
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    frac[lo < 0] = 0.0
    lo[lo < 0] = 0
    at_end = lo >= src - 1
    lo[at_end] = src - 1
    frac[at_end] = 0.0
    hi = np.minimum(lo + 1, src - 1)
    return lo, hi, frac


def resize_bilinear(patch: np.ndarray, size: int) -> np.ndarray:
    """Resize an (H, W, C) uint8 patch to size×size like ``cv2.resize(..., INTER_LINEAR)``."""
    height, width = patch.shape[:2]
    y0, y1, fy = _linear_taps(height, size)
    x0, x1, fx = _linear_taps(width, size)
    src = patch.astype(np.float32)
    fy = fy.astype(np.float32)[:, None, None]
    fx = fx.astype(np.float32)[None, :, None]
    top = src[y0][:, x0] * (1 - fx) + src[y0][:, x1] * fx
    bottom = src[y1][:, x0] * (1 - fx) + src[y1][:, x1] * fx
    out = top * (1 - fy) + bottom * fy
    # OpenCV hands back uint8 for uint8 input: round like it does.
    rounded: np.ndarray = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return rounded


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    probabilities: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return probabilities


class LivenessModel:
    """The MiniFASNet pair, each with its own onnxruntime session, loaded once."""

    def __init__(self, nets: Sequence[LivenessNet], threads: int = 1) -> None:
        if not nets:
            raise ValueError("at least one liveness network is needed")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._nets: list[tuple[LivenessNet, ort.InferenceSession, str, str]] = []
        for net in nets:
            session = ort.InferenceSession(str(net.path), sess_options=options, providers=["CPUExecutionProvider"])
            inputs, outputs = session.get_inputs(), session.get_outputs()
            if len(inputs) != 1 or not outputs:
                raise RuntimeError(f"{net.path.name}: expected one input and a logits output")
            shape = inputs[0].shape
            if len(shape) != 4 or shape[1:] != [3, INPUT_SIZE, INPUT_SIZE]:
                raise RuntimeError(
                    f"{net.path.name}: expected input shape (N, 3, {INPUT_SIZE}, {INPUT_SIZE}), found {shape}"
                )
            self._nets.append((net, session, inputs[0].name, outputs[0].name))

    def crops(self, rgb: np.ndarray, box: tuple[int, int, int, int]) -> list[np.ndarray]:
        """The network inputs for one face: a (1, 3, 80, 80) BGR float32 array per net."""
        height, width = rgb.shape[:2]
        tensors = []
        for net, _session, _input, _output in self._nets:
            x1, y1, x2, y2 = crop_box(width, height, box, net.scale)
            patch = rgb[y1 : y2 + 1, x1 : x2 + 1]
            resized = resize_bilinear(patch, INPUT_SIZE)
            bgr = resized[:, :, ::-1]
            tensors.append(np.ascontiguousarray(bgr.transpose(2, 0, 1)[None], dtype=np.float32))
        return tensors

    def predict(self, rgb: np.ndarray, box: tuple[int, int, int, int]) -> LivenessScore:
        """Fused liveness of the face at ``box`` = (x, y, w, h) in an RGB uint8 image."""
        if box[2] <= 0 or box[3] <= 0:
            raise ValueError(f"empty face box {box}")
        total = np.zeros(3, dtype=np.float64)
        for (_net, session, input_name, output_name), tensor in zip(self._nets, self.crops(rgb, box), strict=True):
            (logits,) = session.run([output_name], {input_name: tensor})
            total += _softmax(np.asarray(logits, dtype=np.float64).reshape(-1, 3))[0]
        mean = total / len(self._nets)
        return LivenessScore(probabilities=(float(mean[0]), float(mean[1]), float(mean[2])))
