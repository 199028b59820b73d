"""Vendor C: an ``asyncio`` streams server with its own HTTP/1.1 and multipart parsing.

A service written close to the socket. Lenient where the upstream is silent:
- a body declaring more than 24 MiB is refused at once (400) and the connection closed;
  the token is checked before the body is read;
- each image's format is checked before its size (a tiny text file is "not an image");
- the correlation id is echoed as sent; when none is sent, none is returned;
- unknown form fields are ignored, ``unique_id`` may be any length; a repeated ``image1``
  or ``image2`` is refused with 422 (the operation has one of each);
- tokens without ``exp`` are accepted;
- ``prediction_confidence`` is null for a real photo (the surfaced score is the only one);
- ``overall_confidence`` is the harmonic mean of the active gates' confidences;
- ``Connection: keep-alive`` answers carry ``Keep-Alive: timeout=5``.
The image work runs in a worker thread so the event loop keeps serving. A crash (only a bug
causes one) answers a generic JSON 500.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
from typing import Any

import jwt

from . import photos
from .bug import CONFORMING, Answered, AuthFailure, Bug, DecodedImage, FormField, Incoming, Reply
from .photos import PhotoError, Problem
from .verdicts import Liveness, judge_pair, judge_photo

OPERATION = "/advanced_facematch"
SALT = "vendor-c"
MIN_BYTES, MAX_BYTES = 1024, 10 * 1024 * 1024
MAX_BODY = 24 * 1024 * 1024
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)=("(?:[^"\\]|\\.)*"|[^;]*)')

TEXTS: dict[Problem, str] = {
    Problem.EMPTY: "{field} has no content",
    Problem.TOO_SMALL: "{field} size out of range (too small)",
    Problem.TOO_LARGE: "{field} size out of range (too large)",
    Problem.UNSUPPORTED: "{field} is not a JPEG, PNG or WebP image",
    Problem.CORRUPT: "{field} could not be processed",
    Problem.TOO_MANY_PIXELS: "{field} resolution too high",
    Problem.NO_FACE: "no face found in {field}",
}


class Stop(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _json(status: int, doc: Any) -> Reply:
    return Reply(status, (("Content-Type", "application/json"),), json.dumps(doc).encode())


def header_params(value: str) -> dict[str, str]:
    params = {}
    for key, raw in _PARAM.findall(value):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[key.lower()] = raw
    return params


def parse_multipart(content_type: str, body: bytes) -> tuple[FormField, ...]:
    boundary = header_params(content_type).get("boundary")
    if not content_type.lower().startswith("multipart/form-data") or not boundary:
        raise Stop(_json(422, {"detail": {"reason": "not_multipart"}, "message": "multipart/form-data expected"}))
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        raise Stop(_json(422, {"detail": {"reason": "no_parts"}, "message": "the multipart body has no parts"}))
    fields = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers = {}
        for line in head.strip(b"\r\n").split(b"\r\n"):
            name, _, value = line.decode("utf-8", "replace").partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        params = header_params(disposition)
        if "name" not in params:
            continue
        filename = params.get("filename")
        fields.append(FormField(params["name"], filename, data, filename is not None or "content-type" in headers))
    return tuple(fields)


class VendorC:
    def __init__(self, secret: str, bug: Bug = CONFORMING) -> None:
        self.secret, self.bug = secret, bug
        self.counter = itertools.count(1)

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                keep = await self.one_request(reader, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # shutting down: end quietly (3.11's stream callback trips on a cancel)
            pass
        finally:
            writer.close()

    async def one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        line = await reader.readline()
        if not line:
            return False
        method, target, version = (line.decode("latin-1").split() + ["", "", ""])[:3]
        headers: dict[str, str] = {}
        while True:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        number = next(self.counter)
        keep = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            length = -1
        probe = Incoming(method, target, headers, b"", number)
        early = self.before_body(probe, length)
        if early is not None:
            if 0 <= length <= MAX_BODY:  # read what was sent, so the client sees the answer, not a reset
                await reader.readexactly(length)
                await self.write(writer, probe, early, keep)
                return keep
            await self.write(writer, probe, early, keep=False)
            return False
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await reader.readexactly(length) if length else b""
        incoming = Incoming(method, target, headers, body, number)
        await self.write(writer, incoming, await self.respond(incoming), keep)
        return keep

    def before_body(self, incoming: Incoming, length: int) -> Reply | None:
        """Answers that do not need the body: routing, the gateway, the token, the declared size."""
        try:
            front = self.bug.front(incoming)
            if front is not None:
                return front
            if incoming.path.split("?")[0].rstrip("/") != OPERATION:
                return None if length >= 0 and length <= MAX_BODY else _json(400, {"msg": "bad request"})
            if incoming.method == "POST":
                self.authenticate(incoming.headers.get("authorization"))
        except Stop as stop:
            return self.finish(incoming, stop.reply)
        except Exception:
            return self.finish(incoming, _json(500, {"msg": "internal error"}))
        if length < 0:
            return self.finish(incoming, _json(400, {"msg": "invalid Content-Length"}))
        if length > MAX_BODY:
            return self.finish(incoming, _json(400, {"msg": "request body exceeds 24 MiB"}))
        return None

    def authenticate(self, header: str | None) -> None:
        if self.bug.auth_bypass(header):
            return
        failure: AuthFailure | None = None
        match = re.fullmatch(r"[Bb]earer +(\S+)", header or "")
        if header is None:
            failure = AuthFailure.MISSING
        elif match is None:
            failure = AuthFailure.MALFORMED
        else:
            try:
                jwt.decode(
                    match.group(1),
                    self.secret,
                    algorithms=["HS256"],
                    options={"verify_exp": self.bug.verify_exp, "require": []},
                )
            except jwt.ExpiredSignatureError:
                failure = AuthFailure.EXPIRED
            except jwt.InvalidSignatureError:
                failure = AuthFailure.BAD_SIGNATURE
            except jwt.InvalidTokenError:
                failure = AuthFailure.MALFORMED
        if failure is not None:
            message = f"unauthorized: {failure.value.replace('_', ' ')} token"
            raise Stop(self.bug.auth_reply(failure, _json(401, {"msg": message})))

    async def respond(self, incoming: Incoming) -> Reply:
        try:
            reply = await self.handle(incoming)
        except Stop as stop:
            reply = stop.reply
        except PhotoError as error:
            reply = _json(400, {"msg": TEXTS[error.problem].format(field=error.field)})
        except Exception:
            reply = _json(500, {"msg": "internal error"})
        return self.finish(incoming, reply)

    def finish(self, incoming: Incoming, reply: Reply) -> Reply:
        if incoming.correlation_id is not None and reply.header("X-Correlation-ID") is None:
            reply = reply.with_header("X-Correlation-ID", incoming.correlation_id)
        return reply

    async def handle(self, incoming: Incoming) -> Reply:
        if incoming.path.split("?")[0].rstrip("/") != OPERATION:
            return _json(404, {"msg": "unknown path"})
        if incoming.method != "POST":
            return _json(405, {"msg": "use POST"}).with_header("Allow", "POST")
        fields = self.bug.form(parse_multipart(incoming.headers.get("content-type", ""), incoming.body))
        by_name: dict[str, list[FormField]] = {}
        for f in fields:
            by_name.setdefault(f.name, []).append(f)
        if "image1" not in by_name:
            raise Stop(_json(422, {"detail": {"missing": ["image1"]}, "message": "image1 is required"}))
        repeated = [n for n in ("image1", "image2") if len(by_name.get(n, [])) > 1]
        if repeated:
            raise Stop(_json(422, {"detail": {"repeated": repeated}, "message": "send each image once"}))
        sent = [by_name[n][0] for n in ("image1", "image2") if n in by_name]
        decoded = await asyncio.to_thread(self.check_all, sent)
        return self.render(incoming, decoded)

    def check_all(self, sent: list[FormField]) -> list[DecodedImage]:
        decoded = []
        for part in sent:
            if not part.data:
                raise PhotoError(part.name, Problem.EMPTY)
            if photos.sniff(part.data) not in photos.ACCEPTED_FORMATS:
                raise PhotoError(part.name, Problem.UNSUPPORTED)
            problem = photos.size_problem(
                part.name, part.data, self.bug.min_bytes or MIN_BYTES, self.bug.max_bytes or MAX_BYTES
            )
            if problem:
                raise problem
            image = photos.decode(part.name, part.data, part.filename, self.bug.tolerate_decode_errors)
            self.bug.image(image)
            if not photos.has_face(image):
                raise PhotoError(part.name, Problem.NO_FACE)
            decoded.append(image)
        return decoded

    def render(self, incoming: Incoming, decoded: list[DecodedImage]) -> Reply:
        verdicts = [judge_photo(SALT, d.data) for d in decoded]
        blocks = [
            {
                "input_provided": "True",
                "result": v.liveness.value,
                "confidence": v.score if v.liveness is Liveness.REAL else 0,
                "prediction_confidence": None if v.liveness is Liveness.REAL else v.score,
            }
            for v in verdicts
        ]
        two = len(decoded) == 2
        gates = [v.score if v.liveness is Liveness.REAL else 0.0 for v in verdicts]
        passed = all(v.liveness is Liveness.REAL for v in verdicts)
        if two:
            match = judge_pair(SALT, decoded[0].data, decoded[1].data)
            facematch = {"performed": "True", "result": "True" if match.matched else "False", "confidence": match.score}
            passed = passed and match.matched
            gates.append(match.score)
        else:
            blocks.append(
                {"input_provided": "False", "result": "N/A", "confidence": None, "prediction_confidence": None}
            )
            facematch = {"performed": "False", "result": "N/A", "confidence": None}
        harmonic = len(gates) / sum(1 / g for g in gates) if passed else 0
        doc = {
            "image1": blocks[0],
            "image2": blocks[1],
            "image1_image2_facematch": facematch,
            "overall_result": "True" if passed else "False",
            "overall_confidence": round(harmonic, 2),
        }
        doc = self.bug.doc(Answered(incoming, two, doc))
        body = self.bug.encode(doc) if self.bug.encode else json.dumps(doc, separators=(",", ":")).encode()
        return Reply(200, (("Content-Type", "application/json"),), body)

    async def write(self, writer: asyncio.StreamWriter, incoming: Incoming, reply: Reply, keep: bool) -> None:
        reply = self.bug.reply(incoming, reply)
        lines = [f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        lines += [
            f"Content-Length: {len(reply.body)}",
            "Connection: keep-alive\r\nKeep-Alive: timeout=5" if keep else "Connection: close",
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        writer.write(head + (b"" if incoming.method == "HEAD" else reply.body))
        await writer.drain()


class Running:
    """One vendor C instance: its own event loop in a daemon thread."""

    def __init__(self, secret: str, bug: Bug = CONFORMING, port: int = 0) -> None:
        self.loop = asyncio.new_event_loop()
        vendor = VendorC(secret, bug)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(vendor.connection, "127.0.0.1", port, limit=64 * 1024)
        )
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            open_connections = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in open_connections:
                task.cancel()
            await asyncio.gather(*open_connections, return_exceptions=True)
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
