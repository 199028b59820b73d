"""The upstream: where it is, one kept-alive connection per client connection, and what a
network failure means for the client (the proxy's own 502/504 in the contract's error shape).
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from .tally import UpstreamFailure

#: Headers that describe one connection (RFC 9110 section 7.6.1), never forwarded as they are.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


@dataclass(frozen=True)
class Upstream:
    scheme: str
    host: str
    port: int
    #: The upstream's base path ("" or "/api"); request paths are appended to it.
    base_path: str
    timeout: float
    verify_tls: bool = True

    @classmethod
    def parse(cls, url: str, timeout: float, verify_tls: bool = True) -> Upstream:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--upstream must be an http:// or https:// URL, not {url!r}")
        if parts.username or parts.password:
            raise ValueError("--upstream must not carry credentials; the client's Authorization is passed through")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"), timeout, verify_tls)

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host_header}{self.base_path}"

    def connect(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            context = ssl.create_default_context()
            if not self.verify_tls:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=context)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)


def is_dropped(connection: http.client.HTTPConnection) -> bool:
    """True when a kept-alive connection was closed by the upstream while idle (it is
    readable with nothing to read): a request sent on it would be lost."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


@dataclass(frozen=True)
class Failure:
    kind: UpstreamFailure
    status: int
    message: str

    def body(self) -> bytes:
        return json.dumps({"msg": self.message}).encode()


def classify(error: BaseException, upstream: Upstream) -> Failure:
    """The client's answer for a failure talking to the upstream."""
    where = f"{upstream.host_header}"
    if isinstance(error, (TimeoutError, socket.timeout)):
        return Failure(
            UpstreamFailure.TIMEOUT, 504, f"upstream timeout: {where} did not answer within {upstream.timeout:g} s"
        )
    if isinstance(error, ConnectionRefusedError):
        return Failure(
            UpstreamFailure.REFUSED, 502, f"upstream connection refused: nothing accepts connections at {where}"
        )
    if isinstance(error, socket.gaierror):
        return Failure(UpstreamFailure.UNRESOLVED, 502, f"upstream host name {upstream.host!r} could not be resolved")
    if isinstance(error, (ssl.SSLError, ssl.CertificateError)):
        reason = getattr(error, "reason", None) or type(error).__name__
        return Failure(UpstreamFailure.TLS, 502, f"upstream TLS error with {where}: {reason}")
    if isinstance(
        error, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.IncompleteRead)
    ):
        return Failure(
            UpstreamFailure.CLOSED, 502, f"upstream closed the connection: {where} ended it before a full answer"
        )
    if isinstance(error, http.client.HTTPException):
        return Failure(UpstreamFailure.OTHER, 502, f"upstream sent something that is not HTTP: {type(error).__name__}")
    return Failure(UpstreamFailure.OTHER, 502, f"upstream network error with {where}: {type(error).__name__}")
