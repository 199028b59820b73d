"""``facematch serve``: the mock (or real-model mode) under gunicorn, from command-line options.

Registered by the ``facematch`` command (:mod:`facematch.cli`) with :func:`register`."""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import sys
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Protocol
from wsgiref.types import WSGIEnvironment

from facematch_contract import SPEC_PATH
from facematch_contract.operation import CORRELATION_HEADER, DEV_JWT_SECRET, GATEWAY_PREFIX, OPERATION_PATH

from .admin import default_hosts
from .config import RealModeSettings, Settings
from .faults import Delay, Fault, FaultPolicy, parse_delay, parse_faults
from .sequences import Sequence
from .tls import TlsError, TlsFiles


def default_workers() -> int:
    """Two workers per core (measured with sync workers, kept for the event-loop front):
    request handling is short and mostly CPU, and a second process per core overlaps one
    request's socket I/O with another's CPU work. Measured against 1 and 3 per core and
    against threaded (gthread) workers: see docs/performance.md."""
    return max(2, 2 * multiprocessing.cpu_count())


def default_threads() -> int:
    """App threads per mock worker: 1, so the worker's event loop runs the app itself
    between reads. Threads share one GIL: in the measurements (gthread workers, before the
    event-loop front) they added no throughput and doubled p99 latency (docs/performance.md)."""
    return 1


#: The access line: client, request line, status, bytes sent, milliseconds, correlation id.
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%({x-correlation-id}o)s"'


class AccessAnswer(Protocol):
    """What the access line reads of an answer (the front's, or gunicorn's own response)."""

    status: str
    headers: list[tuple[str, str]]


def lean_access_logger() -> type:
    """gunicorn's logger, writing the access line from the six fields it shows.

    gunicorn's own ``access`` builds a dictionary of every request header, response header
    and WSGI environ variable (and escapes each) for every request, whatever the format
    prints, which is most of what the access log costs (docs/performance.md). This one
    formats the same line, with the same escaping of double quotes, directly; any other
    ``access_log_format`` falls back to gunicorn's own.
    """
    from gunicorn.glogging import Logger  # type: ignore[import-untyped]  # gunicorn ships no type hints (no py.typed)

    class LeanAccessLogger(Logger):  # type: ignore[misc]  # an untyped base class (gunicorn)
        def access(self, resp: AccessAnswer, req: object, environ: WSGIEnvironment, request_time: timedelta) -> None:
            if not self.access_log_enabled:
                return
            if self.cfg.access_log_format != ACCESS_LOG_FORMAT:
                super().access(resp, req, environ, request_time)
                return
            status = str(resp.status).split(None, 1)[0]
            sent = getattr(resp, "sent", None)
            correlation = "-"
            for name, value in resp.headers:
                if name.lower() == CORRELATION_HEADER.lower():
                    correlation = value
            request_line = (
                f"{environ['REQUEST_METHOD']} {loggable_uri(environ['RAW_URI'])} {environ['SERVER_PROTOCOL']}"
            )
            milliseconds = request_time.seconds * 1000 + request_time.microseconds // 1000
            try:
                self.access_log.info(
                    '%s "%s" %s %s %sms "%s"',
                    _quoted(environ.get("REMOTE_ADDR", "-")),
                    _quoted(request_line),
                    _quoted(status),
                    sent if sent is not None else "-",
                    milliseconds,
                    _quoted(correlation),
                )
            except Exception:
                self.error(traceback.format_exc())

    return LeanAccessLogger


#: Query parameters whose values the access log shows; every other value is redacted, so a
#: token a client puts in the query string (``?access_token=...``) is never logged.
LOGGED_QUERY_PARAMETERS = frozenset({"__example", "limit"})


def loggable_uri(raw_uri: str) -> str:
    """The request target with the values of query parameters redacted (names kept)."""
    path, sep, query = raw_uri.partition("?")
    if not sep:
        return raw_uri
    shown = []
    for pair in query.split("&"):
        name, equals, _ = pair.partition("=")
        shown.append(pair if name in LOGGED_QUERY_PARAMETERS or not equals else f"{name}=-")
    return path + "?" + "&".join(shown)


def _quoted(value: object) -> object:
    """gunicorn's escaping of atom values (SafeAtoms): a double quote becomes \\"."""
    return value.replace('"', '\\"') if isinstance(value, str) else value


def parse_latency(text: str) -> Delay | None:
    """``200`` (fixed), ``100-400`` (uniform), ``tail:200-3000`` (long tail), milliseconds;
    ``0`` for none."""
    try:
        delay = parse_delay(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).replace("delay", "latency", 1)) from None
    return None if delay.high_ms == 0 else delay


def parse_fault_list(text: str) -> tuple[Fault, ...]:
    try:
        return parse_faults(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise argparse.ArgumentTypeError(f"fault rate must be a number from 0 to 1, not {text!r}")
    return rate


def parse_origins(text: str) -> tuple[str, ...]:
    if text.strip().lower() in ("", "none", "off"):
        return ()
    return tuple(origin.strip() for origin in text.split(",") if origin.strip())


def parse_hosts(text: str) -> tuple[str, ...]:
    return tuple(host.strip().lower() for host in text.split(",") if host.strip())


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    env = os.environ.get
    serve = subparsers.add_parser(
        "serve",
        help="run the mock (or the real-model mode) under gunicorn",
        description=f"Serve POST {OPERATION_PATH} (also under {GATEWAY_PREFIX}) with gunicorn.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    serve.add_argument(
        "--mode",
        choices=("mock", "real"),
        default=env("FACEMATCH_MODE", "mock"),
        help="mock: canned, deterministic answers; real: face detection, liveness and match models",
    )
    serve.add_argument("--host", default=env("FACEMATCH_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(env("FACEMATCH_PORT", "8080")))
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn worker processes (default: 2 per CPU core in mock mode, 1 per core in real mode)",
    )
    serve.add_argument(
        "--threads",
        type=int,
        default=None,
        help="app threads per worker; 1 runs the app on the worker's event loop, more in a pool "
        "(default: 1 in mock mode, 2 in real mode)",
    )
    serve.add_argument(
        "--auth",
        choices=("jwt", "any"),
        default=env("FACEMATCH_AUTH", "jwt"),
        help="jwt: verify HS256 bearer tokens; any: accept any non-empty bearer token",
    )
    serve.add_argument(
        "--jwt-secret",
        default=env("FACEMATCH_JWT_SECRET", DEV_JWT_SECRET),
        help="HS256 secret (default: the documented development secret; env FACEMATCH_JWT_SECRET)",
    )
    serve.add_argument(
        "--require-exp",
        action="store_true",
        help="refuse tokens without a numeric exp claim (default: such tokens are accepted)",
    )
    serve.add_argument(
        "--prefix", default=env("FACEMATCH_PREFIX", ""), help="extra mount prefix for every route, e.g. /api"
    )
    serve.add_argument(
        "--strict", action="store_true", help="check every response against openapi.yaml and the rules (development)"
    )
    serve.add_argument(
        "--cors",
        type=parse_origins,
        default=parse_origins(env("FACEMATCH_CORS", "*")),
        help="allowed CORS origins, comma-separated; '*' for any; 'none' to turn CORS off",
    )
    serve.add_argument(
        "--allowed-hosts",
        type=parse_hosts,
        default=parse_hosts(env("FACEMATCH_ALLOWED_HOSTS", "")),
        help="Host names the admin routes (the journal) answer, comma-separated; '*' for any "
        "(default: localhost names and --host)",
    )
    serve.add_argument(
        "--admin-token",
        default=env("FACEMATCH_ADMIN_TOKEN") or None,
        help="bearer token the admin routes (the journal) require (env FACEMATCH_ADMIN_TOKEN; default: none)",
    )
    serve.add_argument(
        "--admin-cors",
        action="store_true",
        help="let --cors apply to the admin routes too (default: they get no CORS headers)",
    )
    serve.add_argument(
        "--latency",
        type=parse_latency,
        default=None,
        help="add latency to every answer of the operation: MS, LOW-HIGH (uniform) or "
        "tail:MEDIAN-P99 (long tail), milliseconds (docs/faults.md)",
    )
    serve.add_argument(
        "--faults",
        type=parse_fault_list,
        default=None,
        metavar="NAME,...",
        help="faults to inject at random with --fault-rate: "
        f"{', '.join(fault.value for fault in Fault)} (docs/faults.md)",
    )
    serve.add_argument(
        "--fault-rate",
        type=parse_rate,
        default=None,
        metavar="RATE",
        help="share of the operation's requests (0..1) that get one of --faults",
    )
    serve.add_argument(
        "--fault-seed",
        type=int,
        default=None,
        metavar="N",
        help="make the fault draws repeatable: keyed by the client's X-Correlation-ID, "
        "else the worker's request number",
    )
    serve.add_argument(
        "--certfile", type=Path, default=None, help="serve HTTPS with this PEM certificate (chain), with --keyfile"
    )
    serve.add_argument("--keyfile", type=Path, default=None, help="the PEM private key of --certfile")
    serve.add_argument(
        "--tls-self-signed",
        action="store_true",
        help="serve HTTPS with a certificate for localhost, 127.0.0.1 and ::1 made at start "
        "(its path is printed, to trust it; removed at exit)",
    )
    serve.add_argument(
        "--state",
        default=env("FACEMATCH_STATE", "embedded"),
        metavar="URL",
        help="where the journal, runtime settings and sequences live: 'embedded' (files shared by "
        "this server's workers) or redis://HOST:PORT/N (shared by every server on it; "
        "env FACEMATCH_STATE)",
    )
    serve.add_argument(
        "--sequences",
        type=Path,
        default=None,
        metavar="FILE",
        help="YAML file of sequences to define at start-up (docs/steering.md)",
    )
    serve.add_argument("--no-journal", action="store_true", help="turn the request journal off")
    serve.add_argument("--journal-limit", type=int, default=1000, help="entries the journal keeps")
    serve.add_argument(
        "--journal-max-kb",
        type=int,
        default=Settings.journal_max_bytes // 1024,
        help="KiB the journal file may hold (its newest entries within it are kept)",
    )
    serve.add_argument(
        "--models-dir",
        type=Path,
        default=_env_path("FACEMATCH_MODELS_DIR"),
        help="real mode: directory with the MiniFASNet ONNX files (env FACEMATCH_MODELS_DIR)",
    )
    serve.add_argument(
        "--match-distance",
        type=float,
        default=RealModeSettings.match_distance,
        help="real mode: embedding distance at or below which two faces match",
    )
    serve.add_argument(
        "--liveness-threshold",
        type=float,
        default=None,
        help="real mode: real-class probability (0..1) at or above which a photo is real "
        "(default: the class with the largest fused probability wins)",
    )
    serve.add_argument(
        "--spec",
        type=Path,
        default=_env_path("FACEMATCH_SPEC") or SPEC_PATH,
        help="the contract to serve (env FACEMATCH_SPEC)",
    )
    serve.add_argument(
        "--bulk-jobs",
        type=int,
        default=Settings.bulk_max_jobs,
        help="bulk jobs (POST /bulk) that may be queued or running at once",
    )
    serve.add_argument(
        "--bulk-ttl", type=int, default=Settings.bulk_ttl_seconds, help="seconds a finished bulk job's results are kept"
    )
    serve.add_argument(
        "--timeout",
        type=int,
        default=30,
        help="seconds a worker may go without a heartbeat before gunicorn restarts it",
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=Settings.idle_timeout_s,
        help="seconds a connection may wait with no byte of a request (then 408, closed)",
    )
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=Settings.header_timeout_s,
        help="seconds a request's line and headers may take to arrive (then 408, closed)",
    )
    serve.add_argument(
        "--body-timeout",
        type=float,
        default=Settings.body_timeout_s,
        help="seconds a request's body may take to arrive after its headers (then 408, closed)",
    )
    serve.add_argument(
        "--decode-seconds",
        type=float,
        default=Settings.decode_seconds,
        help="wall-clock seconds one image's decode may take (then 400)",
    )
    serve.add_argument(
        "--decode-memory-mb",
        type=int,
        default=Settings.decode_memory_bytes // 2**20,
        help="estimated MiB one image's decode may hold (pixels x bytes per pixel; over: 400)",
    )
    serve.add_argument("--quiet", action="store_true", help="no access log")
    serve.add_argument(
        "--replay",
        type=Path,
        metavar="DIR",
        help="answer images recorded by 'facematch proxy --record DIR' with the recorded answers",
    )
    serve.add_argument(
        "--replay-strict",
        action="store_true",
        help="with --replay: 404 for images not in the recording (instead of the canned engine)",
    )
    serve.set_defaults(func=run_serve)


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def fault_policy(args: argparse.Namespace) -> FaultPolicy | None:
    """The command line's random faults (check_fault_options has vetted the combination)."""
    if args.faults is None or args.fault_rate is None:
        return None
    return FaultPolicy(args.fault_rate, args.faults, args.fault_seed)


def check_fault_options(args: argparse.Namespace) -> str | None:
    if (args.faults is None) != (args.fault_rate is None):
        return "--faults and --fault-rate go together (e.g. --faults 503,reset --fault-rate 0.05)"
    if args.fault_seed is not None and args.faults is None:
        return "--fault-seed needs --faults and --fault-rate"
    return None


def check_tls_options(args: argparse.Namespace) -> str | None:
    if args.tls_self_signed and (args.certfile or args.keyfile):
        return "--tls-self-signed makes its own certificate: leave out --certfile and --keyfile"
    if (args.certfile is None) != (args.keyfile is None):
        return "--certfile and --keyfile go together"
    return None


def settings_from_args(
    args: argparse.Namespace,
    journal_path: Path | None,
    bulk_dir: Path | None = None,
    tls_files: TlsFiles | None = None,
    state_dir: Path | None = None,
    sequences: tuple[Sequence, ...] = (),
) -> Settings:
    return Settings(
        state_url=None if args.state == "embedded" else args.state,
        state_dir=state_dir,
        sequences=sequences,
        bulk_dir=bulk_dir,
        bulk_max_jobs=args.bulk_jobs,
        bulk_ttl_seconds=args.bulk_ttl,
        replay_dir=args.replay,
        replay_strict=args.replay_strict,
        mode=args.mode,
        auth=args.auth,
        jwt_secret=args.jwt_secret,
        require_exp=args.require_exp,
        prefix=args.prefix,
        strict=args.strict,
        cors_origins=args.cors,
        allowed_hosts=args.allowed_hosts or default_hosts(args.host),
        admin_token=args.admin_token,
        admin_cors=args.admin_cors,
        latency=args.latency,
        faults=fault_policy(args),
        tls=tls_files,
        journal_path=journal_path,
        journal_limit=args.journal_limit,
        journal_max_bytes=args.journal_max_kb * 1024,
        decode_seconds=args.decode_seconds,
        decode_memory_bytes=args.decode_memory_mb * 2**20,
        idle_timeout_s=args.idle_timeout,
        header_timeout_s=args.header_timeout,
        body_timeout_s=args.body_timeout,
        spec_path=args.spec,
        real=RealModeSettings(
            models_dir=args.models_dir,
            match_distance=args.match_distance,
            liveness_threshold=args.liveness_threshold,
        ),
    )


def run_serve(args: argparse.Namespace) -> int:
    from .server import WORKER_CLASS, GunicornServer

    if args.replay_strict and args.replay is None:
        print("facematch serve: --replay-strict needs --replay DIR", file=sys.stderr)
        return 2
    if args.replay is not None and not args.replay.is_dir():
        print(f"facematch serve: replay cassette {args.replay} is not a directory", file=sys.stderr)
        return 2
    if args.mode == "real":
        problem = real_mode_problem(args.models_dir)
        if problem:
            print(f"facematch serve: {problem}", file=sys.stderr)
            return 2
    from .state import check_state_url

    problem = check_state_url(args.state)
    if problem:
        print(f"facematch serve: {problem}", file=sys.stderr)
        return 2
    sequences: tuple[Sequence, ...] = ()
    if args.sequences is not None:
        from .sequences import SequenceError, load_sequences_file
        from .spec import Contract

        try:
            sequences = load_sequences_file(args.sequences, list(Contract(args.spec).examples))
        except SequenceError as error:
            print(f"facematch serve: {error}", file=sys.stderr)
            return 2
    problem = check_fault_options(args) or check_tls_options(args)
    if problem:
        print(f"facematch serve: {problem}", file=sys.stderr)
        return 2
    tls_files = TlsFiles(args.certfile, args.keyfile) if args.certfile is not None else None
    if tls_files is not None:
        from .tls import server_context

        try:
            server_context(tls_files)  # refuse a bad pair here, before gunicorn starts
        except TlsError as error:
            print(f"facematch serve: {error}", file=sys.stderr)
            return 2
    from .leftovers import make_work_area, remove_stale

    for folder in remove_stale():
        print(f"facematch serve: removed {folder}, left by a server that is no longer running", file=sys.stderr)
    # The journal and the embedded state store: one private work area for all workers.
    journal_dir = make_work_area("facematch-journal-")
    journal_path = None if args.no_journal else journal_dir / "journal.jsonl"
    # Bulk jobs: one private (0700) work area for all workers, removed when the server exits.
    bulk_dir = make_work_area("facematch-bulk-")
    if args.tls_self_signed:
        from .tls import make_self_signed

        tls_dir = make_work_area("facematch-tls-")
        try:
            tls_files = make_self_signed(tls_dir)
        except TlsError as error:
            print(f"facematch serve: {error}", file=sys.stderr)
            return 2
        print(
            f"facematch serve: self-signed certificate for localhost, 127.0.0.1 and ::1: {tls_files.certfile} "
            "(trust it, e.g. curl --cacert FILE; removed at exit)",
            file=sys.stderr,
            flush=True,
        )
    settings = settings_from_args(args, journal_path, bulk_dir, tls_files, journal_dir, sequences)
    real = args.mode == "real"
    workers = args.workers or (multiprocessing.cpu_count() if real else default_workers())
    threads = args.threads or (2 if real else default_threads())
    options = {
        "bind": f"{args.host}:{args.port}",
        "workers": workers,
        "threads": threads,
        # Every worker reads connections with an asyncio front and runs the app on
        # complete requests in ``threads`` threads (mock_server/server.py).
        "worker_class": WORKER_CLASS,
        "timeout": args.timeout,
        "graceful_timeout": 5,
        "accesslog": None if args.quiet else "-",
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "facematch",
        # Several mocks may run side by side (tests, CI): no shared control socket.
        "control_socket_disable": True,
        # Headers only; bodies are never logged. The Authorization header is not in this format.
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": lean_access_logger(),
    }
    GunicornServer(settings, options).run()
    return 0


#: What real mode imports, as module names (found without importing them).
REAL_MODE_MODULES = ("numpy", "onnxruntime", "dlib", "face_recognition_models", "threadpoolctl")


def real_mode_problem(models_dir: Path | None) -> str | None:
    """A clear sentence when real mode cannot start, None when it can."""
    missing = [name for name in REAL_MODE_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        return f"real mode needs {', '.join(missing)}: install the extra with pip install -e '.[real]'"
    if models_dir is None:
        return (
            "real mode needs the liveness models: pass --models-dir DIR (or set FACEMATCH_MODELS_DIR); "
            "'facematch models fetch --dir DIR' downloads them"
        )
    if not models_dir.is_dir():
        return f"models directory {models_dir} does not exist"
    from .models_fetch import ModelsError, locate_models

    try:
        locate_models(models_dir)
    except ModelsError as error:
        return str(error)
    return None
