"""Facts of the Advanced Facematch operation that every component shares.

The size window's edges and the mock's development secret are project choices written in
``openapi.yaml``'s description; they live here once so that the server's settings, the
kit's size fates and the bulk client read the same numbers.
"""

from __future__ import annotations

OPERATION_PATH = "/advanced_facematch"
OPERATION_METHOD = "post"
FORM_MEDIA_TYPE = "multipart/form-data"
#: The gateway mount of SUMI v1 deployments (upstream: ".../sumi/v1/advanced_facematch").
GATEWAY_PREFIX = "/sumi/v1"

#: The size window the mock enforces ("about 1 KB - 10 MB" upstream).
MIN_IMAGE_BYTES = 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024
#: The decompression-bomb guard of the mock's image checks.
MAX_IMAGE_PIXELS = 40_000_000

#: The mock's development signing secret for HS256 tokens (documented in the README;
#: override it with ``--jwt-secret`` or ``FACEMATCH_JWT_SECRET`` wherever others can reach it).
DEV_JWT_SECRET = "facematch-kit-development-secret"
#: Header that names a chosen correlation id (HDR-1).
CORRELATION_HEADER = "X-Correlation-ID"
#: Header in which the mock's --strict mode and the proxy name the rules an answer broke.
VIOLATION_HEADER = "X-Contract-Violation"
