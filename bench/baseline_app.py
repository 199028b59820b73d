"""The bare baseline the mock is measured against: the least a server can do with the
same request, run the same way (gunicorn, same worker count, sync workers).

It reads the whole body, splits it on the multipart boundary and hashes each part with
SHA-256. No auth, no contract, no image decode: the floor cost of receiving the upload.
Run with ``gunicorn bench.baseline_app:app``.
"""

from __future__ import annotations

import hashlib
import json

from flask import Flask, request

from facematch_contract.operation import OPERATION_PATH

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> tuple[bytes, int, dict[str, str]]:
    return b'{"status":"ok"}', 200, {"Content-Type": "application/json"}


@app.post(OPERATION_PATH)
def operation() -> tuple[bytes, int, dict[str, str]]:
    boundary = request.content_type.partition("boundary=")[2].encode()
    body = request.get_data(cache=False)
    digests = {}
    for chunk in body.split(b"--" + boundary)[1:-1]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        name = head.partition(b'name="')[2].partition(b'"')[0].decode()
        digests[name] = hashlib.sha256(data[:-2]).hexdigest()
    return json.dumps(digests).encode(), 200, {"Content-Type": "application/json"}
