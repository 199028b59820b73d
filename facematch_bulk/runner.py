"""Sending the cases of an archive: a pool of threads, bounded retries, results in case order.

The runner knows nothing about HTTP: a :class:`Sender` turns one case's bytes into one
:class:`Reply`, or raises :class:`SendFailed` when the request could not be delivered (which
the runner retries, with backoff). :class:`HttpSender` is the CLI's sender: a real multipart
POST to the operation of any implementation. :func:`case_request` is that POST as data, so a
sender that delivers it without a socket (the mock's bulk jobs) sends the very same request.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter

from facematch_contract.operation import CORRELATION_HEADER, OPERATION_PATH

from .archive import Case, CaseProblem, InputArchive, cases_of

CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
#: How much of a body that is not JSON is kept for the results.
TEXT_KEPT = 2000
DEFAULT_CONCURRENCY = 8

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str


class SendFailed(Exception):
    """The request was not delivered or no answer came back (retried by the runner)."""


class Sender(Protocol):
    def send(self, case: Case, image1: bytes, image2: bytes | None) -> Reply: ...


@dataclass(frozen=True)
class RunOptions:
    concurrency: int = DEFAULT_CONCURRENCY
    #: Further attempts after a failed delivery (connection refused or reset, timeout).
    retries: int = 3
    #: Seconds before the first retry; doubled for each further one (with some jitter).
    backoff: float = 0.25
    #: Stop sending once this many cases in a row could not be delivered (0: never stop).
    give_up_after: int = 20


@dataclass(frozen=True)
class Answer:
    """What came back for one case that was delivered."""

    case: Case
    status: int
    body: Any  # the parsed JSON body, or None when the body is not JSON
    text: str | None  # the start of the body when it is not JSON
    content_type: str
    attempts: int
    seconds: float

    @property
    def message(self) -> str | None:
        """The error message of a non-2xx answer, from whichever shape it came in."""
        if 200 <= self.status < 300 and self.body is not None:
            return None
        if self.body is None:
            return f"HTTP {self.status}: the response is not JSON ({self.content_type or 'no content type'})"
        if isinstance(self.body, dict):
            for key in ("msg", "message", "detail"):
                value = self.body.get(key)
                if isinstance(value, str) and value:
                    return value
        return f"HTTP {self.status}"


@dataclass
class RunResult:
    """Every case of the archive: answers for those delivered, problems for the others."""

    total: int
    answers: list[Answer] = field(default_factory=list)
    not_sent: list[CaseProblem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    retries: int = 0
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0

    @property
    def not_sent_cases(self) -> list[str]:
        """The cases that were not sent (refused by the archive check or not delivered)."""
        return cases_of(self.not_sent)


def correlation_id(case: Case) -> str:
    """A stable correlation id for a case (the same on every run, fit for the header)."""
    return "bulk-" + hashlib.sha256(case.id.encode()).hexdigest()[:24]


class HttpSender:
    """POSTs a case to ``base_url + path`` as multipart/form-data with a bearer token.

    One ``requests.Session`` per thread (sessions are not thread-safe). Retries are left to
    the runner, so the adapter itself never retries.
    """

    def __init__(self, base_url: str, token: str | None, *, path: str = OPERATION_PATH, timeout: float = 60.0) -> None:
        self.url = base_url.rstrip("/") + "/" + path.lstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session

    def send(self, case: Case, image1: bytes, image2: bytes | None) -> Reply:
        request = case_request(self.url, case, image1, image2, self.headers)
        try:
            response = self._session().post(
                request.url, files=request.files, headers=request.headers, timeout=self.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            raise SendFailed(_transport_reason(error)) from error
        except requests.RequestException as error:
            raise SendFailed(f"request failed: {type(error).__name__}") from error
        return Reply(response.status_code, response.content, response.headers.get("Content-Type", ""))


def case_request(
    url: str, case: Case, image1: bytes, image2: bytes | None, headers: Mapping[str, str]
) -> requests.Request:
    """One case as the operation's multipart POST: the image parts named by their entries,
    ``unique_id`` when the case has one, and the case's stable correlation id."""
    files: list[tuple[str, Any]] = [("image1", _file_part(case.image1, image1))]
    if image2 is not None and case.image2 is not None:
        files.append(("image2", _file_part(case.image2, image2)))
    if case.unique_id is not None:
        files.append(("unique_id", (None, case.unique_id)))
    return requests.Request("POST", url, files=files, headers={**headers, CORRELATION_HEADER: correlation_id(case)})


def _file_part(entry: str, data: bytes) -> tuple[str, bytes, str]:
    name = entry.rsplit("/", 1)[-1]
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return name, data, CONTENT_TYPES.get(extension, "application/octet-stream")


def _transport_reason(error: Exception) -> str:
    """A short reason without URLs or headers (nothing secret ends up in the results)."""
    if isinstance(error, requests.ConnectTimeout):
        return "connection timed out"
    if isinstance(error, requests.Timeout):
        return "no answer within the timeout"
    text = str(error)
    for marker in (
        "Connection refused",
        "Connection reset",
        "Name or service not known",
        "No route to host",
        "Remote end closed connection",
        "Broken pipe",
    ):
        if marker in text:
            return marker.lower()
    return "connection failed"


def parse_reply(case: Case, reply: Reply, attempts: int, seconds: float) -> Answer:
    body: Any = None
    text: str | None = None
    if "json" in reply.content_type.lower() or reply.body[:1] in (b"{", b"["):
        try:
            body = json.loads(reply.body)
        except (ValueError, UnicodeDecodeError):
            body = None
    if body is None:
        text = reply.body[:TEXT_KEPT].decode("utf-8", "replace")
    return Answer(case, reply.status, body, text, reply.content_type, attempts, seconds)


class _Run:
    """The shared state of one run (counters under one lock)."""

    def __init__(
        self,
        archive: InputArchive,
        sender: Sender,
        options: RunOptions,
        progress: Progress | None,
        cancel: threading.Event | None,
    ) -> None:
        self.cancel = cancel
        self.archive = archive
        self.sender = sender
        self.options = options
        self.progress = progress
        self.total = len(archive.cases)
        self.lock = threading.Lock()
        self.done = 0
        self.retries = 0
        self.failures_in_a_row = 0
        self.stopped: str | None = None

    def one(self, case: Case) -> Answer | CaseProblem:
        try:
            return self._deliver(case)
        finally:
            with self.lock:
                self.done += 1
                done = self.done
            if self.progress:
                self.progress(done, self.total)

    def _deliver(self, case: Case) -> Answer | CaseProblem:
        if self.cancel is not None and self.cancel.is_set():
            return CaseProblem(case.id, "", "not sent: the run was cancelled")
        if self.stopped:
            return CaseProblem(case.id, "", self.stopped)
        image1 = self.archive.read(case.image1)
        image2 = self.archive.read(case.image2) if case.image2 else None
        attempts = 0
        start = time.perf_counter()
        while True:
            attempts += 1
            try:
                reply = self.sender.send(case, image1, image2)
            except SendFailed as error:
                if attempts <= self.options.retries and not self.stopped:
                    with self.lock:
                        self.retries += 1
                    delay = self.options.backoff * (2 ** (attempts - 1))
                    time.sleep(delay * random.uniform(0.8, 1.2))
                    continue
                return self._failed(case, f"not sent after {attempts} attempt(s): {error}")
            with self.lock:
                self.failures_in_a_row = 0
            return parse_reply(case, reply, attempts, time.perf_counter() - start)

    def _failed(self, case: Case, reason: str) -> CaseProblem:
        with self.lock:
            self.failures_in_a_row += 1
            limit = self.options.give_up_after
            if limit and self.failures_in_a_row >= limit and not self.stopped:
                self.stopped = f"not sent: the run stopped after {limit} cases in a row could not be sent ({reason})"
        return CaseProblem(case.id, "", reason)


def run_cases(
    archive: InputArchive,
    sender: Sender,
    options: RunOptions | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Send every case of the archive; the result lists cases sorted by case id.

    Setting ``cancel`` (or an interrupt in the calling thread) stops sending: cases not yet
    started are not sent, requests in flight finish.
    """
    options = options or RunOptions()
    run = _Run(archive, sender, options, progress, cancel)
    result = RunResult(total=len(archive.cases) + len(archive.refused_cases))
    result.not_sent.extend(archive.problems)
    result.ignored.extend(archive.discovery.ignored)
    start = time.perf_counter()
    workers = max(1, min(options.concurrency, len(archive.cases) or 1))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="facematch-bulk")
    try:
        futures = [pool.submit(run.one, case) for case in archive.cases]
        outcomes = [future.result() for future in futures]
    except BaseException:
        run.stopped = "not sent: the run was interrupted"
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    result.seconds = time.perf_counter() - start
    result.retries = run.retries
    for outcome in outcomes:
        if isinstance(outcome, Answer):
            result.answers.append(outcome)
        else:
            result.not_sent.append(outcome)
    result.answers.sort(key=lambda answer: answer.case.id)
    result.not_sent.sort(key=lambda problem: (problem.case, problem.entry))
    return result
