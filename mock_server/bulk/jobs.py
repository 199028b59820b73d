"""Bulk jobs of the mock server, visible from every gunicorn worker.

Each job is a folder under one private (0700) work area created at start-up:
``status.json`` (replaced atomically on every change), ``input.zip`` while the job runs and
``result.zip`` once it is done. Any worker can answer for any job by reading its folder;
the work itself runs in a thread of the worker that accepted the upload, with the same
runner and results writer as ``facematch bulk``.

Privacy: the input archive is deleted as soon as the job ends (done or failed); the result
archive is deleted after the TTL (by a timer in the owning worker, and by the sweep that
every bulk request runs, in any worker), and the whole work area is removed when the server
exits. Image bytes and tokens are never logged or written anywhere else.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from facematch_bulk.archive import InputArchive
from facematch_bulk.results import write_results
from facematch_bulk.runner import RunOptions, Sender, run_cases

from ..leftovers import process_alive

log = logging.getLogger("facematch.bulk")

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
STATUS_FILE = "status.json"
INPUT_FILE = "input.zip"
RESULT_FILE = "result.zip"
#: States a client can see; "receiving" (the upload is still arriving) is shown as queued.
ACTIVE = ("receiving", "queued", "running")
FINISHED = ("done", "failed")
#: Seconds between status writes while a job runs (the final state is always written).
PROGRESS_INTERVAL = 0.25


class Busy(Exception):
    """As many jobs as allowed are already queued or running."""


@dataclass(frozen=True)
class JobLimits:
    max_jobs: int = 4
    ttl_seconds: int = 3600


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JobStore:
    """The job folders of one server (shared by its workers through the file system)."""

    def __init__(self, root: Path, limits: JobLimits) -> None:
        self.root = root
        self.limits = limits

    # -- files ---------------------------------------------------------------------------
    def folder(self, job_id: str) -> Path:
        if not JOB_ID.match(job_id):
            raise KeyError(job_id)
        return self.root / job_id

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.root / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write(self, job_id: str, record: dict[str, Any]) -> None:
        folder = self.folder(job_id)
        temporary = folder / f".{STATUS_FILE}.{os.getpid()}.{threading.get_ident()}"
        temporary.write_bytes(json.dumps(record, separators=(",", ":")).encode())
        os.replace(temporary, folder / STATUS_FILE)

    def _read(self, job_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.folder(job_id) / STATUS_FILE).read_bytes())
        except (KeyError, FileNotFoundError, NotADirectoryError, ValueError):
            return None

    # -- life cycle ----------------------------------------------------------------------
    def reserve(self, subject: str) -> str:
        """A new job folder in state "receiving" owned by ``subject`` (a digest), or
        :class:`Busy` when the limit is reached."""
        with self._locked():
            self.sweep()
            active = sum(1 for record in self._records() if record["status"] in ACTIVE)
            if active >= self.limits.max_jobs:
                raise Busy()
            job_id = secrets.token_hex(16)
            (self.root / job_id).mkdir(mode=0o700)
            self._write(job_id, self._record(job_id, "receiving", subject=subject))
            return job_id

    def _record(self, job_id: str, status: str, **fields: Any) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": job_id,
            "status": status,
            "owner": os.getpid(),
            "created": _now(),
            "started": None,
            "finished": None,
            "finished_at": None,
            "expires": None,
            "cases": {"total": 0, "done": 0},
            "errors": 0,
            "message": None,
        }
        record.update(fields)
        return record

    def update(self, job_id: str, **fields: Any) -> dict[str, Any]:
        record = self._read(job_id) or self._record(job_id, "queued")
        record.update(fields)
        self._write(job_id, record)
        return record

    def discard(self, job_id: str) -> None:
        shutil.rmtree(self.folder(job_id), ignore_errors=True)

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job's record (None when unknown or expired); an active job whose worker has
        gone is reported as failed."""
        record = self._read(job_id)
        if record is None:
            return None
        if record["status"] in ACTIVE and not process_alive(int(record.get("owner") or 0)):
            record = self.update(job_id, status="failed", message="the server worker running this job exited",
                                 finished=_now(), finished_at=time.time())
            self._remove_input(job_id)
        if record["status"] in FINISHED and self._expired(record):
            self.discard(job_id)
            return None
        return record

    def _records(self) -> Iterator[dict[str, Any]]:
        for folder in self.root.iterdir():
            if folder.is_dir() and JOB_ID.match(folder.name):
                record = self.get(folder.name)
                if record is not None:
                    yield record

    def _expired(self, record: dict[str, Any]) -> bool:
        finished_at = record.get("finished_at")
        return finished_at is not None and time.time() - finished_at >= self.limits.ttl_seconds

    def sweep(self) -> None:
        """Delete every finished job past its TTL (results and all)."""
        for folder in list(self.root.iterdir()):
            if folder.is_dir() and JOB_ID.match(folder.name):
                record = self._read(folder.name)
                if record is None:
                    # A folder without a status is a reservation that never got one: stale.
                    if time.time() - folder.stat().st_mtime > 60:
                        shutil.rmtree(folder, ignore_errors=True)
                elif record["status"] in FINISHED and self._expired(record):
                    self.discard(folder.name)

    def _remove_input(self, job_id: str) -> None:
        try:
            (self.folder(job_id) / INPUT_FILE).unlink()
        except FileNotFoundError:
            pass

    def input_path(self, job_id: str) -> Path:
        return self.folder(job_id) / INPUT_FILE

    def result_path(self, job_id: str) -> Path:
        return self.folder(job_id) / RESULT_FILE

    # -- running -------------------------------------------------------------------------
    def start(
        self,
        job_id: str,
        archive: InputArchive,
        sender: Sender,
        options: RunOptions,
        columns: list[str],
        input_name: str,
        target: str,
    ) -> dict[str, Any]:
        """Queue the job and run it in a background thread of this worker."""
        problems = _problem_cases(archive)
        record = self.update(
            job_id,
            status="queued",
            cases={"total": len(archive.cases) + problems, "done": 0},
            errors=problems,
        )
        thread = threading.Thread(
            target=self._run,
            args=(job_id, archive, sender, options, columns, input_name, target, problems),
            name=f"facematch-bulk-{job_id[:8]}",
            daemon=True,
        )
        thread.start()
        return record

    def _run(
        self,
        job_id: str,
        archive: InputArchive,
        sender: Sender,
        options: RunOptions,
        columns: list[str],
        input_name: str,
        target: str,
        problems: int,
    ) -> None:
        total = len(archive.cases) + problems
        try:
            self.update(job_id, status="running", started=_now())
            progress = _Throttled(lambda done, _: self.update(
                job_id, cases={"total": total, "done": done + problems}
            ))
            with archive:
                run = run_cases(archive, sender, options, progress)
            write_results(self.result_path(job_id), run, columns, target=target, input_name=input_name)
            not_sent = len({problem.case for problem in run.not_sent})
            finished_at = time.time()
            self.update(
                job_id,
                status="done",
                cases={"total": run.total, "done": run.total, "sent": len(run.answers), "not_sent": not_sent},
                errors=not_sent,
                finished=_now(),
                finished_at=finished_at,
                expires=datetime.fromtimestamp(finished_at + self.limits.ttl_seconds, timezone.utc)
                .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            )
        except Exception as error:  # the job fails; the worker carries on
            log.error("bulk job %s failed: %s", job_id, type(error).__name__)
            if self.folder(job_id).is_dir():
                self.update(job_id, status="failed", message=f"the job failed: {type(error).__name__}",
                            finished=_now(), finished_at=time.time())
        finally:
            archive.close()
            self._remove_input(job_id)
            timer = threading.Timer(self.limits.ttl_seconds, self._expire, args=(job_id,))
            timer.daemon = True
            timer.start()

    def _expire(self, job_id: str) -> None:
        record = self._read(job_id)
        if record is not None and record["status"] in FINISHED and self._expired(record):
            self.discard(job_id)


class _Throttled:
    """Calls ``write`` at most every PROGRESS_INTERVAL seconds (and for the last case)."""

    def __init__(self, write: Callable[[int, int], Any]) -> None:
        self.write = write
        self.last = 0.0
        self.lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        with self.lock:
            if done < total and now - self.last < PROGRESS_INTERVAL:
                return
            self.last = now
            self.write(done, total)


def public(record: dict[str, Any], base_path: str) -> dict[str, Any]:
    """What a client sees of a job record."""
    status = "queued" if record["status"] == "receiving" else record["status"]
    return {
        "id": record["id"],
        "status": status,
        "cases": record["cases"],
        "errors": record["errors"],
        "message": record["message"],
        "created": record["created"],
        "started": record["started"],
        "finished": record["finished"],
        "expires": record["expires"],
        "status_url": f"{base_path}/bulk/{record['id']}",
        "result_url": f"{base_path}/bulk/{record['id']}/result.zip" if status == "done" else None,
    }


def _problem_cases(archive: InputArchive) -> int:
    """How many cases the archive check refused (a case may have several problems)."""
    return len({problem.case for problem in archive.problems})
