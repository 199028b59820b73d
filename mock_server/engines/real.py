"""Real-model engine: face detection, MiniFASNet liveness and a dlib face match on CPU.

One photo goes through these stages (see ``docs/real-mode.md`` for the measurements):

1. **decode** the upload once: JPEG in Pillow's draft mode (DCT scaling) when it is much
   larger than needed, EXIF orientation applied, converted to RGB, then scaled down so
   its longest side is at most ``analysis_max_side``: the *analysis image*;
2. **detect** faces once, on a copy scaled down to ``detect_max_side``; when none is
   found there, once more with the detector's own 2× upsampling (for small faces). Faces
   cut off by the image edge (more than ``MAX_FACE_OUTSIDE`` of the box outside) are not
   usable; of the rest the largest wins and its box is mapped back to the analysis image.
   No usable face → ``NO_FACE`` naming the image (400);
3. **liveness**: the two MiniFASNet crops of that box, averaged softmax;
4. **embed**: 5-point alignment and the 128-d embedding of dlib's ResNet, evaluated with
   numpy (:mod:`.dlib_resnet`; only when a match is asked for, i.e. when image2 was sent).

dlib's detector releases the GIL but is not thread-safe, so threads cannot run two
photos' detections at once. With ``helper_processes`` = 1 (the default) the engine keeps
one helper process, started and warmed up in ``__init__``, that analyses image2 while
the calling thread analyses image1.

The match: ``matched`` is exactly ``distance <= match_distance``; the confidence is a
logistic map of the distance centred on the threshold (50 there), see
:func:`match_confidence`.
"""

from __future__ import annotations

import atexit
import dataclasses
import io
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

try:
    import numpy as np
    from PIL import Image, ImageOps
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # threadpoolctl ships no type hints
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise RuntimeError(
        f"real-model mode needs numpy, Pillow and threadpoolctl ({exc.name} is missing): "
        "install them with pip install -e '.[real]'"
    ) from exc

from ..config import RealModeSettings
from ..domain import CheckedImage, Liveness, Match, Outcome
from ..errors import ApiError, ErrorKind
from ..models_fetch import ModelsError, locate_models
from .face_model import FaceBox, FaceModel, face_distance
from .liveness_model import LivenessModel, LivenessNet, LivenessScore

log = logging.getLogger(__name__)

#: Slope of the logistic distance → confidence map (per unit of Euclidean distance).
MATCH_STEEPNESS = 12.0
#: A face whose detector box reaches further than this share of its width (or height)
#: beyond the image edges is cut off by the frame and not usable.
MAX_FACE_OUTSIDE = 0.10
#: How long a request waits for the helper process before doing the work itself.
HELPER_TIMEOUT_S = 30.0
#: How long ``__init__`` waits for the helper to load its models (well inside gunicorn's
#: worker timeout); a slower helper is used from the moment it is ready.
HELPER_START_TIMEOUT_S = 20.0


# --------------------------------------------------------------------------- mapping


def match_confidence(distance: float, threshold: float) -> float:
    """Match confidence (0..100, two decimals) for an embedding distance.

    ``100 / (1 + exp(k·(d − t)))`` with k = :data:`MATCH_STEEPNESS`: exactly 50 at the
    threshold, about 95 at t − 0.25 and about 5 at t + 0.25. Rounding never carries a
    value across 50: a match (d ≤ t) is at least 50.00, a non-match at most 49.99.
    """
    z = MATCH_STEEPNESS * (distance - threshold)
    raw = 100.0 / (1.0 + math.exp(z)) if z < 700 else 0.0
    value = round(raw, 2)
    if distance <= threshold:
        return max(50.0, min(100.0, value))
    return max(0.0, min(49.99, value))


def liveness_from_score(score: LivenessScore, threshold: float | None) -> Liveness:
    """``real`` by upstream's arg-max rule, or by ``real_score >= threshold`` when one is set.

    The reported score is the fused real-class probability × 100, two decimals.
    """
    real = score.is_real if threshold is None else score.real_score >= threshold
    return Liveness("real" if real else "fake", round(score.real_score * 100.0, 2))


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class ImageAnalysis:
    """What one photo yielded; plain data so it crosses the process boundary cheaply."""

    field: str
    liveness: tuple[float, float, float]
    embedding: tuple[float, ...] | None
    faces: int
    #: Chosen face (x, y, w, h) in the analysis image, and that image's size (w, h).
    box: tuple[int, int, int, int]
    size: tuple[int, int]
    timings_ms: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class ImageFailure:
    """A photo that could not be used: ``kind`` is an :class:`ErrorKind` value."""

    field: str
    kind: str
    detail: str

    def error(self) -> ApiError:
        return ApiError(ErrorKind(self.kind), {"field": self.field})


def _scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    factor = max_side / max(width, height)
    return max(1, round(width * factor)), max(1, round(height * factor))


def decode_rgb(data: bytes, max_side: int) -> Image.Image:
    """Decode once: EXIF orientation applied, RGB, longest side at most ``max_side``."""
    opened = Image.open(io.BytesIO(data))
    width, height = opened.size
    if opened.format == "JPEG" and max(width, height) > max_side:
        # DCT scaling to the smallest 1/2, 1/4 or 1/8 that is still >= the target.
        opened.draft("RGB", _scaled_size(width, height, max_side))
    image: Image.Image = ImageOps.exif_transpose(opened)
    if image.mode != "RGB":
        image = image.convert("RGB")
    if max(image.size) > max_side:
        image = image.resize(_scaled_size(*image.size, max_side), Image.Resampling.BILINEAR)
    return image


class Analyser:
    """All models of one process and the per-photo pipeline (decode → detect → liveness → embed)."""

    def __init__(self, settings: RealModeSettings) -> None:
        if settings.models_dir is None:
            raise RuntimeError(
                "real mode needs the liveness models: pass --models-dir DIR "
                "(facematch models fetch --dir DIR downloads them)"
            )
        try:
            located = locate_models(settings.models_dir)
        except ModelsError as exc:
            raise RuntimeError(f"real mode cannot start: {exc}") from exc
        self.settings = settings
        # One BLAS thread for the embedding network: the two photos of a request already
        # run in two processes, and more threads per process only contend for the cores.
        threadpool_limits(limits=1, user_api="blas")
        self.faces = FaceModel()
        self.liveness = LivenessModel([LivenessNet(m.path, m.scale) for m in located])

    def warm_up(self) -> None:
        """One full pass on a synthetic image so the first request pays no lazy set-up."""
        rng = np.random.default_rng(0)
        noise = rng.integers(0, 256, size=(240, 320, 3), dtype=np.uint8)
        self.faces.detect(noise)
        box = FaceBox(100, 60, 220, 180)
        self.liveness.predict(noise, (box.left, box.top, box.width, box.height))
        self.faces.embed(noise, box)

    def analyse(self, field_name: str, data: bytes, want_embedding: bool) -> ImageAnalysis | ImageFailure:
        try:
            return self._analyse(field_name, data, want_embedding)
        except Exception as exc:  # any model or decoder failure becomes a 400 naming the image
            log.warning("real engine: %s could not be processed: %r", field_name, exc)
            return ImageFailure(field_name, ErrorKind.PROCESSING_FAILED.value, repr(exc))

    def _analyse(self, field_name: str, data: bytes, want_embedding: bool) -> ImageAnalysis | ImageFailure:
        settings = self.settings
        timings: dict[str, float] = {}
        started = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal started
            now = time.perf_counter()
            timings[stage] = round((now - started) * 1000.0, 2)
            started = now

        image = decode_rgb(data, settings.analysis_max_side)
        rgb = np.asarray(image)
        lap("decode")

        width, height = image.size
        factor = min(1.0, settings.detect_max_side / max(width, height))
        if factor < 1.0:
            small = image.resize(_scaled_size(width, height, settings.detect_max_side), Image.Resampling.BILINEAR)
            detect_rgb = np.asarray(small)
            factor = small.width / width
        else:
            detect_rgb = rgb
        found = self.faces.detect(detect_rgb)
        if not found:
            found = self.faces.detect(detect_rgb, upsample=1)
        lap("detect")
        if not found:
            return ImageFailure(field_name, ErrorKind.NO_FACE.value, "no face found")
        # Largest face that the frame does not cut off (detect() sorts largest first).
        boxes = [candidate for candidate in found if candidate.outside <= MAX_FACE_OUTSIDE]
        if not boxes:
            return ImageFailure(field_name, ErrorKind.NO_FACE.value, "face cut off by the image edge")
        box = boxes[0].scaled(1.0 / factor, width, height)
        if box.width < 2 or box.height < 2:
            return ImageFailure(field_name, ErrorKind.NO_FACE.value, "face too small")
        xywh = (box.left, box.top, box.width, box.height)

        score = self.liveness.predict(rgb, xywh)
        lap("liveness")

        embedding: tuple[float, ...] | None = None
        if want_embedding:
            embedding = tuple(float(v) for v in self.faces.embed(rgb, box))
            lap("embed")
        return ImageAnalysis(
            field=field_name,
            liveness=score.probabilities,
            embedding=embedding,
            faces=len(found),
            box=xywh,
            size=(width, height),
            timings_ms=timings,
        )


# --------------------------------------------------------------------------- helper process

_helper_analyser: Analyser | None = None


def _helper_init(settings: RealModeSettings, parent_pid: int) -> None:
    """Runs in the helper process: load the models once, then follow the parent's life."""
    global _helper_analyser
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the helper ends
    _helper_analyser = Analyser(settings)
    _helper_analyser.warm_up()

    def watch_parent() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(0)  # orphaned (the worker was killed): do not linger

    threading.Thread(target=watch_parent, name="watch-parent", daemon=True).start()


def _helper_ready() -> int:
    return os.getpid()


def _helper_analyse(field_name: str, data: bytes, want_embedding: bool) -> ImageAnalysis | ImageFailure:
    assert _helper_analyser is not None, "helper used before its initialiser ran"
    return _helper_analyser.analyse(field_name, data, want_embedding)


class _Helper:
    """One spawned process holding its own copy of the models."""

    def __init__(self, settings: RealModeSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._ready: Future[int] | None = None
        self._start()

    def _start(self) -> None:
        # spawn, not fork: the parent already runs onnxruntime/gunicorn threads.
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_helper_init,
            initargs=(self._settings, os.getpid()),
        )
        self._ready = self._pool.submit(_helper_ready)

    def wait_ready(self, timeout: float) -> None:
        assert self._ready is not None
        self._ready.result(timeout=timeout)

    def submit(self, field_name: str, data: bytes, want_embedding: bool) -> Future[ImageAnalysis | ImageFailure] | None:
        """Queue a photo; None when the helper is not usable right now (caller does it)."""
        with self._lock:
            if self._pool is None or self._ready is None or not self._ready.done():
                return None
            try:
                return self._pool.submit(_helper_analyse, field_name, data, want_embedding)
            except (BrokenProcessPool, RuntimeError):
                self._restart_locked()
                return None

    def restart(self) -> None:
        with self._lock:
            self._restart_locked()

    def _restart_locked(self) -> None:
        log.warning("real engine: helper process lost; starting a new one")
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._start()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


# --------------------------------------------------------------------------- engine


class RealEngine:
    """The engine of ``facematch serve --mode real``; one per server worker."""

    name = "real"

    def __init__(self, settings: RealModeSettings) -> None:
        started = time.perf_counter()
        self.settings = settings
        self.analyser = Analyser(settings)
        self.analyser.warm_up()
        self._helper: _Helper | None = None
        if settings.helper_processes > 0:
            self._helper = _Helper(settings)
            try:
                self._helper.wait_ready(HELPER_START_TIMEOUT_S)
            except FutureTimeoutError:
                log.warning("real engine: helper process still loading; photos run here until it is ready")
            except Exception as exc:
                # The engine still works without it, one photo after the other.
                log.warning("real engine: helper process did not start (%r); running without it", exc)
                self._helper.close()
                self._helper = None
        if self._helper is not None:
            # Stop the helper cleanly when the server worker exits.
            atexit.register(self.close)
        log.info(
            "real engine ready in %.0f ms (helper process: %s)",
            (time.perf_counter() - started) * 1000.0,
            "yes" if self._helper else "no",
        )

    def close(self) -> None:
        if self._helper is not None:
            self._helper.close()
            self._helper = None

    def evaluate(self, image1: CheckedImage, image2: CheckedImage | None) -> Outcome:
        want_embedding = image2 is not None
        pending: Future[ImageAnalysis | ImageFailure] | None = None
        if image2 is not None and self._helper is not None:
            pending = self._helper.submit(image2.field, image2.data, want_embedding)
        first = self.analyser.analyse(image1.field, image1.data, want_embedding)
        second: ImageAnalysis | ImageFailure | None = None
        if image2 is not None:
            second = self._collect(pending, image2, want_embedding)
        # image1's problem is reported first, as a client would fix it first.
        for result in (first, second):
            if isinstance(result, ImageFailure):
                raise result.error()
        assert isinstance(first, ImageAnalysis)
        threshold = self.settings.liveness_threshold
        live1 = liveness_from_score(LivenessScore(first.liveness), threshold)
        if second is None:
            self._log(first)
            return Outcome(image1=live1)
        assert isinstance(second, ImageAnalysis)
        assert first.embedding is not None and second.embedding is not None
        live2 = liveness_from_score(LivenessScore(second.liveness), threshold)
        distance = face_distance(np.asarray(first.embedding), np.asarray(second.embedding))
        limit = self.settings.match_distance
        match = Match(matched=distance <= limit, confidence=match_confidence(distance, limit))
        self._log(first, second, distance)
        return Outcome(image1=live1, image2=live2, match=match)

    def _collect(
        self, pending: Future[ImageAnalysis | ImageFailure] | None, image: CheckedImage, want_embedding: bool
    ) -> ImageAnalysis | ImageFailure:
        if pending is not None:
            try:
                return pending.result(timeout=HELPER_TIMEOUT_S)
            except BrokenProcessPool:
                assert self._helper is not None
                self._helper.restart()
            except Exception as exc:  # timeout or a pickling problem: do it here instead
                log.warning("real engine: helper failed on %s: %r", image.field, exc)
        return self.analyser.analyse(image.field, image.data, want_embedding)

    @staticmethod
    def _log(first: ImageAnalysis, second: ImageAnalysis | None = None, distance: float | None = None) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return
        parts = [f"{a.field}: faces={a.faces} box={a.box} ms={a.timings_ms}" for a in (first, second) if a]
        if distance is not None:
            parts.append(f"distance={distance:.4f}")
        log.debug("real engine: %s", "; ".join(parts))
