"""A/B of the state store on the operation: this checkout with the embedded store and with
Redis, against another checkout (the baseline), in one command.

    python -m bench.ab_state --other ../baseline-checkout      # about two minutes
    python -m bench.ab_state --other DIR --rounds 9 --requests 400
    python -m bench.ab_state --other ../before-this-change --other-redis   # Redis before/after

Each round runs, for each variant in turn (the order rotating), a fresh process that
builds the app as ``facematch serve`` does (journal on, in a private folder) and posts the
same prebuilt multipart body through Flask's test client: two ~70 KB JPEGs with a good
token (200) and with a bad one (401). Variants: the other checkout (embedded journal),
this checkout with ``--state embedded``, and this checkout with ``--state redis://`` on a
throw-away ``redis-server`` (and, with ``--other-redis``, the other checkout with Redis
too, for a before/after of a change to the Redis store). It reports the CPU time per request in the app
(``time.process_time``: the client side of Redis included, Redis's own CPU shown apart),
the median wall time per request (what the journal's round trips add to a call), and the
ratios of the medians, then of the minima, over the rounds (on a busy machine other load
only ever adds time, so the minima are the steadier comparison).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token

from .images import CONTENT_TYPE, build_bodies, build_images

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

#: Run in the checkout being measured (its own mock_server on sys.path first).
PROBE = """
import json, statistics, sys, tempfile, time
from pathlib import Path
from mock_server.app import create_app
from mock_server.config import Settings
body = open(sys.argv[1], "rb").read()
good, bad, count, content_type, state = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
folder = Path(tempfile.mkdtemp(prefix="facematch-ab-state-"))
extra = {"state_url": state} if state != "embedded" else {}
client = create_app(Settings(journal_path=folder / "journal.jsonl", **extra)).test_client()
figures = {}
for name, token, status in (("ok_200", good, 200), ("unauthorized_401", bad, 401)):
    headers = {"Authorization": "Bearer " + token, "Content-Type": content_type}
    for _ in range(max(20, count // 10)):
        client.post("/advanced_facematch", data=body, headers=headers)
    walls = []
    started = time.process_time()
    for _ in range(count):
        begun = time.perf_counter()
        answer = client.post("/advanced_facematch", data=body, headers=headers)
        walls.append(time.perf_counter() - begun)
        assert answer.status_code == status, answer.status_code
    figures[name + " cpu"] = (time.process_time() - started) / count * 1e6
    figures[name + " wall p50"] = statistics.median(walls) * 1e6
print(json.dumps(figures))
"""


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def probe(checkout: Path, body: Path, good: str, bad: str, count: int, state: str) -> dict[str, float]:
    command = [sys.executable, "-c", PROBE, str(body), good, bad, str(count), CONTENT_TYPE, state]
    result = subprocess.run(command, cwd=checkout, capture_output=True, text=True, timeout=600, check=True)
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.redis_server import RedisServer

    parser = argparse.ArgumentParser(prog="python -m bench.ab_state", description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", type=Path, required=True, help="the other checkout (the baseline)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300, help="measured requests per scenario and run")
    parser.add_argument("--other-redis", action="store_true", help="also run the other checkout with --state redis://")
    args = parser.parse_args(argv)
    good = mint_token(DEV_JWT_SECRET, expires_in=24 * 3600)
    bad = mint_token("not-the-server-secret-" + "x" * 16, expires_in=24 * 3600)
    with tempfile.TemporaryDirectory(prefix="facematch-ab-state-") as folder:
        redis_server = RedisServer(Path(folder))
        redis_server.start()
        try:
            variants = {
                "other embedded": (args.other.resolve(), "embedded"),
                "this embedded": (ROOT, "embedded"),
                "this redis": (ROOT, redis_server.url),
            }
            if args.other_redis:
                variants["other redis"] = (args.other.resolve(), redis_server.url)
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
            body = Path(folder) / "two_70k.body"
            body.write_bytes(build_bodies(build_images())["two_70k"])
            names = list(variants)
            assert redis_server.process is not None
            for round_number in range(args.rounds):
                order = names[round_number % len(names) :] + names[: round_number % len(names)]
                for name in order:
                    checkout, state = variants[name]
                    before = cpu_ticks(redis_server.process.pid)
                    figures = probe(checkout, body, good, bad, args.requests, state)
                    ticks = cpu_ticks(redis_server.process.pid) - before
                    figures["redis-server cpu"] = ticks / CLOCK_TICKS / (2 * args.requests) * 1e6
                    runs[name].append(figures)
                    shown = ", ".join(f"{key} {value:.0f}" for key, value in figures.items())
                    print(f"  round {round_number + 1} {name:<15} {shown} (us)", flush=True)
        finally:
            redis_server.stop()
    load = Path("/proc/loadavg").read_text().split()[0]
    extra = "   redis/other redis" if args.other_redis else ""
    for label, pick in (("medians", statistics.median), ("minima", min)):
        # Other load only ever adds CPU time (cache misses, migrations): on a busy machine
        # the minima are the steadier comparison.
        print(f"\n{label} of {args.rounds} rounds, microseconds per request (load average {load}):")
        print(f"  {'':<26}" + "".join(f"{name:>16}" for name in names) + "   this emb/other   redis/other" + extra)
        for figure in runs[names[0]][0]:
            values = [pick(run[figure] for run in runs[name]) for name in names]
            ratios = (
                ""
                if figure == "redis-server cpu"
                else (f"   {values[1] / values[0]:14.3f}   {values[2] / values[0]:11.3f}")
            )
            if args.other_redis and figure != "redis-server cpu":
                ratios += f"   {values[2] / values[3]:17.3f}"
            print(f"  {figure:<26}" + "".join(f"{value:16.0f}" for value in values) + ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
