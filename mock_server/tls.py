"""HTTPS for ``facematch serve``: the certificate files, the server's SSL context, and a
self-signed certificate for local development (``--tls-self-signed``).

The worker builds its own asyncio servers, so the context is handed to
``loop.create_server`` (gunicorn's own ``certfile``/``keyfile`` wrapping does not apply).
The self-signed certificate is made with the ``openssl`` command (no extra Python
dependency): an EC P-256 key and a certificate for ``localhost``, ``127.0.0.1`` and
``::1``, valid for a few days.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: Names the self-signed certificate is valid for.
SELF_SIGNED_NAMES = "DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1"
SELF_SIGNED_DAYS = 7
#: The file names of the self-signed pair inside its work area.
CERT_NAME, KEY_NAME = "localhost.crt", "localhost.key"


class TlsError(Exception):
    """A certificate or key that cannot be served, with a sentence for the user."""


@dataclass(frozen=True)
class TlsFiles:
    certfile: Path
    keyfile: Path


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """The context the server's sockets use; TlsError when the pair cannot be loaded."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    for path in (files.certfile, files.keyfile):
        if not path.is_file():
            raise TlsError(f"{path} does not exist or is not a file")
        try:
            path.open("rb").close()
        except OSError as error:
            raise TlsError(f"{path} cannot be read: {error.strerror}") from None
    try:
        context.load_cert_chain(certfile=str(files.certfile), keyfile=str(files.keyfile))
    except ssl.SSLError as error:
        raise TlsError(
            f"the certificate {files.certfile} and key {files.keyfile} cannot be used together "
            f"(not PEM, or the key is not the certificate's): {error.reason or error}"
        ) from None
    return context


def make_self_signed(folder: Path) -> TlsFiles:
    """A new key and self-signed certificate in ``folder`` (a private work area)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TlsError("--tls-self-signed needs the openssl command; install it or pass --certfile and --keyfile")
    files = TlsFiles(folder / CERT_NAME, folder / KEY_NAME)
    command = [
        openssl,
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        str(files.keyfile),
        "-out",
        str(files.certfile),
        "-days",
        str(SELF_SIGNED_DAYS),
        "-subj",
        "/CN=localhost",
        "-addext",
        f"subjectAltName={SELF_SIGNED_NAMES}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise TlsError(f"openssl could not make a self-signed certificate: {result.stderr.strip()[-300:]}")
    files.keyfile.chmod(0o600)
    return files
