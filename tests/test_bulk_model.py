"""The bulk job record (mock_server/bulk/model.py): what status.json keeps is what is read
back, and what a client sees follows openapi.yaml's BulkJob (no internal states)."""

from __future__ import annotations

import json

from mock_server.bulk.model import JobRecord, JobStatus, new_record

JOB_ID = "0123456789abcdef0123456789abcdef"


def stored_and_read(record: JobRecord) -> JobRecord:
    return JobRecord.from_json(json.loads(json.dumps(record.as_json())))


def test_every_status_is_either_active_or_finished() -> None:
    assert {status for status in JobStatus if status.active} == {
        JobStatus.RECEIVING,
        JobStatus.QUEUED,
        JobStatus.RUNNING,
    }
    assert {status for status in JobStatus if status.finished} == {JobStatus.DONE, JobStatus.FAILED}
    assert {status.shown for status in JobStatus} == {"queued", "running", "done", "failed"}


def test_a_record_survives_status_json_at_every_step() -> None:
    arriving = new_record(JOB_ID, "subject-digest", 4242)
    steps = [arriving, arriving.queued(12, 2)]
    steps.append(steps[-1].running())
    steps.append(steps[-1].progressed(7))
    steps += [steps[-1].done(12, 10, 2, ttl_seconds=60), steps[-1].failed("the job failed: OSError")]
    for record in steps:
        assert stored_and_read(record) == record


def test_what_a_client_sees() -> None:
    arriving = new_record(JOB_ID, "subject-digest", 4242)
    shown = arriving.public("/api")
    assert shown["status"] == "queued" and shown["result_url"] is None
    assert shown["status_url"] == f"/api/bulk/{JOB_ID}" and shown["cases"] == {"total": 0, "done": 0}
    assert "subject" not in shown and "worker" not in shown
    done = arriving.queued(12, 2).running().done(12, 10, 2, ttl_seconds=60)
    shown = done.public("")
    assert shown["status"] == "done" and shown["result_url"] == f"/bulk/{JOB_ID}/result.zip"
    assert shown["cases"] == {"total": 12, "done": 12, "sent": 10, "not_sent": 2} and shown["errors"] == 2
    assert shown["expires"] is not None and not done.expired(60) and done.expired(0)
