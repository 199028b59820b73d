"""``facematch bulk``: send every case of a ZIP to an implementation, write a results ZIP."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from facematch_contract.operation import DEV_JWT_SECRET, OPERATION_PATH
from facematch_contract.tokens import mint_token

from .archive import ArchiveRefused, InputArchive
from .results import load_columns, write_results
from .runner import DEFAULT_CONCURRENCY, HttpSender, RunOptions, RunResult, run_cases

EXIT_OK = 0
EXIT_NOT_SENT = 1
EXIT_REFUSED = 2
EXIT_INTERRUPTED = 130

DESCRIPTION = """\
Send every case of INPUT.zip as a real request to POST /advanced_facematch of any
implementation (the mock, the real-model mode, a vendor) and write a results archive.

Input layout (the two may be mixed; CASE may contain folders):
  CASE/image1.jpg  CASE/image2.jpg  CASE/unique_id.txt   a folder per case
  CASE_image1.jpg  CASE_image2.jpg  CASE_unique_id.txt   flat
Images: .jpg .jpeg .png .webp. image2 and unique_id.txt are optional.

The output ZIP holds results.csv, results.jsonl, errors.csv and summary.json, cases sorted
by case id. It is written atomically (nothing is left behind when the run fails).
"""

EPILOG = """\
exit status: 0 every case was sent (whatever the answers); 1 some cases could not be sent
(see errors.csv; the archive is still written); 2 the input was refused (not a ZIP,
hostile entries, over a limit) or the output could not be written; 130 interrupted.

Without --token, a development token is minted with --jwt-secret (the mock's default
secret unless FACEMATCH_JWT_SECRET says otherwise). Tokens are never written to the output.

example:
  facematch bulk cases.zip --base-url http://127.0.0.1:8080 --output results.zip
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    env = os.environ.get
    parser = subparsers.add_parser(
        "bulk",
        help="send a ZIP of cases to an implementation and write a results ZIP",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, metavar="INPUT.zip", help="the archive of cases")
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        required=True,
        metavar="OUT.zip",
        help="where to write the results archive (replaced if it exists)",
    )
    parser.add_argument(
        "--base-url",
        default=env("FACEMATCH_BASE_URL", "http://127.0.0.1:8080"),
        help="the implementation's base URL (default: %(default)s; env FACEMATCH_BASE_URL)",
    )
    parser.add_argument(
        "--path", default=OPERATION_PATH, help="the operation's path under the base URL (default: %(default)s)"
    )
    parser.add_argument(
        "--token",
        default=env("FACEMATCH_TOKEN"),
        help="bearer token to send (env FACEMATCH_TOKEN); default: mint one with --jwt-secret",
    )
    parser.add_argument(
        "--jwt-secret",
        default=env("FACEMATCH_JWT_SECRET", DEV_JWT_SECRET),
        help="HS256 secret used to mint a token when --token is not given "
        "(default: the mock's development secret; env FACEMATCH_JWT_SECRET)",
    )
    parser.add_argument(
        "--concurrency",
        "-c",
        type=_positive,
        default=DEFAULT_CONCURRENCY,
        help="requests in flight at once (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for each answer (default: %(default)s)"
    )
    parser.add_argument(
        "--retries",
        type=_non_negative,
        default=RunOptions.retries,
        help="further attempts after a connection error or timeout, with exponential "
        "backoff from 0.25 s (default: %(default)s)",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress and no summary on stderr")
    parser.set_defaults(func=handler)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


class ProgressReport:
    """A redrawn bar on a terminal; plain lines (every 10%) otherwise."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream = stream
        self.total = total
        self.tty = stream.isatty()
        self.start = time.monotonic()
        self.lock = threading.Lock()
        self.last_draw = 0.0
        self.last_decile = 0

    def __call__(self, done: int, total: int) -> None:
        with self.lock:
            now = time.monotonic()
            rate = done / max(now - self.start, 1e-6)
            if self.tty:
                if done < total and now - self.last_draw < 0.1:
                    return
                self.last_draw = now
                width = 30
                filled = int(width * done / total) if total else width
                self.stream.write(
                    f"\rbulk [{'#' * filled}{'.' * (width - filled)}] "
                    f"{done}/{total} {100 * done // max(total, 1)}% {rate:.1f} cases/s "
                )
                if done == total:
                    self.stream.write("\n")
                self.stream.flush()
            else:
                decile = 10 * done // max(total, 1)
                if decile > self.last_decile or done == total:
                    self.last_decile = decile
                    print(
                        f"bulk: {done}/{total} cases ({100 * done // max(total, 1)}%), {rate:.1f} cases/s",
                        file=self.stream,
                        flush=True,
                    )


def handler(args: argparse.Namespace) -> int:
    err = sys.stderr

    def say(text: str) -> None:
        if not args.quiet:
            print(text, file=err, flush=True)

    output: Path = args.output
    if output.resolve() == args.input.resolve():
        print("facematch bulk: --output must not be the input archive", file=err)
        return EXIT_REFUSED
    if not output.parent.is_dir():
        print(f"facematch bulk: the output folder {output.parent} does not exist", file=err)
        return EXIT_REFUSED
    try:
        archive = InputArchive(args.input)
    except ArchiveRefused as error:
        print(f"facematch bulk: {args.input}: refused: {error}", file=err)
        return EXIT_REFUSED
    token = args.token or mint_token(args.jwt_secret)
    sender = HttpSender(args.base_url, token, path=args.path, timeout=args.timeout)
    options = RunOptions(concurrency=args.concurrency, retries=args.retries)
    with archive:
        count = len(archive.cases)
        say(
            f"bulk: {count} case(s) to send to {args.base_url.rstrip('/')}{args.path}"
            + (f", {len(archive.refused_cases)} that cannot be sent" if archive.problems else "")
        )
        progress = None if args.quiet or not count else ProgressReport(err, count)
        try:
            run = run_cases(archive, sender, options, progress)
        except KeyboardInterrupt:
            print("\nfacematch bulk: interrupted; no output written", file=err)
            return EXIT_INTERRUPTED
    try:
        write_results(output, run, load_columns(), target=args.base_url, input_name=args.input.name)
    except OSError as error:
        print(f"facematch bulk: cannot write {output}: {error.strerror or error}", file=err)
        return EXIT_REFUSED
    statuses = ", ".join(f"{status}: {count}" for status, count in _by_status(run).items())
    not_sent = run.not_sent_cases
    say(
        f"bulk: {run.total} case(s), {len(run.answers)} sent ({statuses or 'none'}), "
        f"{len(not_sent)} not sent, {run.seconds:.1f} s -> {output}"
    )
    if not_sent:
        for problem in run.not_sent[:10]:
            say(f"  not sent: {problem.case or problem.entry}: {problem.reason}")
        if len(run.not_sent) > 10:
            say(f"  ... and {len(run.not_sent) - 10} more in errors.csv")
        return EXIT_NOT_SENT
    return EXIT_OK


def _by_status(run: RunResult) -> dict[str, int]:
    counts: dict[str, int] = {}
    for answer in run.answers:
        counts[str(answer.status)] = counts.get(str(answer.status), 0) + 1
    return dict(sorted(counts.items()))
