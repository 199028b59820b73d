"""Configuration as plain data: built by the CLI (or a test) and handed to the app factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from facematch_contract import FIXTURES_DIR, SPEC_PATH
from facematch_contract.operation import DEV_JWT_SECRET, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, MIN_IMAGE_BYTES

from .faults import Delay, FaultPolicy
from .journal import JOURNAL_MAX_BYTES
from .sequences import Sequence
from .tls import TlsFiles

#: Host names the admin routes always answer, besides the bound address.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class RealModeSettings:
    """Real-model mode: where the liveness models are and the decision thresholds."""

    models_dir: Path | None = None
    #: Euclidean distance between dlib embeddings at or below which two faces match.
    match_distance: float = 0.6
    #: Fused MiniFASNet real-class probability (0..1) at or above which a photo is real;
    #: None means "real when class 1 has the largest fused probability" (upstream's rule).
    liveness_threshold: float | None = None
    #: Longest side, in pixels, that a photo is scaled down to before detection.
    detect_max_side: int = 640
    #: Longest side, in pixels, of the decoded image that liveness crops and face
    #: embeddings are taken from (JPEGs are decoded in draft mode near this size).
    analysis_max_side: int = 1024
    #: Extra processes per server worker that analyse image2 while the worker analyses
    #: image1 (dlib holds the GIL, so threads cannot overlap them); 0 = one after the other.
    helper_processes: int = 1


@dataclass(frozen=True)
class Settings:
    mode: Literal["mock", "real"] = "mock"
    auth: Literal["jwt", "any"] = "jwt"
    jwt_secret: str = DEV_JWT_SECRET
    #: Refuse tokens without a numeric ``exp`` claim (mock_server/auth.py).
    require_exp: bool = False
    #: Extra mount point for every route (``/advanced_facematch`` and the gateway path
    #: ``/sumi/v1/advanced_facematch`` are always served).
    prefix: str = ""
    #: Check every response against openapi.yaml and the rules catalogue.
    strict: bool = False
    #: CORS allowed origins; empty tuple turns CORS off; ("*",) allows any origin.
    cors_origins: tuple[str, ...] = ("*",)
    #: Admin routes (the journal; mock_server/admin.py): Host names they answer (the CLI
    #: adds the bound address; ("*",) for any), the bearer token they need (None: none),
    #: and whether CORS applies to them too.
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS
    admin_token: str | None = None
    admin_cors: bool = False
    #: Latency added to every answer of the operation (``--latency``); None for none.
    latency: Delay | None = None
    #: Random faults on the operation (``--faults``, ``--fault-rate``, ``--fault-seed``).
    faults: FaultPolicy | None = None
    #: Serve HTTPS with this certificate and key (``--certfile``/``--keyfile`` or
    #: ``--tls-self-signed``); None: plain HTTP.
    tls: TlsFiles | None = None
    #: Where the request journal lives (shared by all workers); None turns it off.
    journal_path: Path | None = None
    journal_limit: int = 1000
    #: The journal file's bound in bytes (its newest entries within it are kept and read).
    journal_max_bytes: int = JOURNAL_MAX_BYTES
    #: The shared state (journal, runtime overrides, sequences; mock_server/state/): None or
    #: "embedded" for files beside the journal (one machine), or a redis:// URL.
    state_url: str | None = None
    #: The embedded store's folder (shared by all workers); None: beside the journal, or a
    #: private temporary folder of this process when there is no journal.
    state_dir: Path | None = None
    #: Sequences defined at start-up (``--sequences FILE``; more through the admin API).
    sequences: tuple[Sequence, ...] = ()
    spec_path: Path = SPEC_PATH
    fixtures_dir: Path = FIXTURES_DIR
    min_image_bytes: int = MIN_IMAGE_BYTES
    max_image_bytes: int = MAX_IMAGE_BYTES
    max_image_pixels: int = MAX_IMAGE_PIXELS
    #: Decode budget (mock_server/images.py): start-of-scan markers a JPEG may have (a
    #: normal progressive JPEG has about 10), estimated peak bytes one image's decode may
    #: hold (pixels x measured bytes per pixel of the format), wall-clock seconds one
    #: image's decode may take.
    max_image_scans: int = 64
    decode_memory_bytes: int = 160 * 1024 * 1024
    decode_seconds: float = 4.0
    real: RealModeSettings = field(default_factory=RealModeSettings)
    #: Private (0700) work area of bulk jobs, shared by all workers; None: each process
    #: makes its own on the first upload (fine for one process, e.g. tests of the app).
    bulk_dir: Path | None = None
    #: Bulk jobs that may be queued or running at once (more are refused with 429).
    bulk_max_jobs: int = 4
    #: Seconds a finished bulk job's result archive is kept.
    bulk_ttl_seconds: int = 3600
    #: A cassette recorded by ``facematch proxy --record`` to answer from (mock_server/replay.py).
    replay_dir: Path | None = None
    #: With a cassette: 404 for images it does not hold, instead of the canned engine.
    replay_strict: bool = False

    #: Server layer (mock_server/http_front.py), in seconds: how long a connection may wait
    #: with no byte of a request, how long a request's headers and then its body may take
    #: to arrive in full. Past each the connection is answered 408 (JSON) and closed.
    idle_timeout_s: float = 15.0
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    #: Request line plus headers, in bytes (larger: 431, JSON).
    max_header_bytes: int = 32 * 1024

    @property
    def max_body_bytes(self) -> int:
        """Two full-size images plus room for the form's other parts and framing."""
        return 2 * self.max_image_bytes + 256 * 1024
