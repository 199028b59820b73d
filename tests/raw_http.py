"""Raw-socket HTTP for the hostile-input tests: send exact bytes (broken ones included),
read the answer until the server closes or the answer is complete, and time it."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


def address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def connect(base_url: str, timeout: float = 20.0) -> socket.socket:
    sock = socket.create_connection(address(base_url), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def read_answer(sock: socket.socket, started: float) -> RawAnswer:
    """Read one response: its head, then Content-Length bytes (or until close)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a full answer: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    if status == 100:  # an interim answer: the final one follows
        return read_answer_from(sock, body, started)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return RawAnswer(status, headers, body[:length] if length >= 0 else body, time.monotonic() - started)


def read_answer_from(sock: socket.socket, rest: bytes, started: float) -> RawAnswer:
    class _Prefixed:
        def __init__(self) -> None:
            self.rest = rest

        def recv(self, size: int) -> bytes:
            if self.rest:
                out, self.rest = self.rest, b""
                return out
            return sock.recv(size)

    return read_answer(_Prefixed(), started)  # type: ignore[arg-type]


def exchange(base_url: str, data: bytes, timeout: float = 20.0) -> RawAnswer:
    """Send ``data`` at once and read the answer."""
    started = time.monotonic()
    with connect(base_url, timeout) as sock:
        sock.sendall(data)
        return read_answer(sock, started)


def assert_json_error(answer: RawAnswer, status: int, within: float) -> dict[str, Any]:
    """The contract's error shape, the expected status, JSON, a correlation id, in time."""
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.headers.get("content-type") == "application/json", answer.headers
    assert answer.headers.get("x-correlation-id"), answer.headers
    body = answer.json()
    assert isinstance(body.get("msg"), str) and body["msg"], body
    assert answer.seconds < within, f"answered after {answer.seconds:.1f} s (bound {within} s)"
    return body


def peak_rss_kb(pids: list[int]) -> dict[int, int]:
    """Each process's peak resident set size (VmHWM), in kB."""
    peaks = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peaks[pid] = int(line.split()[1])
        except FileNotFoundError:
            continue
    return peaks


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers (children) of a master process."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == master:
            children.append(int(entry))
    return children


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "hostileboundary") -> tuple[bytes, str]:
    """A multipart/form-data body from (name, filename, bytes) triples, and its content type."""
    pieces = []
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        pieces += [f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode(), data, b"\r\n"]
    pieces.append(f"--{boundary}--\r\n".encode())
    return b"".join(pieces), f"multipart/form-data; boundary={boundary}"


def post_bytes(path: str, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> bytes:
    """A complete POST request as bytes."""
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
