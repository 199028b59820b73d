"""Running one bulk job: a background thread of the worker that accepted the upload, with
the same runner and results writer as ``facematch bulk``; its progress goes to the job's
record in the store, so every worker can report it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from facematch_bulk.archive import InputArchive
from facematch_bulk.results import write_results
from facematch_bulk.runner import RunOptions, Sender, run_cases

from .model import JobRecord
from .store import JobStore

log = logging.getLogger("facematch.bulk")

#: Seconds between status writes while a job runs (the final state is always written).
PROGRESS_INTERVAL = 0.25


@dataclass(frozen=True)
class JobSpec:
    """Everything a job runs with, fixed when it is accepted."""

    archive: InputArchive
    sender: Sender
    options: RunOptions
    #: The response columns of results.csv (from the contract).
    columns: list[str]
    #: The uploaded file's name, for summary.json.
    input_name: str
    #: What summary.json records as the target the cases went to.
    target: str


def start_job(store: JobStore, job_id: str, spec: JobSpec) -> JobRecord:
    """Queue the job and run it in a background thread of this worker."""
    record = store.change(job_id, lambda arrived: arrived.queued(_total(spec.archive), len(spec.archive.refused_cases)))
    if record is None:
        raise KeyError(job_id)  # the folder was reserved by this request: it cannot be gone
    thread = threading.Thread(target=_run, args=(store, job_id, spec), name=f"facematch-bulk-{job_id[:8]}", daemon=True)
    thread.start()
    return record


def _total(archive: InputArchive) -> int:
    return len(archive.cases) + len(archive.refused_cases)


def _run(store: JobStore, job_id: str, spec: JobSpec) -> None:
    refused = len(spec.archive.refused_cases)
    try:
        store.change(job_id, JobRecord.running)
        progress = _Throttled(lambda done: store.change(job_id, lambda record: record.progressed(done + refused)))
        with spec.archive:
            run = run_cases(spec.archive, spec.sender, spec.options, progress)
        write_results(store.result_path(job_id), run, spec.columns, target=spec.target, input_name=spec.input_name)
        not_sent = len(run.not_sent_cases)
        ttl = store.limits.ttl_seconds
        store.change(job_id, lambda record: record.done(run.total, len(run.answers), not_sent, ttl))
    except Exception as error:  # the job fails; the worker carries on
        reason = f"the job failed: {type(error).__name__}"
        log.error("bulk job %s failed: %s", job_id, type(error).__name__)
        store.change(job_id, lambda record: record.failed(reason))
    finally:
        spec.archive.close()
        store.remove_input(job_id)
        timer = threading.Timer(store.limits.ttl_seconds, store.expire, args=(job_id,))
        timer.daemon = True
        timer.start()


class _Throttled:
    """Passes the count of cases done on at most every PROGRESS_INTERVAL seconds (and for
    the last case)."""

    def __init__(self, write: Callable[[int], object]) -> None:
        self.write = write
        self.last = 0.0
        self.lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        with self.lock:
            if done < total and now - self.last < PROGRESS_INTERVAL:
                return
            self.last = now
            self.write(done)
