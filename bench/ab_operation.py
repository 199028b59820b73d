"""A/B of the operation inside the app: this checkout against another one, in one command.

    python -m bench.ab_operation --other ../baseline-checkout   # about a minute
    python -m bench.ab_operation --other DIR --rounds 9 --requests 400

Each round runs, for each checkout in turn (the order alternating), a fresh process in that
checkout that builds the app with its default settings and posts the same prebuilt
multipart bodies through Flask's test client (no sockets, no server layer): two ~70 KB
JPEGs with a good token (200) and with a bad one (401). It reports the CPU time per
request (``time.process_time``, which a busy machine disturbs far less than wall-clock
time) and the ratio of the medians over the rounds. The server layer's share is measured
by ``bench/mock_load.py --compare-with DIR`` (wrk against both servers).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token

from .images import CONTENT_TYPE, build_bodies, build_images

ROOT = Path(__file__).resolve().parent.parent

#: Run in the checkout being measured (its own mock_server on sys.path first).
PROBE = """
import json, sys, time
from mock_server.app import create_app
from mock_server.config import Settings
body = open(sys.argv[1], "rb").read()
good, bad, count, content_type = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
client = create_app(Settings()).test_client()
figures = {}
for name, token, status in (("ok_200", good, 200), ("unauthorized_401", bad, 401)):
    headers = {"Authorization": "Bearer " + token, "Content-Type": content_type}
    for _ in range(max(20, count // 10)):
        client.post("/advanced_facematch", data=body, headers=headers)
    started = time.process_time()
    for _ in range(count):
        answer = client.post("/advanced_facematch", data=body, headers=headers)
        assert answer.status_code == status, answer.status_code
    figures[name] = (time.process_time() - started) / count * 1e6
print(json.dumps(figures))
"""


def probe(checkout: Path, body: Path, good: str, bad: str, count: int) -> dict[str, float]:
    command = [sys.executable, "-c", PROBE, str(body), good, bad, str(count), CONTENT_TYPE]
    result = subprocess.run(command, cwd=checkout, capture_output=True, text=True, timeout=600, check=True)
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab_operation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", type=Path, required=True, help="the other checkout (the baseline)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300, help="measured requests per scenario and run")
    args = parser.parse_args(argv)
    checkouts = {"this": ROOT, "other": args.other.resolve()}
    good = mint_token(DEV_JWT_SECRET, expires_in=24 * 3600)
    bad = mint_token("not-the-server-secret-" + "x" * 16, expires_in=24 * 3600)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in checkouts}
    with tempfile.TemporaryDirectory(prefix="facematch-ab-") as folder:
        body = Path(folder) / "two_70k.body"
        body.write_bytes(build_bodies(build_images())["two_70k"])
        for round_number in range(args.rounds):
            order = list(checkouts) if round_number % 2 == 0 else list(reversed(checkouts))
            for name in order:
                figures = probe(checkouts[name], body, good, bad, args.requests)
                runs[name].append(figures)
                shown = ", ".join(f"{key} {value:.0f} us" for key, value in figures.items())
                print(f"  round {round_number + 1} {name:<5} {shown}", flush=True)
    print(f"\nCPU time per request, median of {args.rounds} runs ({ROOT} against {checkouts['other']}):")
    for scenario in runs["this"][0]:
        mine = statistics.median(run[scenario] for run in runs["this"])
        other = statistics.median(run[scenario] for run in runs["other"])
        print(f"  {scenario:<18} this {mine:7.0f} us   other {other:7.0f} us   this/other {mine / other:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
