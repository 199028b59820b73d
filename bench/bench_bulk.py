"""Benchmark of bulk mode: N two-image cases against the mock, through the CLI and through a
server job. Not a timed test: it prints figures.

    .venv/bin/python bench/bench_bulk.py [--cases 1000] [--concurrency 8] [--repeat 3]

The mock is started with ``facematch serve`` (as tests/live.py does) with the serve
defaults (two sync workers per core, no strict checks, access log off). The input archive
is built here from variants of the fixture photos (small crops re-encoded as JPEG), so the
cases are distinct images answered by the mock's derived outcomes, not by fixture lookups.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import requests
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facematch_bulk.runner import DEFAULT_CONCURRENCY
from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token
from mock_server.cli import default_workers
from tests.live import start_server

PHOTOS = [
    "astronaut_a.jpg",
    "astronaut_b.jpg",
    "hopper_a.jpg",
    "hopper_b.jpg",
    "recapture.jpg",
    "collage.jpg",
    "hopper_gray.jpg",
    "hopper_exif6.jpg",
]


def variants(count: int) -> list[bytes]:
    """``count`` distinct JPEGs: each photo cropped by a few pixels and re-encoded."""
    images = [Image.open(ROOT / "fixtures" / "images" / name).convert("RGB") for name in PHOTOS]
    out = []
    for index in range(count):
        photo = images[index % len(images)]
        shift = 1 + index // len(images)
        width, height = photo.size
        crop = photo.crop((shift % 17, shift % 13, width - shift % 11, height - shift % 7))
        buffer = io.BytesIO()
        crop.save(buffer, "JPEG", quality=85 + index % 10)
        out.append(buffer.getvalue())
    return out


def build_archive(path: Path, cases: int) -> int:
    pool = variants(max(16, cases // 5))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(cases):
            archive.writestr(f"case{index:05d}/image1.jpg", pool[index % len(pool)])
            archive.writestr(f"case{index:05d}/image2.jpg", pool[(index * 7 + 3) % len(pool)])
    return path.stat().st_size


def run_cli(base_url: str, source: Path, output: Path, concurrency: int) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "facematch",
            "bulk",
            str(source),
            "--base-url",
            base_url,
            "--output",
            str(output),
            "--concurrency",
            str(concurrency),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"facematch bulk exited {done.returncode}: {done.stderr}")
    with zipfile.ZipFile(output) as archive:
        return wall, json.loads(archive.read("summary.json"))


def run_job(base_url: str, source: Path) -> tuple[float, dict]:
    headers = {"Authorization": f"Bearer {mint_token(DEV_JWT_SECRET)}"}
    start = time.perf_counter()
    with source.open("rb") as handle:
        accepted = requests.post(
            f"{base_url}/bulk", files={"file": (source.name, handle, "application/zip")}, headers=headers, timeout=300
        )
    accepted.raise_for_status()
    job_id = accepted.json()["id"]
    while True:
        job = requests.get(f"{base_url}/bulk/{job_id}", headers=headers, timeout=60).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    wall = time.perf_counter() - start
    if job["status"] != "done":
        raise SystemExit(f"bulk job failed: {job['message']}")
    result = requests.get(f"{base_url}{job['result_url']}", headers=headers, timeout=60)
    with zipfile.ZipFile(io.BytesIO(result.content)) as archive:
        return wall, json.loads(archive.read("summary.json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as folder:
        source = Path(folder) / "cases.zip"
        started = time.perf_counter()
        size = build_archive(source, args.cases)
        print(
            f"archive: {args.cases} two-image cases, {size / 1e6:.1f} MB "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )
        workers = default_workers()
        with start_server("--workers", str(workers), "--quiet") as base_url:
            print(f"mock: facematch serve --workers {workers} (sync), client concurrency {args.concurrency}")
            cli_rates, cli_walls, job_rates, job_walls = [], [], [], []
            for attempt in range(1, args.repeat + 1):
                wall, summary = run_cli(base_url, source, Path(folder) / "out.zip", args.concurrency)
                rate = summary["timing"]["cases_per_second"]
                cli_rates.append(rate)
                cli_walls.append(wall)
                latency = summary["timing"]["latency_ms"]
                print(
                    f"  cli  run {attempt}: sending {summary['timing']['seconds']:.2f} s = {rate:.0f} cases/s; "
                    f"whole command {wall:.2f} s = {args.cases / wall:.0f} cases/s; "
                    f"latency p50 {latency['p50']} ms p95 {latency['p95']} ms; by status {summary['by_status']}"
                )
                wall, summary = run_job(base_url, source)
                rate = summary["timing"]["cases_per_second"]
                job_rates.append(rate)
                job_walls.append(wall)
                print(
                    f"  job  run {attempt}: sending {summary['timing']['seconds']:.2f} s = {rate:.0f} cases/s; "
                    f"upload to done {wall:.2f} s = {args.cases / wall:.0f} cases/s"
                )
        print(
            f"median: cli {statistics.median(cli_rates):.0f} cases/s sending, "
            f"{args.cases / statistics.median(cli_walls):.0f} cases/s whole command; "
            f"server job {statistics.median(job_rates):.0f} cases/s sending, "
            f"{args.cases / statistics.median(job_walls):.0f} cases/s upload to done "
            f"(target >= 100 cases/s)"
        )


if __name__ == "__main__":
    main()
