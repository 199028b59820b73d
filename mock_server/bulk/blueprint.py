"""The mock's bulk endpoints (tag ``mock`` in openapi.yaml; not part of the vendor contract).

``POST /bulk``                   a ZIP (multipart part ``file``) -> 202 and a job id
``GET /bulk/{id}``               the job's progress
``GET /bulk/{id}/result.zip``    the results archive once the job is done
``DELETE /bulk/{id}``            forget a finished job and its results now

Every endpoint takes the same bearer token as the operation. The upload is streamed to the
job's folder in the private work area, bounded while it arrives; the archive is checked
(hostile entries, limits) before the job is accepted, so a bad archive gets its 400 at once.
The job then sends each case as a real HTTP request to this server's own operation.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from facematch_contract.tokens import mint_token
from ..auth import owner_of
from ..context import MockContext
from ..errors import ApiError, ErrorKind
from ..jsonbody import encode
from facematch_bulk.archive import ArchiveLimits, ArchiveRefused, InputArchive
from .jobs import ACTIVE, Busy, JobLimits, JobStore, public
from facematch_bulk.results import response_columns
from facematch_bulk.runner import HttpSender, RunOptions

#: Room for the multipart framing around the archive.
UPLOAD_SLACK = 64 * 1024
#: A refused upload up to this size is read (and dropped) so the client sees the answer.
DRAIN_LIMIT = 8 * 1024 * 1024
#: Cap on in-memory (non-file) form data; also bounds the parser's buffer, so above its 64 KiB chunk.
FIELD_MEMORY = 1024 * 1024
#: Lifetime of the token a job mints to call this server's operation.
JOB_TOKEN_SECONDS = 24 * 3600


def upload_limit(limits: ArchiveLimits | None = None) -> int:
    """The largest POST /bulk body: the archive limit plus the multipart framing (the
    server's HTTP front refuses larger bodies before the app sees them)."""
    return (limits or ArchiveLimits()).max_archive_bytes + UPLOAD_SLACK


class _UploadTooLarge(Exception):
    pass


class _BoundedFile:
    """A file in the job folder that refuses to grow past the upload limit."""

    def __init__(self, path: Path, budget: list[int]) -> None:
        self.path = path
        self.budget = budget  # shared by every file part of one request
        self.file: IO[bytes] = open(path, "xb")

    def write(self, data: bytes) -> int:
        self.budget[0] -= len(data)
        if self.budget[0] < 0:
            raise _UploadTooLarge()
        return self.file.write(data)

    def seek(self, *args: Any) -> int:
        return self.file.seek(*args)

    def read(self, *args: Any) -> bytes:
        return self.file.read(*args)

    def tell(self) -> int:
        return self.file.tell()

    def close(self) -> None:
        self.file.close()


class _WorkArea:
    """The job store, created on first use when the server did not provide a work area."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self._store: JobStore | None = None

    def store(self) -> JobStore:
        with self.lock:
            if self._store is None:
                root = self.settings.bulk_dir
                if root is None:
                    root = Path(tempfile.mkdtemp(prefix="facematch-bulk-"))
                    owner = os.getpid()
                    atexit.register(lambda: os.getpid() == owner and shutil.rmtree(root, ignore_errors=True))
                root = Path(root)
                root.mkdir(mode=0o700, exist_ok=True)
                os.chmod(root, 0o700)
                self._store = JobStore(root, JobLimits(self.settings.bulk_max_jobs, self.settings.bulk_ttl_seconds))
            return self._store


def create_bulk_blueprint(ctx: MockContext, limits: ArchiveLimits | None = None) -> Blueprint:
    blueprint = Blueprint("bulk", __name__)
    limits = limits or ArchiveLimits()
    area = _WorkArea(ctx.settings)
    columns = response_columns(ctx.contract)
    max_upload = upload_limit(limits)

    def json_response(body: dict[str, Any], status: int = 200) -> Response:
        return current_app.response_class(encode(body), status=status, mimetype="application/json")

    def authenticate() -> str:
        """Verify the token; the owner digest of the caller (jobs belong to their owner)."""
        authorization = request.headers.get("Authorization")
        ctx.auth.verify(authorization)
        return owner_of(authorization or "", ctx.auth.mode)

    def job_or_404(job_id: str, owner: str) -> tuple[JobStore, dict[str, Any]]:
        """The caller's own job; another owner's job is as unknown as a missing one (404)."""
        store = area.store()
        record = store.get(job_id) if _valid_id(job_id) else None
        if record is None or record.get("subject") != owner:
            raise ApiError(ErrorKind.BULK_UNKNOWN, {"id": job_id[:64]})
        return store, record

    @blueprint.post("/bulk")
    def submit() -> Response:
        try:
            owner = authenticate()
        except ApiError:
            _drain()
            raise
        length = request.content_length
        if length is not None and length > max_upload:
            g.close_connection = True
            raise ApiError(ErrorKind.BULK_TOO_LARGE, {"limit": limits.max_archive_bytes})
        store = area.store()
        try:
            job_id = store.reserve(owner)
        except Busy:
            _drain()
            raise ApiError(ErrorKind.BULK_BUSY, {"limit": store.limits.max_jobs})
        try:
            filename = _receive(store, job_id, max_upload, limits)
            archive = InputArchive(store.input_path(job_id), limits)
        except ArchiveRefused as error:
            store.discard(job_id)
            raise ApiError(ErrorKind.BULK_REFUSED, {"reason": str(error)})
        except BaseException:
            store.discard(job_id)
            raise
        token = mint_token(ctx.settings.jwt_secret, subject="facematch-bulk-job", expires_in=JOB_TOKEN_SECONDS)
        target = _self_url()
        sender = HttpSender(target, token)
        record = store.start(job_id, archive, sender, RunOptions(), columns, filename, target)
        response = json_response(public(record, request.script_root), 202)
        response.headers["Location"] = f"{request.script_root}/bulk/{job_id}"
        return response

    @blueprint.get("/bulk/<job_id>")
    def status(job_id: str) -> Response:
        _, record = job_or_404(job_id, authenticate())
        return json_response(public(record, request.script_root))

    @blueprint.get("/bulk/<job_id>/result.zip")
    def result(job_id: str) -> Response:
        store, record = job_or_404(job_id, authenticate())
        if record["status"] == "failed":
            raise ApiError(ErrorKind.BULK_FAILED, {"id": job_id, "reason": record.get("message") or "unknown"})
        if record["status"] != "done":
            shown = "queued" if record["status"] == "receiving" else record["status"]
            raise ApiError(ErrorKind.BULK_NOT_READY, {
                "id": job_id, "status": shown, "done": record["cases"]["done"], "total": record["cases"]["total"],
            })
        try:
            data = store.result_path(job_id).read_bytes()
        except FileNotFoundError:
            raise ApiError(ErrorKind.BULK_UNKNOWN, {"id": job_id})
        response = current_app.response_class(data, mimetype="application/zip")
        response.headers["Content-Disposition"] = f'attachment; filename="bulk-{job_id}.zip"'
        response.headers["Cache-Control"] = "no-store"
        return response

    @blueprint.delete("/bulk/<job_id>")
    def forget(job_id: str) -> Response:
        store, record = job_or_404(job_id, authenticate())
        if record["status"] in ACTIVE:
            raise ApiError(ErrorKind.BULK_NOT_READY, {
                "id": job_id, "status": record["status"], "done": record["cases"]["done"],
                "total": record["cases"]["total"],
            })
        store.discard(job_id)
        return current_app.response_class(status=204)

    return blueprint


def _valid_id(job_id: str) -> bool:
    return re.fullmatch(r"[0-9a-f]{32}", job_id) is not None


def _self_url() -> str:
    """This server's own listening address (gunicorn puts it in SERVER_NAME/SERVER_PORT)."""
    host = request.environ.get("SERVER_NAME") or "127.0.0.1"
    port = request.environ.get("SERVER_PORT") or "80"
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _receive(store: JobStore, job_id: str, upload_limit: int, limits: ArchiveLimits) -> str:
    """Stream the ``file`` part to the job's input.zip; return its (display) file name."""
    folder = store.folder(job_id)
    budget = [upload_limit]
    opened: list[_BoundedFile] = []

    def factory(**_: Any) -> _BoundedFile:
        part = _BoundedFile(folder / f"part-{len(opened)}", budget)
        opened.append(part)
        return part

    parser = FormDataParser(stream_factory=factory, max_form_memory_size=FIELD_MEMORY, max_form_parts=8)
    try:
        _, _, files = parser.parse(request.stream, request.mimetype, request.content_length, request.mimetype_params)
    except (_UploadTooLarge, RequestEntityTooLarge):
        g.close_connection = True
        raise ApiError(ErrorKind.BULK_TOO_LARGE, {"limit": limits.max_archive_bytes})
    finally:
        for part in opened:
            part.close()
    uploads = files.getlist("file")
    if len(uploads) != 1:
        _drain()
        raise ApiError(ErrorKind.BULK_NO_FILE)
    chosen = next(part for part in opened if part.file is uploads[0].stream or part is uploads[0].stream)
    os.replace(chosen.path, store.input_path(job_id))
    for part in opened:
        if part is not chosen:
            part.path.unlink(missing_ok=True)
    name = (uploads[0].filename or "input.zip").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:200] or "input.zip"


def _drain() -> None:
    length = request.content_length
    if length is None or length > DRAIN_LIMIT:
        g.close_connection = True
        return
    stream = request.stream
    while stream.read(256 * 1024):
        pass
