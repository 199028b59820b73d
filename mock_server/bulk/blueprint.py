"""The mock's bulk endpoints (tag ``mock`` in openapi.yaml; not part of the vendor contract).

``POST /bulk``                   a ZIP (multipart part ``file``) -> 202 and a job id
``GET /bulk/{id}``               the job's progress
``GET /bulk/{id}/result.zip``    the results archive once the job is done
``DELETE /bulk/{id}``            forget a finished job and its results now

Every endpoint takes the same bearer token as the operation. The upload is streamed to the
job's folder in the private work area, bounded while it arrives (``upload.py``); the
archive is checked (hostile entries, limits) before the job is accepted, so a bad archive
gets its 400 at once. The job then hands each case to this app's own operation in process
(``sender.py``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, request
from flask.blueprints import BlueprintSetupState

from facematch_bulk.archive import ArchiveLimits, ArchiveRefused, InputArchive
from facematch_bulk.results import response_columns
from facematch_bulk.runner import RunOptions

from ..auth import owner_of
from ..context import MockContext
from ..errors import ApiError, ErrorKind
from ..jsonbody import encode
from .model import JobRecord, JobStatus
from .run import JobSpec, start_job
from .sender import IN_PROCESS_TARGET, InProcessSender, in_app_gate
from .store import Busy, JobStore, WorkArea, valid_id
from .upload import drain, receive, too_large, upload_limit

#: How a job runs its cases (the runner's defaults: one job's pool of threads).
JOB_OPTIONS = RunOptions()
#: The longest piece of a client's job id echoed in a 404.
ID_ECHOED = 64


class BulkViews:
    """The four views, sharing the work area, the limits and the app they run cases on."""

    def __init__(self, ctx: MockContext, limits: ArchiveLimits) -> None:
        self.ctx = ctx
        self.limits = limits
        self.area = WorkArea(ctx.settings)
        self.columns = response_columns(ctx.contract)
        self.gate = in_app_gate()
        self.app: Flask | None = None

    def bind(self, state: BlueprintSetupState) -> None:
        """Keep the app this blueprint is registered on: the jobs send their cases to it."""
        if not isinstance(state.app, Flask):
            raise TypeError("the bulk blueprint runs its cases on a Flask app")
        self.app = state.app

    def _cases_app(self) -> Flask:
        if self.app is None:
            raise RuntimeError("the bulk blueprint is not registered on an app")
        return self.app

    # -- views ---------------------------------------------------------------------------
    def submit(self) -> Response:
        owner = self._authenticate_or_drain()
        length = request.content_length
        if length is not None and length > upload_limit(self.limits):
            raise too_large(self.limits)
        store = self.area.store()
        job_id = self._reserve(store, owner)
        filename, archive = self._accept(store, job_id)
        sender = InProcessSender(self._cases_app(), self.gate)
        spec = JobSpec(archive, sender, JOB_OPTIONS, self.columns, filename, IN_PROCESS_TARGET)
        record = start_job(store, job_id, spec)
        response = self._json(record.public(request.script_root), 202)
        response.headers["Location"] = f"{request.script_root}/bulk/{job_id}"
        return response

    def status(self, job_id: str) -> Response:
        _, record = self._own_job(job_id)
        return self._json(record.public(request.script_root))

    def result(self, job_id: str) -> Response:
        store, record = self._own_job(job_id)
        if record.status is JobStatus.FAILED:
            raise ApiError(ErrorKind.BULK_FAILED, {"id": job_id, "reason": record.message or "unknown"})
        if record.status is not JobStatus.DONE:
            raise _not_ready(record)
        try:
            data = store.result_path(job_id).read_bytes()
        except FileNotFoundError as error:
            raise ApiError(ErrorKind.BULK_UNKNOWN, {"id": job_id}) from error
        response = Response(data, mimetype="application/zip")
        response.headers["Content-Disposition"] = f'attachment; filename="bulk-{job_id}.zip"'
        response.headers["Cache-Control"] = "no-store"
        return response

    def forget(self, job_id: str) -> Response:
        store, record = self._own_job(job_id)
        if record.status.active:
            raise _not_ready(record)
        store.discard(job_id)
        return Response(status=204)

    # -- steps ---------------------------------------------------------------------------
    def _authenticate(self) -> str:
        """Verify the token; the owner digest of the caller (jobs belong to their owner)."""
        authorization = request.headers.get("Authorization")
        self.ctx.auth.verify(authorization)
        return owner_of(authorization or "", self.ctx.auth.mode)

    def _authenticate_or_drain(self) -> str:
        try:
            return self._authenticate()
        except ApiError:
            drain()
            raise

    def _reserve(self, store: JobStore, owner: str) -> str:
        try:
            return store.reserve(owner)
        except Busy as error:
            drain()
            raise ApiError(ErrorKind.BULK_BUSY, {"limit": store.limits.max_jobs}) from error

    def _accept(self, store: JobStore, job_id: str) -> tuple[str, InputArchive]:
        """Receive and check the upload; on any refusal the reserved job is gone again."""
        try:
            filename = receive(store.folder(job_id), store.input_path(job_id), self.limits)
            return filename, InputArchive(store.input_path(job_id), self.limits)
        except ArchiveRefused as error:
            store.discard(job_id)
            raise ApiError(ErrorKind.BULK_REFUSED, {"reason": str(error)}) from error
        except BaseException:
            store.discard(job_id)
            raise

    def _own_job(self, job_id: str) -> tuple[JobStore, JobRecord]:
        """The caller's own job; another owner's job is as unknown as a missing one (404)."""
        owner = self._authenticate()
        store = self.area.store()
        record = store.get(job_id) if valid_id(job_id) else None
        if record is None or record.subject != owner:
            raise ApiError(ErrorKind.BULK_UNKNOWN, {"id": job_id[:ID_ECHOED]})
        return store, record

    @staticmethod
    def _json(body: dict[str, Any], status: int = 200) -> Response:
        return Response(encode(body), status=status, mimetype="application/json")


def _not_ready(record: JobRecord) -> ApiError:
    return ApiError(
        ErrorKind.BULK_NOT_READY,
        {
            "id": record.id,
            "status": record.status.shown,
            "done": record.cases.done,
            "total": record.cases.total,
        },
    )


def create_bulk_blueprint(ctx: MockContext, limits: ArchiveLimits | None = None) -> Blueprint:
    blueprint = Blueprint("bulk", __name__)
    views = BulkViews(ctx, limits or ArchiveLimits())
    blueprint.record_once(views.bind)
    blueprint.add_url_rule("/bulk", "submit", views.submit, methods=["POST"])
    blueprint.add_url_rule("/bulk/<job_id>", "status", views.status, methods=["GET"])
    blueprint.add_url_rule("/bulk/<job_id>/result.zip", "result", views.result, methods=["GET"])
    blueprint.add_url_rule("/bulk/<job_id>", "forget", views.forget, methods=["DELETE"])
    return blueprint
