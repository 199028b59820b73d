"""What a bulk job is: its status, its case counts and its record, as stored in the job's
``status.json`` and as shown to the client. Plain values: no files, no threads, no HTTP."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from facematch_contract.timestamps import utc_timestamp


class JobStatus(Enum):
    #: The upload is still arriving (shown to the client as queued).
    RECEIVING = "receiving"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Counts against the limit of jobs at once, and cannot be deleted yet."""
        return self in (JobStatus.RECEIVING, JobStatus.QUEUED, JobStatus.RUNNING)

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED)

    @property
    def shown(self) -> str:
        """The status a client sees (openapi.yaml: queued, running, done or failed)."""
        return JobStatus.QUEUED.value if self is JobStatus.RECEIVING else self.value


@dataclass(frozen=True)
class CaseCounts:
    """How far a job is: ``done`` of ``total`` cases; ``sent``/``not_sent`` once it is done."""

    total: int = 0
    done: int = 0
    sent: int | None = None
    not_sent: int | None = None

    def as_json(self) -> dict[str, int]:
        shown = {"total": self.total, "done": self.done}
        if self.sent is not None and self.not_sent is not None:
            shown.update(sent=self.sent, not_sent=self.not_sent)
        return shown

    @classmethod
    def from_json(cls, data: dict[str, int]) -> CaseCounts:
        return cls(int(data["total"]), int(data["done"]), data.get("sent"), data.get("not_sent"))


@dataclass(frozen=True)
class JobRecord:
    """One job, as every worker reads it from the job's folder."""

    id: str
    status: JobStatus
    #: Whose job it is: the owner digest of the token that submitted it (auth.owner_of).
    subject: str
    #: The process id of the worker whose thread runs the job.
    worker: int
    created: str
    started: str | None = None
    finished: str | None = None
    #: ``finished`` as seconds since the epoch: the TTL counts from it.
    finished_at: float | None = None
    expires: str | None = None
    cases: CaseCounts = CaseCounts()
    #: Cases that cannot be (or could not be) sent.
    errors: int = 0
    #: Why the job failed.
    message: str | None = None

    # -- changes (each returns the new record) ---------------------------------------------
    def queued(self, total: int, refused: int) -> JobRecord:
        return dataclasses.replace(self, status=JobStatus.QUEUED, cases=CaseCounts(total, 0), errors=refused)

    def running(self) -> JobRecord:
        return dataclasses.replace(self, status=JobStatus.RUNNING, started=utc_timestamp(time.time()))

    def progressed(self, done: int) -> JobRecord:
        return dataclasses.replace(self, cases=dataclasses.replace(self.cases, done=done))

    def done(self, total: int, sent: int, not_sent: int, ttl_seconds: int) -> JobRecord:
        now = time.time()
        return dataclasses.replace(
            self,
            status=JobStatus.DONE,
            cases=CaseCounts(total, total, sent, not_sent),
            errors=not_sent,
            finished=utc_timestamp(now),
            finished_at=now,
            expires=utc_timestamp(now + ttl_seconds),
        )

    def failed(self, message: str) -> JobRecord:
        now = time.time()
        return dataclasses.replace(
            self, status=JobStatus.FAILED, message=message, finished=utc_timestamp(now), finished_at=now
        )

    def expired(self, ttl_seconds: int) -> bool:
        """Finished at least ``ttl_seconds`` ago (its results are then deleted)."""
        return self.finished_at is not None and time.time() - self.finished_at >= ttl_seconds

    # -- views ---------------------------------------------------------------------------
    def public(self, base_path: str) -> dict[str, Any]:
        """What a client sees of the job (openapi.yaml's BulkJob)."""
        status_url = f"{base_path}/bulk/{self.id}"
        return {
            "id": self.id,
            "status": self.status.shown,
            "cases": self.cases.as_json(),
            "errors": self.errors,
            "message": self.message,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "expires": self.expires,
            "status_url": status_url,
            "result_url": f"{status_url}/result.zip" if self.status is JobStatus.DONE else None,
        }

    def as_json(self) -> dict[str, Any]:
        """The record as ``status.json`` holds it."""
        stored = dataclasses.asdict(self)
        stored["status"] = self.status.value
        stored["cases"] = self.cases.as_json()
        return stored

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobRecord:
        """A record from ``status.json``; KeyError, TypeError or ValueError when it is not one."""
        fields = {**data, "status": JobStatus(data["status"]), "cases": CaseCounts.from_json(data["cases"])}
        return cls(**fields)


def new_record(job_id: str, subject: str, worker: int) -> JobRecord:
    """A job whose upload is arriving."""
    return JobRecord(job_id, JobStatus.RECEIVING, subject, worker, created=utc_timestamp(time.time()))
