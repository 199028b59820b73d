"""The shortcuts the request path takes for speed give the same answers as the long way.

- verified bearer tokens are remembered only while they are certain to verify again;
- canned answers are remembered by image digests and are byte-identical to fresh ones;
- the journal writes the same lines as before (``dataclasses.asdict``), stays bounded, and
  excludes writers across processes and threads;
- an uploaded part is held once in memory and handed out without a copy.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import threading
import time
from dataclasses import asdict
from pathlib import Path

import jwt
import pytest

from facematch_contract import FIXTURES_DIR
from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token
from mock_server import api
from mock_server.answer import build
from mock_server.api import Answers, VerifiedTokens
from mock_server.auth import LEEWAY_SECONDS, Authenticator
from mock_server.domain import CheckedImage
from mock_server.engines.canned import CannedEngine
from mock_server.errors import ApiError, ErrorKind
from mock_server.fixtures import FixtureIndex
from mock_server.journal import Journal, JournalEntry, PartRecord
from mock_server.jsonbody import encode
from mock_server.uploads import read_form

SECRET = DEV_JWT_SECRET


class CountingAuth(Authenticator):
    """The real verifier, counting how often it is asked."""

    calls = 0

    def verify(self, authorization: str | None) -> None:
        object.__setattr__(self, "calls", self.calls + 1)
        super().verify(authorization)


def bearer(**claims: object) -> str:
    return "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")


# -- tokens ----------------------------------------------------------------------------------
def test_a_good_token_is_verified_once_then_remembered() -> None:
    auth = CountingAuth("jwt", SECRET)
    tokens = VerifiedTokens(auth)
    header = "Bearer " + mint_token(SECRET)
    for _ in range(5):
        tokens.verify(header)
    assert auth.calls == 1


def test_refusals_are_never_remembered() -> None:
    auth = CountingAuth("jwt", SECRET)
    tokens = VerifiedTokens(auth)
    forged = "Bearer " + mint_token("another-secret-of-enough-length-0123456789")
    refusals = [
        (forged, ErrorKind.TOKEN_INVALID),
        (None, ErrorKind.TOKEN_MISSING),
        ("Bearer abc", ErrorKind.TOKEN_MALFORMED),
    ]
    for header, kind in refusals:
        for _ in range(2):
            with pytest.raises(ApiError) as caught:
                tokens.verify(header)
            assert caught.value.kind is kind
    assert auth.calls == 6


def test_a_remembered_token_goes_back_to_the_verifier_at_exp_plus_leeway(monkeypatch: pytest.MonkeyPatch) -> None:
    start = time.time()
    clock = [start]
    monkeypatch.setattr(api.time, "time", lambda: clock[0])
    auth = CountingAuth("jwt", SECRET)
    tokens = VerifiedTokens(auth)
    header = bearer(sub="t", iat=int(start), exp=int(start) + 60)
    tokens.verify(header)
    clock[0] = int(start) + 60 + LEEWAY_SECONDS - 0.5  # still inside: from memory
    tokens.verify(header)
    assert auth.calls == 1
    clock[0] = int(start) + 60 + LEEWAY_SECONDS  # the verifier's own "expired" point
    tokens.verify(header)  # asked again (the real clock has not moved, so it still passes)
    assert auth.calls == 2


def test_an_expired_token_is_refused_even_after_it_was_remembered() -> None:
    auth = CountingAuth("jwt", SECRET)
    tokens = VerifiedTokens(auth)
    header = bearer(sub="t", exp=int(time.time()) - LEEWAY_SECONDS - 1)
    for _ in range(2):
        with pytest.raises(ApiError) as caught:
            tokens.verify(header)
        assert caught.value.kind is ErrorKind.TOKEN_EXPIRED
    assert auth.calls == 2


def test_a_token_without_exp_is_remembered_and_any_mode_is_untouched() -> None:
    auth = CountingAuth("jwt", SECRET)
    tokens = VerifiedTokens(auth)
    header = bearer(sub="no-exp")
    tokens.verify(header)
    tokens.verify(header)
    assert auth.calls == 1
    permissive = CountingAuth("any", SECRET)
    VerifiedTokens(permissive).verify("Bearer whatever")
    with pytest.raises(ApiError):
        VerifiedTokens(permissive).verify("")


def test_the_token_memory_is_bounded() -> None:
    tokens = VerifiedTokens(Authenticator("jwt", SECRET), size=3)
    for index in range(10):
        tokens.verify(bearer(sub=str(index)))
    assert len(tokens._windows) == 3


# -- canned answers --------------------------------------------------------------------------
def checked(field: str, digest: str) -> CheckedImage:
    return CheckedImage(field=field, data=b"", sha256=digest, format="JPEG", width=10, height=10, orientation=1)


def test_remembered_answers_are_byte_identical_to_fresh_ones() -> None:
    engine = CannedEngine(FixtureIndex.load(FIXTURES_DIR))
    answers = Answers(engine, remember=True)
    manifest = json.loads((FIXTURES_DIR / "manifest.json").read_text())
    digests = [entry["sha256"] for entry in manifest["fixtures"] if "error" not in entry["canned"]]
    digests += [f"{index:064x}" for index in range(1, 40, 7)]
    for first in digests:
        for second in [None, *digests[:6]]:
            one, two = checked("image1", first), checked("image2", second) if second else None
            fresh = encode(build(engine.evaluate(one, two)))
            assert answers.body(one, two) == fresh
            assert answers.body(one, two) == fresh  # the remembered copy


def test_engine_refusals_are_not_remembered() -> None:
    class Refusing:
        name = "refusing"
        calls = 0

        def evaluate(self, image1: CheckedImage, image2: CheckedImage | None) -> object:
            Refusing.calls += 1
            raise ApiError(ErrorKind.NO_FACE, {"field": "image1"})

    answers = Answers(Refusing(), remember=True)  # type: ignore[arg-type]  # a stand-in engine, duck-typed
    for _ in range(2):
        with pytest.raises(ApiError):
            answers.body(checked("image1", "ab" * 32), None)
    assert Refusing.calls == 2


def test_engines_other_than_canned_are_always_asked() -> None:
    engine = CannedEngine(FixtureIndex([]))
    calls = []
    original = engine.evaluate
    engine.evaluate = lambda *images: calls.append(1) or original(*images)  # type: ignore[method-assign]  # counts calls
    answers = Answers(engine, remember=False)
    for _ in range(3):
        answers.body(checked("image1", "cd" * 32), None)
    assert len(calls) == 3


# -- journal ---------------------------------------------------------------------------------
def entry(index: int) -> JournalEntry:
    return JournalEntry(
        time="2025-01-01T00:00:00.000Z",
        method="POST",
        path="/advanced_facematch",
        status=200,
        correlation_id=f"id-{index}",
        example=None,
        unique_id="u",
        parts=[PartRecord("image1", 70_000, "a.jpg", "image/jpeg", "ab" * 32, None)],
    )


def test_journal_lines_are_what_asdict_gave(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl", limit=10)
    journal.record(entry(1))
    line = (tmp_path / "j.jsonl").read_text()
    assert line == json.dumps(asdict(entry(1)), separators=(",", ":")) + "\n"
    assert journal.entries(5) == [asdict(entry(1))]


def test_journal_stays_bounded(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl", limit=10)
    for index in range(600):
        journal.record(entry(index))
    lines = (tmp_path / "j.jsonl").read_text().splitlines()
    assert len(lines) <= 10 + 256
    assert json.loads(lines[-1])["correlation_id"] == "id-599"


def test_journal_writers_in_processes_and_threads_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal(path, limit=100_000)
    journal.record(entry(0))  # the parent now holds a lock descriptor that the children inherit

    def write(first: int) -> None:
        for index in range(first, first + 300):
            journal.record(entry(index))

    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=write, args=(1000 * (n + 1),)) for n in range(3)]
    threads = [threading.Thread(target=write, args=(10_000 * (n + 1),)) for n in range(3)]
    for worker in [*processes, *threads]:
        worker.start()
    for worker in [*processes, *threads]:
        worker.join(60)
    assert all(process.exitcode == 0 for process in processes)
    ids = [json.loads(line)["correlation_id"] for line in path.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 1 + 6 * 300


def test_a_forked_worker_takes_its_own_lock_descriptor(tmp_path: Path) -> None:
    """flock belongs to the open file description: an inherited one would exclude nobody."""
    journal = Journal(tmp_path / "j.jsonl", limit=10)
    parent_fd = journal._lock_descriptor()
    reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)

    def child() -> None:
        fd = journal._lock_descriptor()
        writer.send((fd, os.readlink(f"/proc/self/fd/{fd}")))

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    child_fd, target = reader.recv()
    process.join(30)
    assert child_fd != parent_fd
    assert target == str(tmp_path / "j.lock")
    assert journal._lock_descriptor() == parent_fd  # the parent keeps its own


# -- uploads ---------------------------------------------------------------------------------
def test_a_large_part_is_held_once_and_handed_out_without_a_copy() -> None:
    boundary = "b0undary"
    payload = bytes(range(256)) * 40_000  # 10 MB
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image1"; filename="x.jpg"\r\n\r\n'.encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    parts = read_form(
        io.BytesIO(body),
        f"multipart/form-data; boundary={boundary}",
        binary_fields=frozenset({"image1"}),
        image_limit=len(payload),
        max_body=len(body),
    )
    data = parts[0].data
    assert data == payload
    assert parts[0].data is data  # the same object every time: no join, no copy
    assert parts[0].size == len(payload) and not parts[0].overflow


def test_an_overflowing_part_keeps_nothing() -> None:
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image1"; filename="x.jpg"\r\n\r\n'.encode()
        + b"x" * 5000
        + f"\r\n--{boundary}--\r\n".encode()
    )
    parts = read_form(
        io.BytesIO(body),
        f"multipart/form-data; boundary={boundary}",
        binary_fields=frozenset({"image1"}),
        image_limit=1000,
        max_body=len(body),
    )
    assert parts[0].overflow and parts[0].data == b"" and parts[0].size == 5000


def test_remembered_header_parameters_are_not_shared_mutably() -> None:
    """The parameter parser is memoised per header value; two requests with the same
    Content-Disposition still get their own, correct part names."""
    boundary = "b0undary"
    disposition = 'Content-Disposition: form-data; name="image1"; filename="x.jpg"\r\n\r\n'
    body = f"--{boundary}\r\n{disposition}abc\r\n--{boundary}--\r\n".encode()
    for _ in range(3):
        parts = read_form(
            io.BytesIO(body),
            f"multipart/form-data; boundary={boundary}",
            binary_fields=frozenset({"image1"}),
            image_limit=100,
            max_body=1000,
        )
        assert [(p.name, p.filename, p.data) for p in parts] == [("image1", "x.jpg", b"abc")]


def test_token_window_starts_at_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clock that steps back before the verification moment sends the token to the verifier."""
    clock = [time.time()]
    monkeypatch.setattr(api.time, "time", lambda: clock[0])
    auth = CountingAuth("jwt", SECRET)
    tokens = VerifiedTokens(auth)
    header = "Bearer " + mint_token(SECRET)
    tokens.verify(header)
    clock[0] -= 30
    tokens.verify(header)
    assert auth.calls == 2
