"""The job folders of a mock server, visible from every gunicorn worker.

Each job is a folder under one private (0700) work area created at start-up:
``status.json`` (its :class:`~.model.JobRecord`, replaced atomically on every change),
``input.zip`` while the job runs and ``result.zip`` once it is done. Any worker can answer
for any job by reading its folder; the work itself runs in a thread of the worker that
accepted the upload (``run.py``).

Privacy: the input archive is deleted as soon as the job ends (done or failed); the result
archive is deleted after the TTL (by a timer in the owning worker, and by the sweep that
every new job runs, in any worker), and the whole work area is removed when the server
exits. Image bytes and tokens are never logged or written anywhere else.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..leftovers import process_alive
from .model import JobRecord, new_record

JOB_ID = re.compile(r"[0-9a-f]{32}")
STATUS_FILE = "status.json"
INPUT_FILE = "input.zip"
RESULT_FILE = "result.zip"
#: Seconds after which a job folder that never got a status is a stale reservation.
STALE_RESERVATION_SECONDS = 60
#: What a job whose worker has gone reports.
WORKER_GONE = "the server worker running this job exited"


class Busy(Exception):
    """As many jobs as allowed are already queued or running."""


@dataclass(frozen=True)
class JobLimits:
    max_jobs: int = 4
    ttl_seconds: int = 3600


def valid_id(job_id: str) -> bool:
    """Whether ``job_id`` has the shape of a job id (anything else is never a path)."""
    return JOB_ID.fullmatch(job_id) is not None


class JobStore:
    """The job folders of one server (shared by its workers through the file system)."""

    def __init__(self, root: Path, limits: JobLimits) -> None:
        self.root = root
        self.limits = limits

    # -- files ---------------------------------------------------------------------------
    def folder(self, job_id: str) -> Path:
        if not valid_id(job_id):
            raise KeyError(job_id)
        return self.root / job_id

    def input_path(self, job_id: str) -> Path:
        return self.folder(job_id) / INPUT_FILE

    def result_path(self, job_id: str) -> Path:
        return self.folder(job_id) / RESULT_FILE

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.root / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write(self, record: JobRecord) -> None:
        folder = self.folder(record.id)
        temporary = folder / f".{STATUS_FILE}.{os.getpid()}.{threading.get_ident()}"
        temporary.write_bytes(json.dumps(record.as_json(), separators=(",", ":")).encode())
        os.replace(temporary, folder / STATUS_FILE)

    def _read(self, job_id: str) -> JobRecord | None:
        try:
            return JobRecord.from_json(json.loads((self.folder(job_id) / STATUS_FILE).read_bytes()))
        except (KeyError, FileNotFoundError, NotADirectoryError, ValueError, TypeError):
            return None

    # -- life cycle ----------------------------------------------------------------------
    def reserve(self, subject: str) -> str:
        """A new job folder, its upload arriving, owned by ``subject`` (a digest), or
        :class:`Busy` when the limit is reached."""
        with self._locked():
            self.sweep()
            active = sum(1 for record in self._records() if record.status.active)
            if active >= self.limits.max_jobs:
                raise Busy()
            job_id = secrets.token_hex(16)
            (self.root / job_id).mkdir(mode=0o700)
            self._write(new_record(job_id, subject, os.getpid()))
            return job_id

    def change(self, job_id: str, how: Callable[[JobRecord], JobRecord]) -> JobRecord | None:
        """Apply ``how`` to the job's record and store the result; None when the job is gone."""
        record = self._read(job_id)
        if record is None:
            return None
        changed = how(record)
        self._write(changed)
        return changed

    def discard(self, job_id: str) -> None:
        shutil.rmtree(self.folder(job_id), ignore_errors=True)

    def remove_input(self, job_id: str) -> None:
        self.input_path(job_id).unlink(missing_ok=True)

    def get(self, job_id: str) -> JobRecord | None:
        """The job's record (None when unknown or expired); an active job whose worker has
        gone is reported as failed."""
        record = self._read(job_id)
        if record is None:
            return None
        if record.status.active and not process_alive(record.worker):
            record = self.change(job_id, lambda gone: gone.failed(WORKER_GONE))
            self.remove_input(job_id)
            if record is None:
                return None
        if record.status.finished and record.expired(self.limits.ttl_seconds):
            self.discard(job_id)
            return None
        return record

    def _records(self) -> Iterator[JobRecord]:
        for folder in self.root.iterdir():
            if folder.is_dir() and valid_id(folder.name):
                record = self.get(folder.name)
                if record is not None:
                    yield record

    def sweep(self) -> None:
        """Delete every finished job past its TTL (results and all)."""
        for folder in list(self.root.iterdir()):
            if folder.is_dir() and valid_id(folder.name):
                record = self._read(folder.name)
                if record is None:
                    # A folder without a status is a reservation that never got one: stale.
                    if time.time() - folder.stat().st_mtime > STALE_RESERVATION_SECONDS:
                        shutil.rmtree(folder, ignore_errors=True)
                elif record.status.finished and record.expired(self.limits.ttl_seconds):
                    self.discard(folder.name)

    def expire(self, job_id: str) -> None:
        """Delete the job if it is finished and past its TTL."""
        record = self._read(job_id)
        if record is not None and record.status.finished and record.expired(self.limits.ttl_seconds):
            self.discard(job_id)


class WorkArea:
    """The job store of one app, created on first use; without a work area from the server
    (``Settings.bulk_dir``), a private temporary one that this process removes at exit."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self._store: JobStore | None = None

    def store(self) -> JobStore:
        with self.lock:
            if self._store is None:
                root = Path(self.settings.bulk_dir) if self.settings.bulk_dir is not None else _private_root()
                root.mkdir(mode=0o700, exist_ok=True)
                os.chmod(root, 0o700)
                self._store = JobStore(root, JobLimits(self.settings.bulk_max_jobs, self.settings.bulk_ttl_seconds))
            return self._store


def _private_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="facematch-bulk-"))
    creator = os.getpid()

    def remove() -> None:
        if os.getpid() == creator:  # not in a forked child
            shutil.rmtree(root, ignore_errors=True)

    atexit.register(remove)
    return root
