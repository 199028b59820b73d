"""The kit catches each broken server by exactly the rule it breaks, and no other.

Each broken server is a small HTTP proxy in front of a live mock that changes exactly one
thing about the answers (or, for ERR-2, ignores one thing about the request). The kit sees
nothing but HTTP: it runs as ``facematch check`` in its own process against the proxy's URL,
and the rules it reports as failing are read back from its JUnit XML.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token

from . import kit_process
from .kit_commands import check_command
from .live import ROOT

pytestmark = pytest.mark.server

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


@dataclass
class Sent:
    """What the proxy saw of a request."""

    method: str
    headers: dict[str, str]
    body: bytes

    @property
    def image2(self) -> bool:
        return b'name="image2"' in self.body

    @property
    def multipart(self) -> bool:
        return self.headers.get("content-type", "").startswith("multipart/form-data")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def with_json(self, value: Any) -> Answer:
        return Answer(self.status, self.headers, json.dumps(value).encode())


@dataclass(frozen=True)
class Breakage:
    """One broken server: the rule it breaks, and how."""

    rule: str
    what: str
    #: Answer the request without the mock (or None to forward it).
    intercept: Callable[[Sent], Answer | None] = lambda sent: None
    #: Change the request before forwarding it.
    rewrite: Callable[[Sent], Sent] = lambda sent: sent
    #: Change the mock's answer.
    mutate: Callable[[Sent, Answer], Answer] = lambda sent, answer: answer


def on_success(change: Callable[[Sent, dict[str, Any]], None]) -> Callable[[Sent, Answer], Answer]:
    """Apply ``change`` to every 200 JSON body."""

    def mutate(sent: Sent, answer: Answer) -> Answer:
        if answer.status != 200 or sent.method != "POST":
            return answer
        body = answer.json()
        change(sent, body)
        return answer.with_json(body)

    return mutate


def _fake_blocks(body: dict[str, Any], result: str) -> list[dict[str, Any]]:
    return [body[b] for b in ("image1", "image2") if body[b]["result"] == result]


def _fake_confidence(sent: Sent, body: dict[str, Any]) -> None:
    for block in _fake_blocks(body, "fake"):
        block["confidence"] = block["prediction_confidence"] or 12.5


def _real_prediction_differs(sent: Sent, body: dict[str, Any]) -> None:
    for block in _fake_blocks(body, "real"):
        conf = block["confidence"]
        block["prediction_confidence"] = round(conf - 1, 2) if conf >= 1 else conf + 1


def _one_image_confidence(sent: Sent, body: dict[str, Any]) -> None:
    if not sent.image2:
        body["image2"]["confidence"] = 0


def _two_image_not_performed(sent: Sent, body: dict[str, Any]) -> None:
    if sent.image2:
        body["image1_image2_facematch"]["performed"] = "False"


def _overall_ignores_gates(sent: Sent, body: dict[str, Any]) -> None:
    if body["overall_result"] == "False":
        body["overall_result"], body["overall_confidence"] = "True", 50.0


def _false_keeps_confidence(sent: Sent, body: dict[str, Any]) -> None:
    if body["overall_result"] == "False":
        body["overall_confidence"] = 42.0


def _true_zero_confidence(sent: Sent, body: dict[str, Any]) -> None:
    if body["overall_result"] == "True":
        body["overall_confidence"] = 0


def _error_key(sent: Sent, answer: Answer) -> Answer:
    if answer.status != 400:
        return answer
    return answer.with_json({"error": answer.json()["msg"]})


def _ignore_expiry(sent: Sent) -> Sent:
    """Accept expired tokens: swap an expired (otherwise valid-looking) JWT for a fresh one."""
    auth = sent.headers.get("authorization", "")
    if not auth.startswith("Bearer "):
        return sent
    try:
        payload = auth[7:].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return sent
    if isinstance(claims, dict) and isinstance(claims.get("exp"), int) and claims["exp"] < time.time():
        headers = dict(sent.headers, authorization=f"Bearer {mint_token(DEV_JWT_SECRET)}")
        return Sent(sent.method, headers, sent.body)
    return sent


def _echo(sent: Sent) -> dict[str, str]:
    cid = sent.headers.get("x-correlation-id")
    return {"X-Correlation-ID": cid} if cid else {}


def _non_multipart_415(sent: Sent) -> Answer | None:
    if sent.method != "POST" or sent.multipart:
        return None
    return Answer(415, {"Content-Type": "application/json", **_echo(sent)}, b'{"msg": "send multipart/form-data"}')


def _non_multipart_crash(sent: Sent) -> Answer | None:
    if sent.method != "POST" or sent.multipart:
        return None
    page = (
        b"<html><body><h1>Internal Server Error</h1><pre>Traceback (most recent call last):\n"
        b'  File "app.py", line 12, in handle\nKeyError: image1</pre></body></html>'
    )
    return Answer(500, {"Content-Type": "text/html", **_echo(sent)}, page)


def _drop_correlation_on_errors(sent: Sent, answer: Answer) -> Answer:
    if answer.status < 400:
        return answer
    headers = {k: v for k, v in answer.headers.items() if k.lower() != "x-correlation-id"}
    return Answer(answer.status, headers, answer.body)


BREAKAGES: dict[str, Breakage] = {
    b.rule: b
    for b in (
        Breakage(
            "SHAPE-1",
            "adds a request_id key to every 200 body",
            mutate=on_success(lambda sent, body: body.update(request_id="r-1")),
        ),
        Breakage(
            "TYPE-1",
            "writes overall_result as a JSON boolean",
            mutate=on_success(lambda sent, body: body.update(overall_result=body["overall_result"] == "True")),
        ),
        Breakage(
            "IMG1-1",
            'says image1.input_provided "False"',
            mutate=on_success(lambda sent, body: body["image1"].update(input_provided="False")),
        ),
        Breakage("LIVE-1", "keeps the score as a fake image's confidence", mutate=on_success(_fake_confidence)),
        Breakage(
            "LIVE-2",
            "gives a real image a prediction_confidence different from its confidence",
            mutate=on_success(_real_prediction_differs),
        ),
        Breakage(
            "ONE-1",
            "gives image2 confidence 0 instead of null in one-photo mode",
            mutate=on_success(_one_image_confidence),
        ),
        Breakage(
            "TWO-1",
            "says the match was not performed when image2 was sent",
            mutate=on_success(_two_image_not_performed),
        ),
        Breakage("OVR-1", 'says overall_result "True" when a gate failed', mutate=on_success(_overall_ignores_gates)),
        Breakage(
            "OVR-2",
            'keeps a non-zero overall_confidence when overall_result is "False"',
            mutate=on_success(_false_keeps_confidence),
        ),
        Breakage(
            "OVR-3",
            'gives overall_confidence 0 when overall_result is "True"',
            mutate=on_success(_true_zero_confidence),
        ),
        Breakage("ERR-1", 'answers 400 with {"error": ...} instead of {"msg": ...}', mutate=_error_key),
        Breakage("ERR-2", "accepts expired tokens", rewrite=_ignore_expiry),
        # 400 would be allowed (an "empty image1"); 415 is neither of the contract's answers.
        Breakage(
            "ERR-3",
            "answers a body that is not multipart with 415 instead of 422 (or 400)",
            intercept=_non_multipart_415,
        ),
        Breakage(
            "ERR-4", "crashes with an HTML 500 page on a body that is not multipart", intercept=_non_multipart_crash
        ),
        Breakage("HDR-1", "does not echo X-Correlation-ID on error responses", mutate=_drop_correlation_on_errors),
    )
}


class BrokenProxy:
    """One thread-based HTTP server; ``/<RULE>/...`` is the server that breaks RULE."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.session = requests.Session()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per answer

            def log_message(self, *args: Any) -> None:
                pass

            def handle_any(self) -> None:
                proxy.handle(self)

            def __getattr__(self, name: str) -> Any:
                if name.startswith("do_"):  # every method (QUERY, TRACE, ...) goes to the mock
                    return self.handle_any
                raise AttributeError(name)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        rule, _, rest = handler.path.lstrip("/").partition("/")
        breakage = BREAKAGES.get(rule)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        sent = Sent(handler.command, {k.lower(): v for k, v in handler.headers.items()}, body)
        if breakage is None:
            answer = Answer(404, {"Content-Type": "application/json"}, b'{"msg": "no such broken server"}')
        else:
            answer = breakage.intercept(sent) or self.forward(breakage.rewrite(sent), "/" + rest)
            answer = breakage.mutate(sent, answer)
        handler.send_response(answer.status)
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer.body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(answer.body)

    def forward(self, sent: Sent, path: str) -> Answer:
        headers = {k: v for k, v in sent.headers.items() if k not in ("host", "content-length")}
        response = self.session.request(
            sent.method,
            self.upstream + path,
            headers=headers,
            data=sent.body or None,
            timeout=60,
            allow_redirects=False,
        )
        kept = {k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP}
        return Answer(response.status_code, kept, response.content)

    def __enter__(self) -> BrokenProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class KitRun:
    exit_code: int
    failing_rules: frozenset[str]
    output: str
    #: JUnit's failure count, and the number of distinct breaches the JSON report names.
    junit_failures: int
    breaches: int


def run_kit(base_url: str, out: Path, *extra: str) -> KitRun:
    """``facematch check`` in its own process (tests/kit_process.py); the failing rules come from its JSON report."""
    junit, report, evidence = out / "junit.xml", out / "report.md", out / "report.json"
    command = [
        *check_command(base_url),
        "--jwt-secret",
        DEV_JWT_SECRET,
        "--junit",
        str(junit),
        "--report",
        str(report),
        "--json",
        str(evidence),
        "--seed",
        "12345",
        *extra,
    ]
    done = kit_process.run(command, ROOT, timeout=600)
    doc = json.loads(evidence.read_text())
    breaches = sum(row["status"] == "fail" for row in doc["rules"] + doc["expectations"])
    breaches += sum(bool(check["failed"]) for check in doc["schemathesis_checks"])
    return KitRun(
        done.returncode,
        failing_rules(evidence),
        done.stdout[-4000:] + done.stderr[-2000:],
        int(ET.parse(junit).getroot().get("failures", "0")),
        breaches,
    )


def failing_rules(evidence: Path) -> frozenset[str]:
    """The catalogue rules a run failed, read from the kit's JSON report."""
    return frozenset(rule["id"] for rule in json.loads(evidence.read_text())["rules"] if rule["status"] == "fail")


@pytest.fixture(scope="module")
def broken_runs(mock_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, KitRun]]:
    """Run the kit against every broken server (three at a time on this small machine)."""
    base = tmp_path_factory.mktemp("broken")
    with BrokenProxy(mock_url) as proxy:

        def one(rule: str) -> tuple[str, KitRun]:
            out = base / rule
            out.mkdir()
            started = time.monotonic()
            run = run_kit(f"{proxy.url}/{rule}", out, "--max-examples", "5")
            print(f"{rule}: kit ran {time.monotonic() - started:.1f} s, failing {sorted(run.failing_rules)}")
            return rule, run

        with ThreadPoolExecutor(max_workers=3) as pool:
            yield dict(pool.map(one, BREAKAGES))


@pytest.mark.parametrize("rule", list(BREAKAGES))
def test_broken_server_fails_exactly_its_rule(rule: str, broken_runs: dict[str, KitRun]) -> None:
    run = broken_runs[rule]
    assert run.exit_code == 1, f"{BREAKAGES[rule].what}: the kit did not FAIL it\n{run.output}"
    assert run.junit_failures == run.breaches, "JUnit counts each breach once, and only breaches"
    assert run.failing_rules == {rule}, (
        f"server that {BREAKAGES[rule].what} failed {sorted(run.failing_rules)}, expected only {rule}\n{run.output}"
    )


def test_every_rule_has_a_broken_server() -> None:
    from facematch_contract.rules import RULE_IDS

    assert sorted(BREAKAGES) == sorted(RULE_IDS)
