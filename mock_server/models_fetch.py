"""Getting and checking the MiniFASNet liveness models for real-model mode.

The two ONNX files are data, not part of the package. They live in a models directory
(``--models-dir``, ``FACEMATCH_MODELS_DIR``, or ``~/.cache/facematch/models``). Two
namings are accepted, each with the SHA-256 of the one known-good file of that name:

* the names used by this project's shared test data,
  ``minifasnet_v2_scale2.7_80x80.onnx`` and ``minifasnet_v1se_scale4.0_80x80.onnx``;
* the names of the public exports that ``facematch models fetch`` downloads,
  ``MiniFASNetV2.onnx`` and ``MiniFASNetV1SE.onnx``.

Both are ONNX exports of the pretrained weights of minivision-ai/Silent-Face-Anti-Spoofing
(Apache-2.0). This module needs only the standard library: the CLI can fetch and check
models without the real-mode extra installed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Where the public exports are published (GitHub release assets).
DEFAULT_BASE_URL = "https://github.com/yakhyo/face-anti-spoofing/releases/download/weights"
BASE_URL_ENV = "FACEMATCH_MODELS_BASE_URL"
MODELS_DIR_ENV = "FACEMATCH_MODELS_DIR"

_CHUNK = 1 << 16


@dataclass(frozen=True)
class KnownFile:
    name: str
    sha256: str


@dataclass(frozen=True)
class ModelSpec:
    """One liveness network: its crop scale and every file name/hash it may come as."""

    key: str
    scale: float
    #: Accepted files, in order of preference when several are present.
    files: tuple[KnownFile, ...]
    #: The file ``fetch`` downloads (one of ``files``).
    download: KnownFile


_V2_SHARED = KnownFile(
    "minifasnet_v2_scale2.7_80x80.onnx",
    "be35fcbd9c127b8d34ac210d2bd90252e1def415af5021a91ddfc00c25f5e5ef",
)
_V2_UPSTREAM = KnownFile(
    "MiniFASNetV2.onnx",
    "b32929adc2d9c34b9486f8c4c7bc97c1b69bc0ea9befefc380e4faae4e463907",
)
_V1SE_SHARED = KnownFile(
    "minifasnet_v1se_scale4.0_80x80.onnx",
    "34f5abc0cea2dbbfbb29d91f40fa72e77f6b81711cbfd8de300897d33022a801",
)
_V1SE_UPSTREAM = KnownFile(
    "MiniFASNetV1SE.onnx",
    "ebab7f90c7833fbccd46d3a555410e78d969db5438e169b6524be444862b3676",
)

MODEL_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec("MiniFASNetV2", 2.7, (_V2_SHARED, _V2_UPSTREAM), _V2_UPSTREAM),
    ModelSpec("MiniFASNetV1SE", 4.0, (_V1SE_SHARED, _V1SE_UPSTREAM), _V1SE_UPSTREAM),
)


class ModelsError(Exception):
    """The models directory cannot be used, or a download failed; the message says why."""


@dataclass(frozen=True)
class LocatedModel:
    """A verified model file."""

    key: str
    path: Path
    scale: float
    sha256: str


def default_models_dir() -> Path:
    """``FACEMATCH_MODELS_DIR`` if set, else ``~/.cache/facematch/models``."""
    configured = os.environ.get(MODELS_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "facematch" / "models"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _locate_one(directory: Path, spec: ModelSpec) -> tuple[LocatedModel | None, list[str]]:
    problems: list[str] = []
    for known in spec.files:
        path = directory / known.name
        if not path.is_file():
            continue
        actual = sha256_file(path)
        if actual == known.sha256:
            return LocatedModel(spec.key, path, spec.scale, actual), []
        problems.append(
            f"{path}: sha256 is {actual}, expected {known.sha256} "
            f"(corrupt or a different export; delete it and run: facematch models fetch)"
        )
    if not problems:
        names = " or ".join(known.name for known in spec.files)
        problems.append(f"{directory}: {spec.key} is missing (looked for {names})")
    return None, problems


def locate_models(directory: Path | str, specs: tuple[ModelSpec, ...] = MODEL_SPECS) -> list[LocatedModel]:
    """Find and verify both liveness models in ``directory``.

    Raises :class:`ModelsError` listing every problem (missing directory, missing file,
    hash mismatch) with what to do about it. ``specs`` exists for tests.
    """
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        raise ModelsError(
            f"models directory {folder} does not exist: run facematch models fetch "
            f"--dir {folder}, or point --models-dir at a directory holding the models"
        )
    found: list[LocatedModel] = []
    problems: list[str] = []
    for spec in specs:
        located, issues = _locate_one(folder, spec)
        problems.extend(issues)
        if located is not None:
            found.append(located)
    if problems:
        raise ModelsError("; ".join(problems))
    return found


def _resolve_base_url(base_url: str | None) -> str:
    url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return url.rstrip("/")


def _download_verified(url: str, target: Path, expected_sha256: str, timeout: float) -> None:
    """Stream ``url`` into a temporary file beside ``target``; rename only if the hash matches."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        digest.update(chunk)
                        out.write(chunk)
            except (urllib.error.URLError, OSError) as exc:
                raise ModelsError(f"download of {url} failed: {exc}") from exc
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != expected_sha256:
            raise ModelsError(f"refusing {url}: sha256 is {actual}, expected {expected_sha256}; nothing was written")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def fetch_models(
    directory: Path | str | None = None,
    base_url: str | None = None,
    *,
    timeout: float = 60.0,
    log: Callable[[str], None] | None = None,
    specs: tuple[ModelSpec, ...] = MODEL_SPECS,
) -> list[LocatedModel]:
    """Download both liveness models into ``directory`` and return them verified.

    ``base_url`` defaults to ``FACEMATCH_MODELS_BASE_URL`` and then the public release.
    A file already present with the right hash is kept. A download whose hash differs
    is deleted and reported (:class:`ModelsError`); a present file with a wrong hash is
    replaced only by a verified download. ``specs`` exists for tests.
    """
    folder = Path(directory).expanduser() if directory is not None else default_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    root = _resolve_base_url(base_url)
    say = log or (lambda _message: None)
    for spec in specs:
        located, _problems = _locate_one(folder, spec)
        if located is not None:
            say(f"{spec.key}: {located.path.name} already present and verified")
            continue
        known = spec.download
        url = f"{root}/{known.name}"
        say(f"{spec.key}: downloading {url}")
        _download_verified(url, folder / known.name, known.sha256, timeout)
        say(f"{spec.key}: {known.name} verified (sha256 {known.sha256})")
    return locate_models(folder, specs)
