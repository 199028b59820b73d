"""Benchmark of ``facematch proxy``: what it adds to a call, direct vs proxied, in the same run.
Not a timed test: it prints figures.

    .venv/bin/python bench/bench_proxy.py [--requests 400] [--clients 1,4,8,16] [--seconds 5]

Upstream: the mock under ``facematch serve`` with its defaults (two sync workers per core,
access log off). The request is the two-image body of bench/images.py (two portraits near
70 KB each, about 137 KB in all). Latency: single requests alternating direct / proxied
(so both see the same machine noise), p50/p90/p99 of each and the p50 difference. Then
parallel clients: each client thread sends back to back for a fixed time, direct and then
proxied, and the requests per second and p50 of both are printed with their ratio.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.images import CONTENT_TYPE, build_bodies, build_images
from facematch_contract.operation import DEV_JWT_SECRET, OPERATION_PATH
from facematch_contract.tokens import mint_token
from mock_server.launch import free_port, stop_process_group
from tests.live import start_server


class Client:
    """One keep-alive HTTP client (reconnects when the server closes, as gunicorn sync does)."""

    def __init__(self, base_url: str, body: bytes, token: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.body = body
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": CONTENT_TYPE}
        self.conn: http.client.HTTPConnection | None = None

    def call(self) -> float:
        started = time.perf_counter()
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.conn.request("POST", OPERATION_PATH, body=self.body, headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200 or not data:
            raise RuntimeError(f"unexpected answer {response.status}: {data[:200]!r}")
        if response.will_close:
            self.conn.close()
            self.conn = None
        return (time.perf_counter() - started) * 1000


def quantiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values), cuts[89], cuts[98]


def latency(direct: Client, proxied: Client, count: int) -> None:
    for _ in range(20):  # warm-up: connections, caches of the mock's answer
        direct.call()
        proxied.call()
    times: dict[str, list[float]] = {"direct": [], "proxied": []}
    for i in range(count):
        order = (("direct", direct), ("proxied", proxied)) if i % 2 else (("proxied", proxied), ("direct", direct))
        for name, client in order:
            times[name].append(client.call())
    print(f"\nlatency, one client, {count} requests each, interleaved (ms):")
    print(f"  {'':8} {'p50':>7} {'p90':>7} {'p99':>7}")
    for name, values in times.items():
        p50, p90, p99 = quantiles(values)
        print(f"  {name:8} {p50:7.2f} {p90:7.2f} {p99:7.2f}")
    d50, p50 = statistics.median(times["direct"]), statistics.median(times["proxied"])
    print(f"  proxy adds {p50 - d50:.2f} ms at p50 (ratio proxied/direct {p50 / d50:.2f})")


def throughput(url: str, body: bytes, token: str, clients: int, seconds: float) -> tuple[float, float, int]:
    """(requests per second, p50 ms, errors) of ``clients`` threads sending back to back."""
    stop = time.perf_counter() + seconds
    times: list[float] = []
    errors = 0
    lock = threading.Lock()

    def run() -> None:
        nonlocal errors
        client = Client(url, body, token)
        mine: list[float] = []
        while time.perf_counter() < stop:
            try:
                mine.append(client.call())
            except (OSError, RuntimeError, http.client.HTTPException):
                with lock:
                    errors += 1
                client.conn = None
        with lock:
            times.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return len(times) / elapsed, statistics.median(times) if times else float("nan"), errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="requests per side in the latency run")
    parser.add_argument("--clients", default="1,4,8,16", help="parallel client counts for the throughput runs")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per throughput run")
    args = parser.parse_args()
    body = build_bodies(build_images())["two_70k"]
    token = mint_token(DEV_JWT_SECRET)
    print(f"request body: {len(body)} bytes (two JPEGs), cores: {os.cpu_count()}")
    with start_server("--quiet", "--no-journal", "--workers", str(2 * (os.cpu_count() or 1))) as mock_url:
        port = free_port()
        proxy = subprocess.Popen(
            [sys.executable, "-m", "facematch", "proxy", "--upstream", mock_url, "--port", str(port), "--quiet"],
            cwd=ROOT,
            start_new_session=True,
            stderr=subprocess.DEVNULL,
        )
        proxy_url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    requests.get(proxy_url + "/__proxy/report", timeout=1)
                    break
                except requests.RequestException:
                    time.sleep(0.1)
            latency(Client(mock_url, body, token), Client(proxy_url, body, token), args.requests)
            print(f"\nparallel clients, {args.seconds:g} s each:")
            print(
                f"  {'clients':>7} {'direct rps':>11} {'proxied rps':>12} {'ratio':>6} "
                f"{'direct p50':>11} {'proxied p50':>12} {'errors d/p':>11}"
            )
            for clients in (int(c) for c in args.clients.split(",")):
                d_rps, d_p50, d_err = throughput(mock_url, body, token, clients, args.seconds)
                p_rps, p_p50, p_err = throughput(proxy_url, body, token, clients, args.seconds)
                print(
                    f"  {clients:7d} {d_rps:11.1f} {p_rps:12.1f} {p_rps / d_rps:6.2f} "
                    f"{d_p50:9.2f}ms {p_p50:10.2f}ms {d_err:>5d}/{p_err:<5d}"
                )
            judged = requests.get(proxy_url + "/__proxy/report", timeout=10).json()
            print(
                f"\nproxy judged {judged['judged']} answers, verdict {judged['verdict']}, "
                f"violating {judged['violating']}"
            )
        finally:
            proxy.send_signal(signal.SIGTERM)
            try:
                proxy.wait(timeout=40)
            except subprocess.TimeoutExpired:
                stop_process_group(proxy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
