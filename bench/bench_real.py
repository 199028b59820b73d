"""Latency and throughput of real-model mode: two ~1 MP photos per request, over HTTP.

    python -m bench.bench_real                          # defaults: see --help
    python -m bench.bench_real --requests 100 --duration 30 --concurrency 4
    python -m bench.bench_real --workers 1 --threads 1  # another gunicorn layout
    python -m bench.bench_real --stages-only            # per-stage timings, no server

It starts ``facematch serve --mode real`` on a free 127.0.0.1 port (exactly as a user
would), waits for /healthz, sends a few warm-up requests, then measures:

1. one client, requests one after the other: p50 / p90 / p99 / max latency;
2. ``--concurrency`` clients for ``--duration`` seconds: requests/s and latency;
3. (in-process, no HTTP) the engine's per-stage timings for the same two photos;
4. (in-process) the embedding network alone on the two face chips, our numpy
   evaluation against dlib-bin's own code as the baseline (speed ratio, and the largest
   difference between the two vectors).

The photos are two portraits of one person from the shared test data (``../shared/faces``
or ``$FACEMATCH_SHARED_DIR``), rescaled to about one megapixel and re-encoded as JPEG in
memory; nothing is written to the repository except ``bench/results/real.json``
(git-ignored).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import sys
import threading
import time
import uuid
from contextlib import AbstractContextManager
from pathlib import Path

from PIL import Image, ImageOps

from facematch_contract.operation import DEV_JWT_SECRET, OPERATION_PATH
from facematch_contract.tokens import mint_token
from mock_server.launch import RunningServer, serve

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SHARED = Path(os.environ.get("FACEMATCH_SHARED_DIR") or ROOT.parent / "shared")
PHOTOS = ("fr_obama.jpg", "fr_obama2.jpg")
TARGET_P50_MS = 250
TARGET_P99_MS = 400


def megapixel_jpeg(path: Path, pixels: int = 1_000_000, quality: int = 90) -> bytes:
    """The photo upright, rescaled to about ``pixels`` pixels, as an in-memory JPEG."""
    image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    factor = (pixels / (image.width * image.height)) ** 0.5
    image = image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def multipart(parts: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = "realbench" + uuid.uuid4().hex
    chunks: list[bytes] = []
    for name, data in parts.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n".encode()
        )
        chunks.append(data)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def serve_real(models_dir: Path, workers: int | None, threads: int | None) -> AbstractContextManager[RunningServer]:
    """``facematch serve --mode real`` on a free port, with the command's defaults unless given."""
    options = ["--mode", "real", "--models-dir", str(models_dir), "--quiet"]
    if workers:
        options += ["--workers", str(workers)]
    if threads:
        options += ["--threads", str(threads)]
    return serve(*options, cwd=ROOT, ready_timeout=120.0)


class Client:
    """One keep-alive connection posting the same body."""

    def __init__(self, port: int, body: bytes, content_type: str, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.body = body
        self.headers = {"Content-Type": content_type, "Authorization": f"Bearer {token}"}

    def post(self) -> tuple[int, float, bytes]:
        started = time.perf_counter()
        self.conn.request("POST", OPERATION_PATH, body=self.body, headers=self.headers)
        response = self.conn.getresponse()
        payload = response.read()
        return response.status, (time.perf_counter() - started) * 1000.0, payload


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p90_ms": round(percentile(latencies, 90), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
    }


def one_client(port: int, body: bytes, content_type: str, token: str, count: int) -> dict[str, float]:
    client = Client(port, body, content_type, token)
    latencies = []
    for _ in range(count):
        status, elapsed, payload = client.post()
        if status != 200:
            raise RuntimeError(f"unexpected {status}: {payload[:300]!r}")
        latencies.append(elapsed)
    return summary(latencies)


def many_clients(port: int, body: bytes, content_type: str, token: str, clients: int, duration: float) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def run() -> None:
        nonlocal errors
        client = Client(port, body, content_type, token)
        while time.perf_counter() < deadline:
            status, elapsed, _ = client.post()
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "rps": round(len(latencies) / wall, 2),
        "errors": errors,
        **summary(latencies),
    }


def stage_timings(models_dir: Path, photos: list[bytes], repeats: int) -> dict[str, dict[str, float]]:
    """Median per-stage milliseconds of the engine's pipeline for each photo (one process)."""
    from mock_server.config import RealModeSettings
    from mock_server.engines.real import Analyser, ImageAnalysis

    analyser = Analyser(RealModeSettings(models_dir=models_dir))
    analyser.warm_up()
    report: dict[str, dict[str, float]] = {}
    for index, data in enumerate(photos, start=1):
        samples: dict[str, list[float]] = {}
        for _ in range(repeats):
            result = analyser.analyse(f"image{index}", data, want_embedding=True)
            assert isinstance(result, ImageAnalysis), result
            for stage, ms in result.timings_ms.items():
                samples.setdefault(stage, []).append(ms)
        medians = {stage: round(statistics.median(values), 1) for stage, values in samples.items()}
        medians["total"] = round(sum(medians.values()), 1)
        report[f"image{index}"] = medians
    return report


def embedding_baseline(models_dir: Path, photos: list[bytes], repeats: int) -> dict[str, float]:
    """The embedding network alone on each photo's face chip: our numpy evaluation against
    dlib-bin's own code (the baseline), median milliseconds, and how far apart their vectors are."""
    import dlib
    import numpy as np

    from mock_server.config import RealModeSettings
    from mock_server.engines.face_model import RECOGNITION_MODEL_FILE, dlib_models_dir
    from mock_server.engines.real import Analyser, decode_rgb

    analyser = Analyser(RealModeSettings(models_dir=models_dir))
    baseline = dlib.face_recognition_model_v1(str(dlib_models_dir() / RECOGNITION_MODEL_FILE))
    ours_ms: list[float] = []
    dlib_ms: list[float] = []
    worst = 0.0
    for data in photos:
        rgb = np.asarray(decode_rgb(data, analyser.settings.analysis_max_side))
        box = analyser.faces.detect(rgb)[0]
        chip = analyser.faces.chip(rgb, box)
        for _ in range(repeats):
            started = time.perf_counter()
            ours = analyser.faces.embed_chip(chip)
            middle = time.perf_counter()
            theirs = np.asarray(baseline.compute_face_descriptor(chip))
            ours_ms.append((middle - started) * 1000.0)
            dlib_ms.append((time.perf_counter() - middle) * 1000.0)
            worst = max(worst, float(np.abs(ours - theirs).max()))
    ours_median, dlib_median = statistics.median(ours_ms), statistics.median(dlib_ms)
    return {
        "numpy_ms": round(ours_median, 1),
        "dlib_bin_ms": round(dlib_median, 1),
        "speed_ratio": round(dlib_median / ours_median, 2),
        "max_abs_difference": worst,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", type=Path, default=SHARED / "models")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the CLI's)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: the CLI's)")
    parser.add_argument("--requests", type=int, default=60, help="sequential requests for the one-client figures")
    parser.add_argument("--concurrency", type=int, default=4, help="clients for the throughput figure")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of the throughput run")
    parser.add_argument("--stage-repeats", type=int, default=15)
    parser.add_argument("--stages-only", action="store_true", help="only the in-process stage timings")
    args = parser.parse_args(argv)

    photos = [megapixel_jpeg(SHARED / "faces" / "images" / name) for name in PHOTOS]
    sizes = [Image.open(io.BytesIO(data)).size for data in photos]
    print(f"photos: {', '.join(f'{w}x{h} {len(d) // 1024} KiB' for (w, h), d in zip(sizes, photos, strict=True))}")
    results: dict = {"photos": [{"size": list(s), "bytes": len(d)} for s, d in zip(sizes, photos, strict=True)]}

    if not args.stages_only:
        body, content_type = multipart({"image1": photos[0], "image2": photos[1]})
        token = mint_token(DEV_JWT_SECRET)
        with serve_real(args.models_dir, args.workers, args.threads) as server:
            port = server.port
            results["startup_s"] = round(server.ready_after_s, 2)
            print(
                f"server ready in {results['startup_s']} s "
                f"(workers={args.workers or 'default'}, threads={args.threads or 'default'})"
            )
            warm = Client(port, body, content_type, token)
            for _ in range(5):
                status, _elapsed, payload = warm.post()
                if status != 200:
                    raise RuntimeError(f"warm-up answered {status}: {payload[:300]!r}")
            print(f"answer: {payload.decode()}")
            single = one_client(port, body, content_type, token, args.requests)
            results["one_client"] = single
            verdict = "meets" if single["p50_ms"] <= TARGET_P50_MS and single["p99_ms"] <= TARGET_P99_MS else "misses"
            print(
                f"one client, {single['n']} requests: p50 {single['p50_ms']} ms, p90 {single['p90_ms']} ms, "
                f"p99 {single['p99_ms']} ms, max {single['max_ms']} ms "
                f"({verdict} the {TARGET_P50_MS}/{TARGET_P99_MS} ms target)"
            )
            load = many_clients(port, body, content_type, token, args.concurrency, args.duration)
            results["throughput"] = load
            print(
                f"{load['clients']} clients for {load['seconds']} s: {load['rps']} req/s, "
                f"p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms, errors {load['errors']}"
            )

    stages = stage_timings(args.models_dir, photos, args.stage_repeats)
    results["stages_ms"] = stages
    for image, medians in stages.items():
        print(
            f"stages {image} (median of {args.stage_repeats}, one process): "
            + ", ".join(f"{stage} {ms} ms" for stage, ms in medians.items())
        )

    embedding = embedding_baseline(args.models_dir, photos, args.stage_repeats)
    results["embedding_network"] = embedding
    print(
        f"embedding network per face (median of {2 * args.stage_repeats}, one thread): "
        f"numpy {embedding['numpy_ms']} ms vs dlib-bin {embedding['dlib_bin_ms']} ms (baseline) = "
        f"{embedding['speed_ratio']}x faster; largest difference between the vectors "
        f"{embedding['max_abs_difference']:.1e}"
    )

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "real.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures written to {RESULTS / 'real.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
