"""Slow-client benchmark: a normal request's latency while N slow clients hold connections.

    python -m bench.bench_slow_clients                      # 50 slow clients, 200 requests
    python -m bench.bench_slow_clients --slow 50 --requests 300 --compare-with DIR

Starts the mock exactly as ``facematch serve`` does (its defaults), measures a normal
two-photo request (two ~70 KB JPEGs, one client, sequential) with no slow clients, then
again while ``--slow`` clients trickle bytes at 1 byte/s: a third send their request
headers slowly, a third a body slowly, a third connect and send nothing; each reconnects
when the server cuts it (408). Prints p50/p99/max and the ratio of the two p99s, and the
same for another checkout (``--compare-with DIR``, e.g. ``git archive REV | tar -x -C DIR``)
in the same run. Load goes to 127.0.0.1 only; the machine is shared, so compare ratios
measured in one run, not figures across runs.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from facematch_contract.operation import DEV_JWT_SECRET, OPERATION_PATH
from facematch_contract.tokens import mint_token
from mock_server.launch import serve

from .images import CONTENT_TYPE, build_bodies, build_images

ROOT = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 100.0
REQUEST_LINE = f"POST {OPERATION_PATH} HTTP/1.1\r\n".encode()


@dataclass(frozen=True)
class Latency:
    label: str
    p50_ms: float
    p99_ms: float
    max_ms: float
    failures: int


def slow_client(port: int, kind: int, stop: threading.Event) -> None:
    """Trickle one byte a second, reconnecting whenever the server closes the connection."""
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                if kind == 1:
                    sock.sendall(REQUEST_LINE + b"Host: x\r\n")
                elif kind == 2:
                    sock.sendall(
                        REQUEST_LINE + b"Host: x\r\nContent-Length: 100000\r\n"
                        b"Content-Type: " + CONTENT_TYPE.encode() + b"\r\n\r\n"
                    )
                while not stop.wait(1.0):
                    if kind:
                        sock.sendall(b"a" if kind == 2 else b"X")
                    else:
                        sock.settimeout(0.01)
                        try:
                            if sock.recv(65536) == b"":
                                break
                        except TimeoutError:
                            pass
        except OSError:
            stop.wait(0.2)  # cut by the server (or refused): come back


#: Bounds of one measurement: a request that waits longer counts as a failure, and a
#: measurement stops after this long even if not all its requests were sent.
REQUEST_TIMEOUT_S = 10.0
MEASUREMENT_S = 60.0


def measure(port: int, body: bytes, token: str, requests: int, label: str) -> Latency:
    headers = {"Content-Type": CONTENT_TYPE, "Authorization": f"Bearer {token}"}
    timings, failures = [], 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    ends = time.monotonic() + MEASUREMENT_S
    for _ in range(requests):
        if time.monotonic() > ends:
            break
        started = time.perf_counter()
        try:
            connection.request("POST", OPERATION_PATH, body, headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failures += 1
        except OSError:
            failures += 1
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    label = f"{label} ({len(timings)} requests)"
    return Latency(
        label,
        statistics.median(timings),
        timings[min(len(timings) - 1, int(len(timings) * 0.99))],
        timings[-1],
        failures,
    )


def run(cwd: Path, name: str, slow: int, requests: int, body: bytes, token: str) -> list[Latency]:
    with serve("--quiet", cwd=cwd) as server:
        port = server.port
        measure(port, body, token, 20, "warm-up")
        quiet = measure(port, body, token, requests, f"{name}: no slow clients")
        stop = threading.Event()
        threads = [
            threading.Thread(target=slow_client, args=(port, index % 3, stop), daemon=True) for index in range(slow)
        ]
        for thread in threads:
            thread.start()
        time.sleep(2.0)  # all connected and trickling
        loaded = measure(port, body, token, requests, f"{name}: {slow} slow clients")
        stop.set()
        for thread in threads:
            thread.join(5)
        return [quiet, loaded]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=int, default=50, help="slow clients connected during the second run")
    parser.add_argument("--requests", type=int, default=200, help="normal requests per measurement")
    parser.add_argument("--compare-with", default="", metavar="DIR", help="also measure another checkout")
    args = parser.parse_args(argv)
    body = build_bodies(build_images())["two_70k"]
    token = mint_token(DEV_JWT_SECRET, expires_in=3600)
    print(
        f"machine: {os.cpu_count()} CPUs, load average {Path('/proc/loadavg').read_text().split()[0]} "
        "(shared: compare the ratios within this run)",
        flush=True,
    )
    results = run(ROOT, "mock", args.slow, args.requests, body, token)
    if args.compare_with:
        results += run(
            Path(args.compare_with).resolve(), f"@{Path(args.compare_with).name}", args.slow, args.requests, body, token
        )
    for result in results:
        print(
            f"  {result.label:50s} p50 {result.p50_ms:8.1f} ms  p99 {result.p99_ms:8.1f} ms  "
            f"max {result.max_ms:8.1f} ms  failures {result.failures}"
        )
    for quiet, loaded in zip(results[::2], results[1::2], strict=True):
        verdict = "met" if loaded.p99_ms < TARGET_P99_MS and not loaded.failures else "NOT met"
        print(
            f"  {loaded.label}: p99 {loaded.p99_ms:.1f} ms ({loaded.p99_ms / quiet.p99_ms:.2f}x the quiet p99); "
            f"target p99 < {TARGET_P99_MS:g} ms: {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
