"""The Redis journal's acks on the server front (mock_server/acks.py): a call's answer leaves
only once Redis confirmed its journal entry, yet the worker's event loop is never blocked
waiting for that confirmation.

Against a real ``redis-server`` and real ``facematch serve`` instances (one worker each,
so every connection of an instance shares one loop), and, for the writer's own paths, the
writer driven on an asyncio loop in this process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from mock_server.acks import Ack, AckWaiter
from mock_server.journal import JournalEntry
from mock_server.state import JournalQuery
from mock_server.state.redis_links import LOAD, RETRY_AFTER_S, Sent
from mock_server.state.redis_store import TIMEOUT_S, RedisStore

from .conftest import fixture_path
from .live import free_port, start_server
from .redis_server import PASSWORD, RedisServer

pytestmark = pytest.mark.server

FACE = fixture_path("hopper_a.jpg").read_bytes()
TIMEOUT = 15


class StallingProxy:
    """A TCP relay to Redis that can hold back every command carrying a marker (so the
    journal's script calls go unanswered while everything else passes)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.marker: bytes | None = None
        self.held = 0
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, to_redis: bool) -> None:
        stalled = False
        try:
            while data := source.recv(65536):
                if to_redis and self.marker is not None and self.marker in data:
                    stalled = True
                if stalled:
                    self.held += 1  # never forwarded: Redis never sees it, so never replies
                    continue
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for each in (source, sink):
                with contextlib.suppress(OSError):
                    each.shutdown(socket.SHUT_RDWR)
                each.close()

    def close(self) -> None:
        self._stopping = True
        self._listener.close()


def call(session: requests.Session, url: str, token: str, correlation: str) -> requests.Response:
    return session.post(
        url + "/advanced_facematch",
        files={"image1": ("a.jpg", FACE, "image/jpeg")},
        headers={"Authorization": f"Bearer {token}", "X-Correlation-ID": correlation},
        timeout=TIMEOUT,
    )


def test_each_of_many_concurrent_callers_finds_its_call_through_another_instance_at_once(
    redis_server: RedisServer, token: str
) -> None:
    """16 clients on one worker's loop: its entries go out in batches, acknowledged
    asynchronously; each client, the moment its answer arrives, asks Redis for its call
    (on a connection of its own, then through another instance), and it is there."""
    common = ("--state", redis_server.url + "?prefix=many:", "--workers", "1", "--quiet")
    with start_server(*common) as writer, start_server(*common) as reader:
        requests.delete(reader + "/__mock/requests", timeout=TIMEOUT)

        def client(number: int) -> list[str]:
            missing = []
            direct = _store(redis_server.url, "many:")  # the shortest way to Redis: a connection of its own
            with requests.Session() as mine, requests.Session() as other:
                for round_number in range(10):
                    correlation = f"c{number}-r{round_number}"
                    assert call(mine, writer, token, correlation).status_code == 200
                    if direct.count(JournalQuery(correlation_id=correlation)) != 1:
                        missing.append(f"{correlation} (direct)")
                    found = other.get(
                        reader + "/__mock/requests/count", params={"correlation_id": correlation}, timeout=TIMEOUT
                    ).json()
                    if found != {"count": 1}:
                        missing.append(correlation)
            return missing

        with ThreadPoolExecutor(max_workers=16) as pool:
            missing = [name for found in pool.map(client, range(16)) for name in found]
        assert missing == []
        listing = requests.get(reader + "/__mock/requests", params={"limit": 1000}, timeout=TIMEOUT).json()
        assert len(listing["requests"]) == 160
        assert listing["dropped"] == 0


def test_a_silent_redis_holds_an_answer_for_the_bound_at_most_and_never_the_worker(
    redis_server: RedisServer, token: str
) -> None:
    """The journal's script calls stall (a relay holds them; Redis never sees them): the
    call still answers 200 after about TIMEOUT_S, its entry counted as dropped, and while
    it waits the same worker answers other connections at once."""
    proxy = StallingProxy(redis_server.port)
    try:
        with start_server("--state", proxy.url + "?prefix=silent:", "--workers", "1", "--quiet") as url:
            with requests.Session() as session:
                requests.delete(url + "/__mock/requests", timeout=TIMEOUT)
                assert call(session, url, token, "warm").status_code == 200
                proxy.marker = b"EVALSHA"
                answered: list[tuple[int, float]] = []

                def stalled_call() -> None:
                    started = time.monotonic()
                    with requests.Session() as own:
                        status = call(own, url, token, "stalled").status_code
                    answered.append((status, time.monotonic() - started))

                worker = threading.Thread(target=stalled_call)
                worker.start()
                deadline = time.monotonic() + 5
                while proxy.held == 0 and time.monotonic() < deadline:
                    time.sleep(0.005)
                assert proxy.held, "the journal's command never reached the relay"
                quick = []
                for _ in range(5):  # the same worker, other connections, while the call waits
                    started = time.monotonic()
                    assert session.get(url + "/healthz", timeout=TIMEOUT).status_code == 200
                    quick.append(time.monotonic() - started)
                waiting = not answered
                worker.join(TIMEOUT)
                proxy.marker = None
            assert waiting, "the stalled call answered before the health checks"
            assert max(quick) < TIMEOUT_S / 2, quick  # served while the call waited for its ack
            [(status, elapsed)] = answered
            assert status == 200
            assert TIMEOUT_S * 0.8 <= elapsed < TIMEOUT_S + 2.0, elapsed
            time.sleep(RETRY_AFTER_S + 0.2)  # the writer leaves Redis alone a second after a failure
            with requests.Session() as session:
                assert call(session, url, token, "after").status_code == 200
            page = requests.get(url + "/__mock/requests", timeout=TIMEOUT).json()
            assert [entry["correlation_id"] for entry in page["requests"]] == ["warm", "after"]
            assert page["dropped"] == 1
    finally:
        proxy.close()


def test_redis_stopped_under_concurrent_load_every_call_still_answers_200(tmp_path: Path, token: str) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        with start_server("--state", server.url, "--workers", "1", "--quiet") as url:
            stop = threading.Event()
            results: list[tuple[int, float, float]] = []  # status, start, duration

            def client(number: int) -> None:
                with requests.Session() as session:
                    round_number = 0
                    while not stop.is_set():
                        started = time.monotonic()
                        status = call(session, url, token, f"l{number}-{round_number}").status_code
                        results.append((status, started, time.monotonic() - started))
                        round_number += 1

            with ThreadPoolExecutor(max_workers=8) as pool:
                running = [pool.submit(client, number) for number in range(8)]
                time.sleep(0.5)
                stopped_at = time.monotonic()
                server.stop()
                time.sleep(1.5)
                restarted_at = time.monotonic()
                server.start()  # the same port, empty
                time.sleep(RETRY_AFTER_S + 0.5)
                stop.set()
                for each in running:
                    each.result()
            assert results and all(status == 200 for status, _, _ in results), {s for s, _, _ in results}
            assert max(duration for _, _, duration in results) < TIMEOUT_S + 2.0
            during = sum(1 for _, started, _ in results if stopped_at < started and started + 0.1 < restarted_at)
            assert during > 0
            with requests.Session() as session:
                assert call(session, url, token, "last").status_code == 200
            page = requests.get(url + "/__mock/requests", params={"limit": 1000}, timeout=TIMEOUT).json()
            assert page["requests"][-1]["correlation_id"] == "last"
            assert page["dropped"] >= during  # every call of the outage, and those cut off by it
            assert len(page["requests"]) + page["dropped"] <= len(results) + 1
    finally:
        server.stop()


# -- the writer's ack paths, on an event loop in this process


def _entry(number: int) -> JournalEntry:
    return JournalEntry("2026-12-07T05:00:00.000Z", "POST", "/advanced_facematch", 200, f"id-{number}")


def _store(url: str, prefix: str, limit: int = 1000, max_bytes: int = 4 << 20) -> RedisStore:
    return RedisStore(f"{url}?prefix={prefix}", ["no_face"], limit, max_bytes)


async def _answers(
    store: RedisStore, numbers: range, waiter: AckWaiter, witness: RedisStore | None = None, pass_after: int = 0
) -> list[int]:
    """Record one entry per number as the front would, each 'answer' once its acks settle;
    ``witness`` (another connection) then looks the entry up at once. All in one loop pass,
    or a new pass after the first ``pass_after``."""
    loop = asyncio.get_running_loop()
    answered: list[int] = []
    done = loop.create_future()
    for number in numbers:
        if pass_after and number == numbers[0] + pass_after:
            await asyncio.sleep(0)  # the pass ends: its entries are sent
        acks: list[Ack] = []
        store.record(_entry(number), acks)

        def then(number: int = number) -> None:
            if witness is not None:
                assert witness.count(JournalQuery(correlation_id=f"id-{number}")) == 1, number
            answered.append(number)
            if len(answered) == len(numbers) and not done.done():
                done.set_result(None)

        if acks and not all(ack.settled for ack in acks):
            waiter.wait(acks, then)
        else:
            then()
    await asyncio.wait_for(done, TIMEOUT)
    return answered


def test_a_loop_pass_and_the_entries_queued_behind_it_go_as_one_command_each(redis_server: RedisServer) -> None:
    """And no answer goes before its entry can be read through another connection."""
    store = _store(redis_server.url, "batch:")
    store.clear_requests()
    admin = redis.Redis.from_url(redis_server.url)
    admin.config_resetstat()
    waiter = AckWaiter()
    witness = _store(redis_server.url, "batch:")
    answered = asyncio.run(_answers(store, range(40), waiter, witness=witness, pass_after=15))
    assert answered == list(range(40))
    stats = admin.info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] == 2  # the first pass's 15, then the 25 queued behind them
    page = store.requests(JournalQuery(), 100)
    assert [entry.correlation_id for entry in page.entries] == [f"id-{n}" for n in range(40)]
    assert page.dropped == 0
    assert not waiter.waiting and len(waiter.watched) == 1  # watched until its connection closes


def test_a_batch_keeps_both_bounds(redis_server: RedisServer) -> None:
    line = len(_entry(10).json_line())  # as long as each of the five kept
    store = _store(redis_server.url, "bounded:", limit=7, max_bytes=5 * line + 3)
    store.clear_requests()
    asyncio.run(_answers(store, range(30), AckWaiter()))
    page = store.requests(JournalQuery(), 100)
    assert [entry.correlation_id for entry in page.entries] == [f"id-{n}" for n in range(25, 30)]
    admin = redis.Redis.from_url(redis_server.url)
    assert int(admin.get("bounded:journal:bytes") or 0) == sum(len(e.json_line()) for e in page.entries)
    counted = _store(redis_server.url, "counted:", limit=7)
    counted.clear_requests()
    asyncio.run(_answers(counted, range(30), AckWaiter()))
    assert [entry.correlation_id for entry in counted.requests(JournalQuery(), 100).entries] == [
        f"id-{n}" for n in range(23, 30)
    ]


def test_a_killed_connection_settles_every_ack_and_is_unwatched(redis_server: RedisServer) -> None:
    store = _store(redis_server.url, "killed:")
    store.clear_requests()
    admin = redis.Redis.from_url(redis_server.url)

    async def scenario() -> tuple[list[int], int]:
        waiter = AckWaiter()
        await _answers(store, range(3), waiter)  # connected and watched
        [fd] = waiter.watched
        with socket.socket(fileno=os.dup(fd)) as same:
            host, port = same.getsockname()[:2]
        assert admin.client_kill_filter(addr=f"{host}:{port}") == 1  # the writer's connection
        answered = await _answers(store, range(3, 9), waiter)
        assert not waiter.watched  # released before its descriptor was closed
        selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]  # asyncio's own
        assert fd not in selector.get_map()
        return answered, fd

    answered, _ = asyncio.run(scenario())
    assert answered == list(range(3, 9))
    time.sleep(RETRY_AFTER_S + 0.1)
    asyncio.run(_answers(store, range(9, 10), AckWaiter()))
    page = store.requests(JournalQuery(), 100)
    stored = [entry.correlation_id for entry in page.entries]
    assert stored[:3] == ["id-0", "id-1", "id-2"] and stored[-1] == "id-9"
    assert len(stored) - 4 + page.dropped == 6  # each entry of the cut-off batch stored or counted


def test_flushed_scripts_settle_the_waiting_answers(redis_server: RedisServer) -> None:
    store = _store(redis_server.url, "noscript:")
    store.clear_requests()
    asyncio.run(_answers(store, range(2), AckWaiter()))
    redis.Redis.from_url(redis_server.url).script_flush()
    assert asyncio.run(_answers(store, range(2, 8), AckWaiter())) == list(range(2, 8))
    asyncio.run(_answers(store, range(8, 9), AckWaiter()))  # the script is loaded again
    page = store.requests(JournalQuery(), 100)
    stored = [entry.correlation_id for entry in page.entries]
    assert stored[:2] == ["id-0", "id-1"] and stored[-1] == "id-8"
    assert len(stored) - 3 + page.dropped == 6


def test_a_query_on_the_loop_reads_the_pending_replies_itself(redis_server: RedisServer) -> None:
    """An admin query runs on the same loop as the calls waiting for acks: it reads every
    pending reply (so it lists them), and those answers may go on the front's next check."""
    store = _store(redis_server.url, "flush:")
    store.clear_requests()

    async def scenario() -> tuple[int, list[int]]:
        waiter = AckWaiter()
        answered: list[int] = []
        for number in range(5):
            acks: list[Ack] = []
            store.record(_entry(number), acks)
            waiter.wait(acks, lambda number=number: answered.append(number))
        counted = store.count(JournalQuery())
        waiter.check()
        return counted, answered

    counted, answered = asyncio.run(scenario())
    assert counted == 5
    assert answered == list(range(5))


def test_replies_are_read_in_any_split_resp2_or_resp3_pushes_and_attributes_aside() -> None:
    """The writer parses replies itself (it must not block on half a reply): every way
    the bytes can arrive settles the same commands with the same errors."""
    replies = (
        b":5\r\n"  # a batch stored (RESP2 and RESP3 integer)
        b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n"  # an out-of-band push: settles nothing
        b"$40\r\n" + b"a" * 40 + b"\r\n"  # SCRIPT LOAD's sha
        b"-NOSCRIPT No matching script.\r\n"
        b"|1\r\n+key\r\n:1\r\n:7\r\n"  # attributes, then the reply
        b"!10\r\nOOM denied\r\n"  # a RESP3 blob error
    )
    for split in range(len(replies) + 1):
        writer = RedisStore("redis://127.0.0.1:1/0", [], 10, 1000)._writer
        sent = [Sent(2, batch=True, ack=Ack(writer, 0.0)), LOAD, Sent(3, batch=True, ack=Ack(writer, 0.0))]
        sent += [Sent(1, batch=True, ack=Ack(writer, 0.0)), Sent(4, batch=True, ack=Ack(writer, 0.0))]
        writer._pending.extend(sent)
        writer._batches = 4
        for piece in (replies[:split], replies[split:]):
            if piece:
                writer._take(piece)
        assert not writer._pending and not writer._inbox, split
        assert [each.ack.settled for each in sent if each.ack is not None] == [True] * 4
        assert writer.dropped == 3 + 4, split  # the NOSCRIPT batch and the OOM one
        assert writer._connection_new  # the script is loaded again before the next batch
    writer = RedisStore("redis://127.0.0.1:1/0", [], 10, 1000)._writer
    with pytest.raises(redis.ConnectionError):
        writer._take(b":1\r\n")  # a reply to no command: the stream is not trusted
