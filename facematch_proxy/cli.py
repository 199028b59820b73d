"""``facematch proxy``: options, start-up, and the reports written when the proxy is stopped.

Registered by the ``facematch`` command (:mod:`facematch.cli`) with :func:`register`.
The exit status is the verdict, for CI: 0 when every judged answer held every rule, 1 when
one broke a rule, 3 when no answer of the operation was judged at all.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from .recorder import Recorder
from .reports import write_reports
from .server import ProxyServer, ProxyState, serve
from .tally import Tally, Verdict
from .upstream import Upstream

EXIT_CODES = {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.NOT_JUDGED: 3}
#: Seconds in-flight requests get to finish once the proxy is told to stop.
DRAIN_SECONDS = 30.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    env = os.environ.get
    proxy = subparsers.add_parser(
        "proxy",
        help="forward traffic to a real implementation and judge every answer against the contract",
        description="Forward every request to --upstream byte for byte; judge each answer of "
        "POST /advanced_facematch by the contract's rules, name broken rules in the "
        "X-Contract-Violation header, and write reports when stopped (SIGINT/SIGTERM).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    proxy.add_argument(
        "--upstream", required=True, help="base URL of the implementation, e.g. https://vendor.example/sumi/v1"
    )
    proxy.add_argument(
        "--host",
        default=env("FACEMATCH_PROXY_HOST", "127.0.0.1"),
        help="address to listen on (env FACEMATCH_PROXY_HOST)",
    )
    proxy.add_argument(
        "--port",
        type=int,
        default=int(env("FACEMATCH_PROXY_PORT", "8081")),
        help="port to listen on (env FACEMATCH_PROXY_PORT)",
    )
    proxy.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the upstream (then 504)")
    proxy.add_argument("--insecure", action="store_true", help="do not verify the upstream's TLS certificate")
    proxy.add_argument("--report", type=Path, help="write a Markdown report here on exit")
    proxy.add_argument("--junit", type=Path, help="write a JUnit XML report (one test case per rule) here on exit")
    proxy.add_argument("--json", type=Path, help="write the JSON report (as GET /__proxy/report) here on exit")
    proxy.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help="record every answer of the operation as a cassette entry (for facematch serve --replay)",
    )
    proxy.add_argument(
        "--record-images",
        action="store_true",
        help="with --record: also store the image bytes (biometric data: keep the folder private)",
    )
    proxy.add_argument("--quiet", action="store_true", help="no access log")
    proxy.set_defaults(func=run_proxy)


def run_proxy(args: argparse.Namespace) -> int:
    if args.record_images and args.record is None:
        print("facematch proxy: --record-images needs --record DIR", file=sys.stderr)
        return 2
    try:
        upstream = Upstream.parse(args.upstream, args.timeout, verify_tls=not args.insecure)
    except ValueError as error:
        print(f"facematch proxy: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    recorder = Recorder(args.record, args.record_images) if args.record is not None else None
    tally = Tally(upstream.url)
    try:
        server = ProxyServer((args.host, args.port), ProxyState(upstream, tally, recorder, args.quiet))
    except OSError as error:
        print(f"facematch proxy: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    serve(server)
    print(f"facematch proxy: {server.url} -> {upstream.url}", file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    server.stopping.set()
    server.shutdown()
    if not server.wait_idle(DRAIN_SECONDS):
        print(
            f"facematch proxy: requests still in flight after {DRAIN_SECONDS:g} s; reporting what was judged",
            file=sys.stderr,
        )
    server.server_close()
    write_reports(tally, args.report, args.junit, args.json)
    verdict = tally.verdict
    failing = tally.failing_rules()
    print(
        f"facematch proxy: {verdict.value}: {tally.judged} answers judged"
        + (f", rules broken: {', '.join(failing)}" if failing else ""),
        file=sys.stderr,
        flush=True,
    )
    return EXIT_CODES[verdict]
