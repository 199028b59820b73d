"""Load benchmark: the mock (started exactly as ``facematch serve`` starts it) against a bare
gunicorn+Flask baseline, both driven by wrk from another process, in one run.

    python -m bench.mock_load                 # everything (about 3 minutes)
    python -m bench.mock_load --duration 5 --scenarios two_70k
    python -m bench.mock_load --rounds 3 --config-sweep 4x1,2x4,4x2,2x8

For each target and scenario it prints requests/s, p50, p99 and errors; then the mock's
ratio to the baseline, the peak memory (VmHWM) of each gunicorn worker after each
scenario, and the start-up time (spawn -> first 200 on /healthz, and on a first POST).
Load goes to 127.0.0.1 only; every run is bounded by ``--duration``. Generated images and
bodies live in a temporary directory that is removed at the end; figures are also written
to ``bench/results/mock_load.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from facematch_contract.operation import DEV_JWT_SECRET, OPERATION_PATH
from facematch_contract.tokens import mint_token
from mock_server.cli import default_threads, default_workers
from mock_server.launch import free_port, stop_process_group

from .images import CONTENT_TYPE, build_bodies, build_images

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "post.lua"
RESULTS = ROOT / "bench" / "results"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Targets the issue sets for the two-70 KB scenario (2-core machine, c=16).
TARGET_RPS = 1200
TARGET_P99_MS = 30
TARGET_RATIO = 0.75
TARGET_STARTUP_S = 2.0


@dataclass(frozen=True)
class Scenario:
    name: str
    body: str  # key into build_bodies()
    auth: str  # "good" or "bad"
    expect: int  # the mock's expected status (the baseline always answers 200)
    label: str


SCENARIOS = (
    Scenario("two_70k", "two_70k", "good", 200, "two ~70 KB JPEGs"),
    Scenario("two_1m", "two_1m", "good", 200, "two ~1 MB JPEGs"),
    Scenario("one_9m5", "one_9m5", "good", 200, "one 9.5 MiB JPEG"),
    Scenario("unauthorized", "two_70k", "bad", 401, "401: bad token, two ~70 KB"),
    Scenario("bad_image", "truncated", "good", 400, "400: truncated image1"),
)


@dataclass
class Result:
    target: str
    scenario: str
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_detail: dict[str, int]
    worker_hwm_mb: list[float]
    worker_rss_mb: list[float]
    cpu: dict[str, float]  # cores busy during the measurement: server, wrk, other, steal
    server_cpu_us: float  # server CPU (master + workers, user + system) per request


@dataclass
class Startup:
    target: str
    healthz_s: list[float] = field(default_factory=list)
    first_post_s: list[float] = field(default_factory=list)


# -- tools ---------------------------------------------------------------------------------
def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    print("wrk not found: installing it with apt-get", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], check=False, stdout=subprocess.DEVNULL)
    path = shutil.which("wrk")
    if not path:
        subprocess.run([*sudo, "apt-get", "update"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], check=True, stdout=subprocess.DEVNULL)
        path = shutil.which("wrk")
    if not path:
        sys.exit("wrk is required (apt-get install -y wrk)")
    return path


# -- servers -------------------------------------------------------------------------------
class Server:
    """One server process group; ``command`` gets ``{port}`` substituted."""

    def __init__(self, name: str, command: list[str], workdir: Path, cwd: Path = ROOT) -> None:
        self.name = name
        self.cwd = cwd
        self.port = free_port()
        self.command = [part.replace("{port}", str(self.port)) for part in command]
        self.log_path = workdir / f"{name.replace(' ', '_')}-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self.spawned = 0.0

    def start(self) -> None:
        self.log = open(self.log_path, "wb")
        self.spawned = time.monotonic()
        self.process = subprocess.Popen(
            self.command, cwd=self.cwd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_healthy(self, timeout: float = 30.0) -> float:
        """Seconds from spawn to the first 200 on /healthz."""
        deadline = self.spawned + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text(errors='replace')}")
            try:
                status, _ = request(self.port, "GET", "/healthz")
                if status == 200:
                    return time.monotonic() - self.spawned
            except OSError:
                pass
            time.sleep(0.005)
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout}s")

    def workers(self) -> list[int]:
        assert self.process is not None
        pid = self.process.pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(child) for child in text.split()]

    def wait_workers(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.workers()) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """User+system CPU of the master and its workers so far."""
        assert self.process is not None
        total = 0.0
        for pid in [self.process.pid, *self.workers()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return total

    def memory(self) -> tuple[list[float], list[float]]:
        """(VmHWM, VmRSS) of each worker, in MB."""
        hwm, rss = [], []
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            hwm.append(int(fields["VmHWM"].split()[0]) / 1024)
            rss.append(int(fields["VmRSS"].split()[0]) / 1024)
        return hwm, rss

    def stop(self) -> None:
        if self.process:
            stop_process_group(self.process)
        if getattr(self, "log", None):
            self.log.close()


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def mock_command(workers: int | None, threads: int | None, quiet: bool) -> list[str]:
    """Exactly ``facematch serve`` (its defaults unless told), bound to a free local port."""
    command = [str(Path(sys.executable).with_name("facematch")), "serve", "--host", "127.0.0.1", "--port", "{port}"]
    if workers:
        command += ["--workers", str(workers)]
    if threads:
        command += ["--threads", str(threads)]
    if quiet:
        command.append("--quiet")
    return command


def baseline_command(workers: int, threads: int) -> list[str]:
    """The bare app under gunicorn with the mock's worker model (gunicorn's default: no access log)."""
    worker = ["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else ["--worker-class", "sync"]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        "127.0.0.1:{port}",
        "--workers",
        str(workers),
        *worker,
        "--log-level",
        "warning",
        "bench.baseline_app:app",
    ]


# -- load ----------------------------------------------------------------------------------
def run_wrk(
    wrk: str, port: int, body_file: Path, expect: int, authorization: str, args: argparse.Namespace, duration: float
) -> dict[str, int]:
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}{OPERATION_PATH}",
        "--",
        str(body_file),
        str(expect),
        CONTENT_TYPE,
        authorization,
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60).stdout
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON ") :])
    raise RuntimeError(f"wrk printed no figures:\n{output}")


def measure(
    server: Server,
    scenario: Scenario,
    expect: int,
    files: dict[str, Path],
    tokens: dict[str, str],
    wrk: str,
    args: argparse.Namespace,
    profile: bool = False,
) -> Result:
    authorization = f"Bearer {tokens[scenario.auth]}"
    body = files[scenario.body]
    run_wrk(wrk, server.port, body, expect, authorization, args, args.warmup)
    profilers = start_profilers(server, args.duration) if profile else []
    machine, served = machine_cpu(), server.cpu_seconds()
    driver = _children_cpu()
    started = time.monotonic()
    figures = run_wrk(wrk, server.port, body, expect, authorization, args, args.duration)
    elapsed = time.monotonic() - started
    finish_profilers(profilers)
    busy, steal = (after - before for after, before in zip(machine_cpu(), machine, strict=True))
    served = server.cpu_seconds() - served
    driver = _children_cpu() - driver
    cpu = {
        "server": served / elapsed,
        "wrk": driver / elapsed,
        "other": max(0.0, busy - served - driver) / elapsed,
        "steal": steal / elapsed,
    }
    hwm, rss = server.memory()
    detail = {key: figures[key] for key in ("connect", "read", "write", "timeout", "wrong_status")}
    if figures["wrong_status"]:
        detail["last_wrong_status"] = figures["last_wrong_status"]
    return Result(
        target=server.name,
        scenario=scenario.name,
        rps=figures["requests"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        errors=sum(figures[key] for key in ("connect", "read", "write", "timeout", "wrong_status")),
        error_detail=detail,
        worker_hwm_mb=[round(value, 1) for value in hwm],
        worker_rss_mb=[round(value, 1) for value in rss],
        cpu={key: round(value, 2) for key, value in cpu.items()},
        server_cpu_us=round(served / max(1, figures["requests"]) * 1e6),
    )


def start_profilers(server: Server, duration: float) -> list[tuple[subprocess.Popen, Path]]:
    """py-spy on every worker, sampling only the thread that holds the GIL."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("  (no profile: py-spy is not installed; .venv/bin/pip install py-spy)", flush=True)
        return []
    RESULTS.mkdir(parents=True, exist_ok=True)
    profilers = []
    for index, pid in enumerate(server.workers()):
        out = RESULTS / f"profile-worker{index}.txt"
        command = [
            py_spy,
            "record",
            "--gil",
            "--nonblocking",
            "-r",
            "200",
            "-d",
            str(max(1, round(duration) - 1)),
            "-f",
            "raw",
            "-o",
            str(out),
            "-p",
            str(pid),
        ]
        profilers.append((subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out))
    return profilers


def finish_profilers(profilers: list[tuple[subprocess.Popen, Path]]) -> None:
    if not profilers:
        return
    from .profile_summary import summarise

    for process, _ in profilers:
        process.wait(timeout=60)
    outputs = [out for _, out in profilers if out.exists()]
    stacks = ", ".join(str(o.relative_to(ROOT)) for o in outputs)
    print(f"  profile of the mock's workers (py-spy --gil; raw stacks in {stacks}):")
    for name, share in summarise(outputs):
        print(f"    {share:5.1f} %  {name}")


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq) / CLOCK_TICKS, steal / CLOCK_TICKS


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def startup(name: str, command: list[str], workdir: Path, body: bytes, token: str, runs: int) -> Startup:
    """Spawn -> first /healthz 200, and spawn -> first POST 200 (a cold digest cache)."""
    figures = Startup(name)
    headers = {"Content-Type": CONTENT_TYPE, "Authorization": f"Bearer {token}"}
    for _ in range(runs):
        server = Server(name, command, workdir)
        server.start()
        try:
            figures.healthz_s.append(server.wait_healthy())
            status, answer = request(server.port, "POST", OPERATION_PATH, body, headers)
            if status != 200:
                raise RuntimeError(f"first POST answered {status}: {answer[:200]!r}")
            figures.first_post_s.append(time.monotonic() - server.spawned)
        finally:
            server.stop()
    return figures


# -- report --------------------------------------------------------------------------------
def progress(result: Result) -> str:
    cpu = result.cpu
    return (
        f"  {result.target:<24} {result.scenario:<13} {result.rps:8.0f} req/s  p50 {result.p50_ms:6.1f} ms  "
        f"p99 {result.p99_ms:6.1f} ms  errors {result.errors}  server CPU {result.server_cpu_us:.0f} us/req;  "
        f"cores busy: server {cpu['server']:.2f}, "
        f"wrk {cpu['wrk']:.2f}, other processes {cpu['other']:.2f}, steal {cpu['steal']:.2f}"
    )


def print_results(results: list[Result], baseline_name: str) -> None:
    print()
    print(
        f"{'scenario':<30} {'target':<24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'ratio':>6} "
        f"{'CPU us/req':>10} {'worker VmHWM MB':>16}"
    )
    base = {r.scenario: r for r in results if r.target == baseline_name}
    labels = {s.name: s.label for s in SCENARIOS}
    for scenario in [s.name for s in SCENARIOS]:
        for result in [r for r in results if r.scenario == scenario]:
            ratio = ""
            if result.target != baseline_name and scenario in base:
                ratio = f"{result.rps / base[scenario].rps:.2f}"
            hwm = "/".join(f"{value:.0f}" for value in result.worker_hwm_mb)
            print(
                f"{labels[scenario]:<30} {result.target:<24} {result.rps:>8.0f} {result.p50_ms:>8.1f} "
                f"{result.p99_ms:>8.1f} {result.errors:>7} {ratio:>6} {result.server_cpu_us:>10.0f} {hwm:>16}"
            )
            if result.errors:
                print(f"{'':<30}   errors: {result.error_detail}")


def print_comparison(results: list[Result], mock_name: str, other_name: str) -> None:
    """This checkout's mock against the other checkout's, run for run in the same command."""
    print(
        f"\nthis checkout against {other_name} (req/s of the median runs and their ratio; server CPU per "
        "request, which a busy machine disturbs less, of the same runs; p99 of each):"
    )
    for scenario in [s.name for s in SCENARIOS]:
        mine = next((r for r in results if r.target == mock_name and r.scenario == scenario), None)
        other = next((r for r in results if r.target == other_name and r.scenario == scenario), None)
        if mine and other:
            print(
                f"  {scenario:<13} {mine.rps:8.0f} / {other.rps:8.0f} req/s = {mine.rps / other.rps:.3f}   "
                f"CPU {mine.server_cpu_us:.0f} / {other.server_cpu_us:.0f} us/req = "
                f"{mine.server_cpu_us / max(1.0, other.server_cpu_us):.3f}   "
                f"p99 {mine.p99_ms:.1f} / {other.p99_ms:.1f} ms"
            )


def print_redis_cost(results: list[Result], embedded: str, redis: str) -> None:
    """What the Redis state store adds per call: p50 and server CPU against the embedded store."""
    print("\nstate in Redis against the embedded store (p50 difference; server CPU per request, without Redis's own):")
    for scenario in [s.name for s in SCENARIOS]:
        mine = next((r for r in results if r.target == redis and r.scenario == scenario), None)
        other = next((r for r in results if r.target == embedded and r.scenario == scenario), None)
        if mine and other:
            added = mine.p50_ms - other.p50_ms
            print(
                f"  {scenario:<13} p50 {mine.p50_ms:.2f} / {other.p50_ms:.2f} ms = {added:+.2f} ms"
                f"   req/s ratio {mine.rps / other.rps:.3f}"
            )


def print_startup(figures: list[Startup]) -> None:
    print()
    print("start-up (spawn -> first 200), median of runs [all runs]:")
    for entry in figures:
        print(
            f"  {entry.target:<24} /healthz {statistics.median(entry.healthz_s):.2f} s "
            f"[{', '.join(f'{v:.2f}' for v in entry.healthz_s)}]   first POST "
            f"{statistics.median(entry.first_post_s):.2f} s [{', '.join(f'{v:.2f}' for v in entry.first_post_s)}]"
        )


def verdicts(results: list[Result], starts: list[Startup], mock_name: str, baseline_name: str) -> list[str]:
    lines = []
    mock = next((r for r in results if r.target == mock_name and r.scenario == "two_70k"), None)
    base = next((r for r in results if r.target == baseline_name and r.scenario == "two_70k"), None)
    if mock:
        lines.append(
            f"{'PASS' if mock.rps >= TARGET_RPS else 'FAIL'}  two ~70 KB: {mock.rps:.0f} req/s (target >= {TARGET_RPS})"
        )
        lines.append(
            f"{'PASS' if mock.p99_ms <= TARGET_P99_MS else 'FAIL'}  two ~70 KB: p99 {mock.p99_ms:.1f} ms "
            f"(target <= {TARGET_P99_MS} ms)"
        )
        lines.append(f"{'PASS' if mock.errors == 0 else 'FAIL'}  two ~70 KB: {mock.errors} errors (target 0)")
        if base:
            ratio = mock.rps / base.rps
            lines.append(
                f"{'PASS' if ratio >= TARGET_RATIO else 'FAIL'}  two ~70 KB: {ratio:.2f} x baseline "
                f"(target >= {TARGET_RATIO})"
            )
    big = next((r for r in results if r.target == mock_name and r.scenario == "one_9m5"), None)
    if big:
        lines.append(
            f"{'PASS' if big.errors == 0 else 'FAIL'}  one 9.5 MiB: {big.errors} errors; worker peak VmHWM "
            f"{max(big.worker_hwm_mb, default=0):.0f} MB"
        )
    for entry in starts:
        if entry.target == mock_name:
            worst = max(entry.first_post_s)
            lines.append(
                f"{'PASS' if worst <= TARGET_STARTUP_S else 'FAIL'}  start-up: first POST answered "
                f"{worst:.2f} s after spawn at worst (target <= {TARGET_STARTUP_S} s)"
            )
    return lines


# -- main ----------------------------------------------------------------------------------
@dataclass
class Target:
    name: str
    command: list[str]
    workers: int  # 0: unknown (wait a moment after /healthz instead)
    baseline: bool = False
    cwd: Path = ROOT


def parse_configs(text: str) -> list[tuple[int, int]]:
    """``2x4,4x1`` -> [(2, 4), (4, 1)]: worker processes x threads per worker."""
    configs = []
    for item in text.split(","):
        if item.strip():
            workers, _, threads = item.strip().partition("x")
            configs.append((int(workers), int(threads or 1)))
    return configs


def describe_config(workers: int, threads: int) -> str:
    """Workers x threads (the mock's worker is its event-loop worker; the bare baseline
    runs gunicorn's sync or gthread worker with the same counts)."""
    return f"{workers} w x {threads} t"


def start_all(targets: list[Target], workdir: Path) -> list[Server]:
    servers = []
    for target in targets:
        server = Server(target.name, target.command, workdir, target.cwd)
        servers.append(server)
        server.start()
    for server, target in zip(servers, targets, strict=True):
        server.wait_healthy()
        if target.workers:
            server.wait_workers(target.workers)
        else:
            time.sleep(2)
    return servers


def run_rounds(
    targets: list[Target],
    servers: list[Server],
    scenarios: list[Scenario],
    rounds: int,
    files: dict[str, Path],
    tokens: dict[str, str],
    wrk: str,
    args: argparse.Namespace,
    profile: bool = False,
) -> list[Result]:
    """Every scenario on every target, ``rounds`` times, the targets taking turns (and the
    order rotating), so a change in background load hits them alike."""
    results = []
    for scenario in scenarios:
        for round_number in range(rounds):
            shift = round_number % len(targets)
            pairs = list(zip(targets, servers, strict=True))
            for target, server in pairs[shift:] + pairs[:shift]:
                expect = 200 if target.baseline else scenario.expect
                first = profile and round_number == 0 and target is targets[0] and scenario is SCENARIOS[0]
                result = measure(server, scenario, expect, files, tokens, wrk, args, first)
                results.append(result)
                print(progress(result), flush=True)
    return results


def medians(results: list[Result]) -> list[Result]:
    """Per (target, scenario): the run with the median throughput; errors summed over all runs
    and the memory figures of the last run (VmHWM only grows)."""
    groups: dict[tuple[str, str], list[Result]] = {}
    for result in results:
        groups.setdefault((result.target, result.scenario), []).append(result)
    chosen = []
    for runs in groups.values():
        ordered = sorted(runs, key=lambda r: r.rps)
        middle = ordered[(len(ordered) - 1) // 2]
        summary = Result(
            **{
                **asdict(middle),
                "errors": sum(r.errors for r in runs),
                "worker_hwm_mb": runs[-1].worker_hwm_mb,
                "worker_rss_mb": runs[-1].worker_rss_mb,
            }
        )
        summary.error_detail = {key: sum(r.error_detail.get(key, 0) for r in runs) for key in middle.error_detail}
        chosen.append(summary)
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mock_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds of measured load per run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured load before each run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=1, help="runs per target and scenario (the median is reported)")
    parser.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS))
    parser.add_argument("--no-quiet-run", action="store_true", help="skip the extra run of the mock with --quiet")
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument(
        "--compare-with",
        default="",
        metavar="DIR",
        help="also run the mock from another checkout of the project (its default command line)",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        help="also run the mock with --state redis:// on a throw-away redis-server (Debian package)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile the mock's workers with py-spy during its first two ~70 KB run"
    )
    parser.add_argument(
        "--config-sweep",
        default="",
        help="also run two ~70 KB on mock and baseline with each WORKERSxTHREADS, e.g. 4x1,2x4,2x8",
    )
    args = parser.parse_args(argv)

    wrk = ensure_wrk()
    chosen = [s for s in SCENARIOS if s.name in args.scenarios.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="facematch-bench-"))
    started = time.monotonic()
    try:
        print(
            f"machine: {os.cpu_count()} CPUs, load average {Path('/proc/loadavg').read_text().split()[0]}; "
            f"wrk -t{args.threads} -c{args.connections} -d{max(1, round(args.duration))}s "
            f"(after {args.warmup:g}s warm-up) per run, {args.rounds} round(s); generating images ...",
            flush=True,
        )
        images = build_images()
        bodies = build_bodies(images)
        files = {}
        for name, body in bodies.items():
            files[name] = workdir / f"{name}.body"
            files[name].write_bytes(body)
        print("  images: " + ", ".join(f"{name} {len(data):,} B" for name, data in images.items()))
        print("  bodies: " + ", ".join(f"{name} {len(data):,} B" for name, data in bodies.items()), flush=True)
        tokens = {
            "good": mint_token(DEV_JWT_SECRET, expires_in=24 * 3600),
            "bad": mint_token("not-the-server-secret-" + "x" * 16, expires_in=24 * 3600),
        }

        workers, threads = default_workers(), default_threads()
        config = describe_config(workers, threads)
        mock_name = "mock (facematch serve)"
        baseline_name = "bare baseline"
        targets = [Target(mock_name, mock_command(None, None, quiet=False), workers)]
        if not args.no_quiet_run:
            targets.append(Target("mock --quiet", mock_command(None, None, quiet=True), workers))
        redis_server = None
        if args.redis:
            # The same mock with its state (journal, settings, sequences) in a throw-away Redis.
            from tests.redis_server import RedisServer

            redis_server = RedisServer(workdir)
            redis_server.start()
            redis_command = [*mock_command(None, None, quiet=False), "--state", redis_server.url]
            targets.append(Target("mock --state redis", redis_command, workers))
        if args.compare_with:
            # Another version of the project (e.g. `git archive HEAD | tar -x -C DIR`), with its own defaults.
            other = Path(args.compare_with).resolve()
            command = [sys.executable, "-m", "facematch", "serve", "--host", "127.0.0.1", "--port", "{port}"]
            targets.append(Target(f"mock @{other.name}", command, 0, cwd=other))
        targets.append(Target(baseline_name, baseline_command(workers, threads), workers, baseline=True))
        print(
            f"  mock: facematch serve defaults = {config}, access log on; baseline: gunicorn {config}, no access log",
            flush=True,
        )

        starts = [startup(mock_name, targets[0].command, workdir, bodies["two_70k"], tokens["good"], args.startup_runs)]
        print_startup(starts)

        servers = start_all(targets, workdir)
        try:
            runs = run_rounds(targets, servers, chosen, args.rounds, files, tokens, wrk, args, args.profile)
        finally:
            for server in servers:
                server.stop()
            if redis_server is not None:
                redis_server.stop()
        results = medians(runs)

        sweep: list[Result] = []
        for sweep_workers, sweep_threads in parse_configs(args.config_sweep):
            label = describe_config(sweep_workers, sweep_threads)
            pair = [
                Target(f"mock {label}", mock_command(sweep_workers, sweep_threads, quiet=False), sweep_workers),
                Target(f"bare {label}", baseline_command(sweep_workers, sweep_threads), sweep_workers, baseline=True),
            ]
            servers = start_all(pair, workdir)
            try:
                sweep += medians(run_rounds(pair, servers, [SCENARIOS[0]], args.rounds, files, tokens, wrk, args))
            finally:
                for server in servers:
                    server.stop()

        print_results(results, baseline_name)
        if args.compare_with:
            print_comparison(results, mock_name, targets[-2].name)
            if args.redis:
                print_comparison(results, "mock --state redis", targets[-2].name)
        if args.redis:
            print_redis_cost(results, mock_name, "mock --state redis")
        if sweep:
            print(
                "\nworker configurations, two ~70 KB JPEGs "
                "(mock with access log; ratio to the bare app in the same configuration):"
            )
            for mock, bare in zip(sweep[0::2], sweep[1::2], strict=True):
                print(
                    f"  {mock.target:<28} {mock.rps:7.0f} req/s  p50 {mock.p50_ms:5.1f} ms  "
                    f"p99 {mock.p99_ms:6.1f} ms  errors {mock.errors}   bare {bare.rps:7.0f} req/s   "
                    f"ratio {mock.rps / bare.rps:.2f}"
                )
        print_startup(starts)
        print()
        for line in verdicts(results, starts, mock_name, baseline_name):
            print(line)
        print(f"\n(total {time.monotonic() - started:.0f} s)")
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "mock_load.json").write_text(
            json.dumps(
                {
                    "runs": [asdict(r) for r in runs],
                    "summary": [asdict(r) for r in results],
                    "sweep": [asdict(r) for r in sweep],
                    "startup": [asdict(s) for s in starts],
                    "args": vars(args),
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
