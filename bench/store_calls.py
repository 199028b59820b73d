"""What the state store alone costs a call of the operation, before and after a change to
it: the snapshot read and the journal entry, as the operation makes them, in one command.

    python -m bench.store_calls --other ../checkout-before-the-change
    python -m bench.store_calls --other DIR --rounds 7 --calls 2000 --gap-us 300

Each round runs, for each checkout and each store (embedded; Redis on a throw-away
``redis-server``), a fresh process that opens the store as ``facematch serve`` does and
makes ``--calls`` pairs of ``snapshot()`` + ``record(entry)``, with ``--gap-us`` of busy
work between pairs (the rest of a request: without it Redis never goes idle and a loop
measures a pipeline, not a server). It reports CPU and median wall time per pair (the
client side; ``redis-server``'s own CPU apart), medians and minima over the rounds, and
the ratios this / other. The ab_state benchmark measures the same through the whole app.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from .ab_state import CLOCK_TICKS, cpu_ticks

ROOT = Path(__file__).resolve().parent.parent

#: Run in the checkout being measured (its own mock_server on sys.path first).
PROBE = """
import json, statistics, sys, tempfile, time
from pathlib import Path
from mock_server.journal import JournalEntry, PartRecord
from mock_server.state import open_store
url, calls, gap = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) / 1e6
store = open_store(None if url == "embedded" else url, Path(tempfile.mkdtemp(prefix="facematch-store-calls-")),
                   True, 1000, 4 * 1024 * 1024, ["no_face"])
parts = [PartRecord(name, 70_000, name + ".jpg", "image/jpeg", "ab" * 32, None) for name in ("image1", "image2")]
entry = JournalEntry("2026-12-07T05:00:00.000Z", "POST", "/advanced_facematch", 200, "c" * 36, parts=parts)
def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
for _ in range(max(50, calls // 10)):
    store.snapshot(); store.record(entry); spin(gap)
walls, cpu = [], 0.0
for _ in range(calls):
    begun, started = time.perf_counter(), time.process_time()
    store.snapshot()
    store.record(entry)
    cpu += time.process_time() - started
    walls.append(time.perf_counter() - begun)
    spin(gap)
print(json.dumps({"cpu": cpu / calls * 1e6, "wall p50": statistics.median(walls) * 1e6}))
"""


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.redis_server import RedisServer

    parser = argparse.ArgumentParser(prog="python -m bench.store_calls", description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", type=Path, required=True, help="the other checkout (before the change)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000, help="measured snapshot+record pairs per run")
    parser.add_argument("--gap-us", type=float, default=300, help="busy work between pairs, in microseconds")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="facematch-store-calls-") as folder:
        server = RedisServer(Path(folder))
        server.start()
        assert server.process is not None
        try:
            variants = {
                "other embedded": (args.other.resolve(), "embedded"),
                "this embedded": (ROOT, "embedded"),
                "other redis": (args.other.resolve(), server.url),
                "this redis": (ROOT, server.url),
            }
            names = list(variants)
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
            for round_number in range(args.rounds):
                order = names[round_number % len(names) :] + names[: round_number % len(names)]
                for name in order:
                    checkout, url = variants[name]
                    before = cpu_ticks(server.process.pid)
                    command = [sys.executable, "-c", PROBE, url, str(args.calls), str(args.gap_us)]
                    done = subprocess.run(
                        command, cwd=checkout, capture_output=True, text=True, timeout=600, check=True
                    )
                    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
                    ticks = cpu_ticks(server.process.pid) - before
                    figures["redis-server cpu"] = ticks / CLOCK_TICKS / args.calls * 1e6
                    runs[name].append(figures)
                    shown = ", ".join(f"{key} {value:.1f}" for key, value in figures.items())
                    print(f"  round {round_number + 1} {name:<15} {shown} (us)", flush=True)
        finally:
            server.stop()
    load = Path("/proc/loadavg").read_text().split()[0]
    for label, pick in (("medians", statistics.median), ("minima", min)):
        print(f"\n{label} of {args.rounds} rounds, microseconds per snapshot+record (load average {load}):")
        print(f"  {'':<18}" + "".join(f"{name:>16}" for name in names) + "   embedded this/other   redis this/other")
        for figure in runs[names[0]][0]:
            values = [pick(run[figure] for run in runs[name]) for name in names]
            embedded = "" if figure == "redis-server cpu" else f"{values[1] / max(values[0], 0.01):.3f}"
            ratios = f"   {embedded:>19}   {values[3] / max(values[2], 0.01):16.3f}"
            print(f"  {figure:<18}" + "".join(f"{value:16.1f}" for value in values) + ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
