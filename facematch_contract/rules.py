"""The contract's rules (SHAPE-1 ... HDR-1), checked on one recorded request/response pair.

This is the kit's own formulation of the rules catalogue in the design notes, written
independently of the mock's response builder on purpose: two formulations catch each
other's mistakes. It is pure and imports only the standard library, so the mock's
``--strict`` mode can call :func:`check_exchange` cheaply.

Each rule is a small function ``(Seen) -> list[Finding] | None``: ``None`` when the rule
does not apply to the exchange, an empty list when it holds.

One principle keeps the rules from piling onto the same mistake: a rule judges only the
values whose *form* is right. A value of the wrong JSON type or outside its vocabulary is
reported once, by TYPE-1; a missing or extra key once, by SHAPE-1; a 5xx or a body that is
not JSON once, by ERR-4. So a server that breaks one rule fails exactly that rule.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["fail", "warn"]

FLAGS = ("True", "False")
IMAGE_RESULTS = ("real", "fake", "N/A")
MATCH_RESULTS = ("True", "False", "N/A")
TOP_KEYS = ("image1", "image2", "image1_image2_facematch", "overall_result", "overall_confidence")
IMAGE_KEYS = ("input_provided", "result", "confidence", "prediction_confidence")
MATCH_KEYS = ("performed", "result", "confidence")
IMAGE_BLOCKS = ("image1", "image2")
MATCH_BLOCK = "image1_image2_facematch"
ONE_IMAGE_IMAGE2 = {"input_provided": "False", "result": "N/A", "confidence": None, "prediction_confidence": None}
ONE_IMAGE_MATCH = {"performed": "False", "result": "N/A", "confidence": None}
#: Slack for "equal" scores and for the advisory aggregate bound (2-decimal rounding).
SCORE_TOLERANCE = 1e-6
AGGREGATE_TOLERANCE = 0.01

#: Statuses the operation may answer with; anything else below 500 is judged per fate.
CONTRACT_STATUSES = (200, 400, 401, 422)


@dataclass(frozen=True)
class Part:
    """A summary of one multipart part: never its bytes."""

    name: str
    filename: str | None
    size: int
    content_type: str | None = None
    #: The text of a small non-file field (e.g. ``unique_id``), for the curl line.
    value: str | None = None


@dataclass(frozen=True)
class Fate:
    """What the contract fixes for a kind of request: the rule that owns it and its statuses.

    ``statuses`` empty means "a usable request": 200, or 400 when the image cannot be used.
    Where the upstream description allows more than one answer, every allowed status is
    listed: a request with no ``image1`` part, or not multipart at all, may be refused with
    the 422 body or as an "empty image1" 400 (upstream lists 400 for "Empty image1" and
    gives the 422 body without saying when); the mock's own choice, 422, is judged only in
    the kit's ``golden`` profile.
    """

    name: str
    rule: str
    statuses: tuple[int, ...]
    summary: str

    @property
    def expected(self) -> str:
        return " or ".join(str(status) for status in self.statuses)


#: Kinds of request whose answer the contract fixes (the kit labels what it sends).
FATES: dict[str, Fate] = {
    f.name: f
    for f in (
        Fate("usable", "ERR-1", (), "a well-formed request with a valid token: 200, or 400 if an image is unusable"),
        Fate("empty_image", "ERR-1", (400,), "an image part with no bytes"),
        Fate("tiny_image", "ERR-1", (400,), "an image part clearly under 1 KB (< 700 bytes)"),
        Fate("huge_image", "ERR-1", (400,), "an image part clearly over 10 MiB (> 10.5 MiB)"),
        Fate("not_image", "ERR-1", (400,), "an image part that is not JPEG, PNG or WebP"),
        Fate("truncated_image", "ERR-1", (400,), "an image part that is truncated or corrupt"),
        Fate("missing_token", "ERR-2", (401,), "no Authorization header"),
        Fate("malformed_token", "ERR-2", (401,), "an Authorization header that is not a bearer JWT"),
        Fate("expired_token", "ERR-2", (401,), "a bearer JWT whose exp is in the past"),
        Fate("bad_signature", "ERR-2", (401,), "a bearer JWT whose signature does not verify"),
        Fate("missing_image1", "ERR-3", (422, 400), "a multipart form without an image1 part"),
        Fate("not_multipart", "ERR-3", (422, 400), "a body that is not multipart/form-data"),
    )
}


@dataclass(frozen=True)
class Exchange:
    """One request to the operation and the response it got (no image bytes kept)."""

    method: str
    url: str
    request_headers: Mapping[str, str]
    parts: tuple[Part, ...]
    sent_image2: bool
    sent_correlation_id: str | None
    status: int
    response_headers: Mapping[str, str]
    body: bytes
    #: Name of a :data:`FATES` entry when the sender knows what the contract fixes, else None.
    fate: str | None = None
    #: Content-Type of a body that is not multipart (for the curl line), else None.
    raw_content_type: str | None = None


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    field: str | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    check: Callable[[Seen], list[Finding] | None]


@dataclass
class Seen:
    """An exchange with its body parsed once (``json_ok`` False when it is not JSON)."""

    ex: Exchange
    json_ok: bool = False
    doc: Any = None
    parse_error: str = ""

    @classmethod
    def of(cls, ex: Exchange) -> Seen:
        seen = cls(ex)
        try:
            seen.doc = json.loads(ex.body.decode("utf-8"), parse_constant=_reject_constant)
            seen.json_ok = True
        except (UnicodeDecodeError, ValueError) as exc:
            seen.parse_error = str(exc)
        return seen

    @property
    def status(self) -> int:
        return self.ex.status

    @property
    def success_body(self) -> dict[str, Any] | None:
        """The parsed 200 body when it is a JSON object (rules on 200 bodies need one)."""
        if self.status == 200 and self.json_ok and isinstance(self.doc, dict):
            return self.doc
        return None

    def get(self, *path: str) -> Any:
        """The value at ``path`` in a 200 body, or :data:`MISSING`."""
        value: Any = self.success_body
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return MISSING
            value = value[key]
        return value


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# --- value forms (owned by TYPE-1; the other rules only read well-formed values) ---------


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_score(value: Any) -> bool:
    return is_number(value) and 0 <= value <= 100


def is_score_or_null(value: Any) -> bool:
    return value is None or is_score(value)


def fmt(value: Any) -> str:
    if value is MISSING:
        return "nothing (key absent)"
    return json.dumps(value)


def fail(rule: str, message: str, field_: str | None = None) -> Finding:
    return Finding(rule, "fail", message, field_)


def _headers_get(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


# --- 200 body rules -------------------------------------------------------------------------


def shape_1(seen: Seen) -> list[Finding] | None:
    """SHAPE-1: exactly the five top-level keys, and exactly the keys of each block."""
    if seen.status != 200 or not seen.json_ok:
        return None
    doc = seen.doc
    if not isinstance(doc, dict):
        return [fail("SHAPE-1", f"expected a JSON object, got {type(doc).__name__}", "$")]
    found = _key_findings(doc, TOP_KEYS, "")
    for block, keys in (("image1", IMAGE_KEYS), ("image2", IMAGE_KEYS), (MATCH_BLOCK, MATCH_KEYS)):
        value = doc.get(block, MISSING)
        if value is MISSING:
            continue
        if not isinstance(value, dict):
            found.append(fail("SHAPE-1", f"expected {block} to be an object, got {fmt(value)}", block))
            continue
        found.extend(_key_findings(value, keys, block + "."))
    return found


def _key_findings(obj: dict[str, Any], keys: tuple[str, ...], prefix: str) -> list[Finding]:
    found = []
    for key in keys:
        if key not in obj:
            found.append(fail("SHAPE-1", f"expected key {prefix}{key}, it is missing", prefix + key))
    for key in obj:
        if key not in keys:
            found.append(fail("SHAPE-1", f"unexpected key {prefix}{key} (allowed: {', '.join(keys)})", prefix + key))
    return found


#: (path, predicate, description) for every typed field of a 200 body.
_TYPED_FIELDS: tuple[tuple[tuple[str, ...], Callable[[Any], bool], str], ...] = (
    *(
        item
        for block in IMAGE_BLOCKS
        for item in (
            ((block, "input_provided"), lambda v: v in FLAGS, 'the string "True" or "False"'),
            ((block, "result"), lambda v: v in IMAGE_RESULTS, '"real", "fake" or "N/A"'),
            ((block, "confidence"), is_score_or_null, "a JSON number in 0..100 (or null)"),
            ((block, "prediction_confidence"), is_score_or_null, "a JSON number in 0..100 (or null)"),
        )
    ),
    ((MATCH_BLOCK, "performed"), lambda v: v in FLAGS, 'the string "True" or "False"'),
    ((MATCH_BLOCK, "result"), lambda v: v in MATCH_RESULTS, '"True", "False" or "N/A"'),
    ((MATCH_BLOCK, "confidence"), is_score_or_null, "a JSON number in 0..100 (or null)"),
    (("overall_result",), lambda v: v in FLAGS, 'the string "True" or "False"'),
    (("overall_confidence",), is_score_or_null, "a JSON number in 0..100"),
)


def well_formed(seen: Seen, *path: str) -> bool:
    """True when the value at ``path`` is present and has the form TYPE-1 requires."""
    value = seen.get(*path)
    if value is MISSING:
        return False
    for field_path, ok, _ in _TYPED_FIELDS:
        if field_path == path:
            return isinstance(value, (str, int, float, type(None))) and ok(value)
    return True


def type_1(seen: Seen) -> list[Finding] | None:
    """TYPE-1: flags are "True"/"False" strings, results in their vocabulary, scores numbers in 0..100 or null.

    Whether null is allowed at a given place is for the rule about that place (IMG1-1,
    ONE-1, TWO-1, OVR-2, OVR-3), so TYPE-1 accepts null for every score.
    """
    if seen.success_body is None:
        return None
    found = []
    for path, ok, wanted in _TYPED_FIELDS:
        value = seen.get(*path)
        if value is MISSING:
            continue  # SHAPE-1's finding
        if isinstance(value, bool) or not isinstance(value, (str, int, float, type(None))) or not ok(value):
            found.append(fail("TYPE-1", f"expected {wanted}, got {fmt(value)}", ".".join(path)))
    return found


def img1_1(seen: Seen) -> list[Finding] | None:
    """IMG1-1: image1 is always provided, always real or fake, and its confidence is a number."""
    if seen.success_body is None:
        return None
    found = []
    if well_formed(seen, "image1", "input_provided") and seen.get("image1", "input_provided") != "True":
        found.append(fail("IMG1-1", f'expected "True", got {fmt(seen.get("image1", "input_provided"))}',
                          "image1.input_provided"))
    if well_formed(seen, "image1", "result") and seen.get("image1", "result") not in ("real", "fake"):
        found.append(fail("IMG1-1", f'expected "real" or "fake", got {fmt(seen.get("image1", "result"))}',
                          "image1.result"))
    if well_formed(seen, "image1", "confidence") and seen.get("image1", "confidence") is None:
        found.append(fail("IMG1-1", "expected a number, got null", "image1.confidence"))
    return found


def _image_blocks_with_result(seen: Seen, result: str) -> Iterable[str]:
    for block in IMAGE_BLOCKS:
        if well_formed(seen, block, "result") and seen.get(block, "result") == result:
            yield block


def live_1(seen: Seen) -> list[Finding] | None:
    """LIVE-1: an image whose result is fake has confidence 0."""
    if seen.success_body is None:
        return None
    blocks = list(_image_blocks_with_result(seen, "fake"))
    if not blocks:
        return None
    found = []
    for block in blocks:
        if not well_formed(seen, block, "confidence"):
            continue
        value = seen.get(block, "confidence")
        if value is None or value != 0:
            found.append(fail("LIVE-1", f"{block} is fake, so its confidence must be 0, got {fmt(value)}",
                              f"{block}.confidence"))
    return found


def live_2(seen: Seen) -> list[Finding] | None:
    """LIVE-2: for a real image, a non-null prediction_confidence equals confidence."""
    if seen.success_body is None:
        return None
    blocks = list(_image_blocks_with_result(seen, "real"))
    if not blocks:
        return None
    found = []
    for block in blocks:
        if not (well_formed(seen, block, "confidence") and well_formed(seen, block, "prediction_confidence")):
            continue
        conf, pred = seen.get(block, "confidence"), seen.get(block, "prediction_confidence")
        if pred is None or conf is None:
            continue  # a null confidence on a real image is IMG1-1's or TWO-1's concern
        if abs(pred - conf) > SCORE_TOLERANCE:
            found.append(fail("LIVE-2", f"{block} is real, so prediction_confidence must equal confidence "
                                        f"({fmt(conf)}), got {fmt(pred)}", f"{block}.prediction_confidence"))
    return found


def one_1(seen: Seen) -> list[Finding] | None:
    """ONE-1: without image2, the image2 and match blocks are the fixed "not provided" values."""
    if seen.success_body is None or seen.ex.sent_image2:
        return None
    found = []
    for block, expected in (("image2", ONE_IMAGE_IMAGE2), (MATCH_BLOCK, ONE_IMAGE_MATCH)):
        for key, want in expected.items():
            if not well_formed(seen, block, key):
                continue
            got = seen.get(block, key)
            if got != want or (want is None) != (got is None):
                found.append(fail("ONE-1", f"no image2 was sent, so {block}.{key} must be {fmt(want)}, got {fmt(got)}",
                                  f"{block}.{key}"))
    return found


def two_1(seen: Seen) -> list[Finding] | None:
    """TWO-1: with image2, image2 is provided and judged, and the faces were compared."""
    if seen.success_body is None or not seen.ex.sent_image2:
        return None
    checks: tuple[tuple[tuple[str, str], Callable[[Any], bool], str], ...] = (
        (("image2", "input_provided"), lambda v: v == "True", '"True"'),
        (("image2", "result"), lambda v: v in ("real", "fake"), '"real" or "fake"'),
        ((MATCH_BLOCK, "performed"), lambda v: v == "True", '"True"'),
        ((MATCH_BLOCK, "result"), lambda v: v in ("True", "False"), '"True" or "False"'),
        ((MATCH_BLOCK, "confidence"), is_number, "a number"),
    )
    found = []
    for path, ok, wanted in checks:
        if well_formed(seen, *path) and not ok(seen.get(*path)):
            where = ".".join(path)
            found.append(fail("TWO-1", f"image2 was sent, so {where} must be {wanted}, got {fmt(seen.get(*path))}",
                              where))
    return found


def _active_gates(seen: Seen) -> list[tuple[str, str]] | None:
    """The (path, passing value) of each active gate, or None if one is not a decision.

    A gate that is not "real"/"fake" (or "True"/"False" for the match) is IMG1-1's or
    TWO-1's finding; OVR-1 only judges the verdict of well-formed decisions.
    """
    gates = [("image1.result", "real", ("real", "fake"))]
    if seen.ex.sent_image2:
        gates += [("image2.result", "real", ("real", "fake")), (f"{MATCH_BLOCK}.result", "True", ("True", "False"))]
    for path, _, decisions in gates:
        if seen.get(*path.split(".")) not in decisions:
            return None
    return [(path, passing) for path, passing, _ in gates]


def ovr_1(seen: Seen) -> list[Finding] | None:
    """OVR-1: overall_result is "True" exactly when every active gate passes."""
    if seen.success_body is None or not well_formed(seen, "overall_result"):
        return None
    gates = _active_gates(seen)
    if gates is None:
        return []
    failing = [f"{path} is {fmt(seen.get(*path.split('.')))}" for path, want in gates
               if seen.get(*path.split(".")) != want]
    expected = "False" if failing else "True"
    got = seen.get("overall_result")
    if got == expected:
        return []
    why = "; ".join(failing) if failing else "every active gate passes (" + ", ".join(p for p, _ in gates) + ")"
    return [fail("OVR-1", f'expected overall_result "{expected}" because {why}, got {fmt(got)}', "overall_result")]


def ovr_2(seen: Seen) -> list[Finding] | None:
    """OVR-2: when overall_result is "False", overall_confidence is 0."""
    if seen.get("overall_result") != "False" or not well_formed(seen, "overall_confidence"):
        return None
    value = seen.get("overall_confidence")
    if value is None or value != 0:
        return [fail("OVR-2", f'overall_result is "False", so overall_confidence must be 0, got {fmt(value)}',
                     "overall_confidence")]
    return []


def ovr_3(seen: Seen) -> list[Finding] | None:
    """OVR-3: when overall_result is "True", overall_confidence is in (0, 100].

    Advisory (a warning): it lies between the smallest and largest active gate confidence.
    """
    if seen.get("overall_result") != "True" or not well_formed(seen, "overall_confidence"):
        return None
    value = seen.get("overall_confidence")
    if value is None or not 0 < value <= 100:
        return [fail("OVR-3", f'overall_result is "True", so overall_confidence must be in (0, 100], got {fmt(value)}',
                     "overall_confidence")]
    paths = [("image1", "confidence")]
    if seen.ex.sent_image2:
        paths += [("image2", "confidence"), (MATCH_BLOCK, "confidence")]
    scores = [seen.get(*p) for p in paths]
    if not all(is_number(s) for s in scores):
        return []
    low, high = min(scores), max(scores)
    if not low - AGGREGATE_TOLERANCE <= value <= high + AGGREGATE_TOLERANCE:
        return [Finding("OVR-3", "warn", f"overall_confidence {fmt(value)} is outside the active gates' "
                                         f"confidences [{fmt(low)}, {fmt(high)}] (advisory)", "overall_confidence")]
    return []


# --- error rules ------------------------------------------------------------------------------


def _status_expectation(seen: Seen, rule: str) -> list[Finding]:
    """A finding when the request's fate belongs to ``rule`` and the status is not the fixed one."""
    fate = FATES.get(seen.ex.fate or "")
    if fate is None or seen.status >= 500:
        return []  # unknown fate: nothing fixed; 5xx: ERR-4's finding
    if fate.rule == rule and fate.statuses and seen.status not in fate.statuses:
        return [fail(rule, f"sent {fate.summary}: expected status {fate.expected}, got {seen.status}", "status")]
    if not fate.statuses and seen.status not in (200, 400):
        owner = {401: "ERR-2", 422: "ERR-3"}.get(seen.status, "ERR-1")
        if owner == rule:
            return [fail(rule, f"sent {fate.summary}: expected status 200 or 400, got {seen.status}", "status")]
    return []


def _message_body(seen: Seen, rule: str, status: int) -> list[Finding]:
    """The ``{"msg": "..."}`` body of a 400 or 401 (only when the body is JSON: ERR-4 owns the rest)."""
    if seen.status != status or not seen.json_ok:
        return []
    doc = seen.doc
    if not isinstance(doc, dict) or set(doc) != {"msg"} or not isinstance(doc["msg"], str) or not doc["msg"]:
        return [fail(rule, f'a {status} body must be {{"msg": "<non-empty text>"}}, got {_clip(seen.ex.body)}', "$")]
    return []


def err_1(seen: Seen) -> list[Finding] | None:
    """ERR-1: an unusable image gets 400 with {"msg": "..."}."""
    fate = FATES.get(seen.ex.fate or "")
    if seen.status != 400 and (fate is None or fate.rule != "ERR-1"):
        return None
    return _status_expectation(seen, "ERR-1") + _message_body(seen, "ERR-1", 400)


def err_2(seen: Seen) -> list[Finding] | None:
    """ERR-2: a missing or bad bearer token gets 401 with {"msg": "..."}."""
    fate = FATES.get(seen.ex.fate or "")
    relevant = seen.status == 401 or (fate is not None and fate.rule == "ERR-2")
    if not relevant:
        return None
    return _status_expectation(seen, "ERR-2") + _message_body(seen, "ERR-2", 401)


def err_3(seen: Seen) -> list[Finding] | None:
    """ERR-3: a request that is not the operation gets 422 with {"detail": ..., "message": "..."}."""
    fate = FATES.get(seen.ex.fate or "")
    if seen.status != 422 and (fate is None or fate.rule != "ERR-3"):
        return None
    found = _status_expectation(seen, "ERR-3")
    if seen.status == 422 and seen.json_ok:
        doc = seen.doc
        ok = (isinstance(doc, dict) and set(doc) == {"detail", "message"} and isinstance(doc["detail"], dict)
              and isinstance(doc["message"], str) and bool(doc["message"]))
        if not ok:
            found.append(fail("ERR-3", 'a 422 body must be {"detail": {...}, "message": "<non-empty text>"}, '
                                       f"got {_clip(seen.ex.body)}", "$"))
    return found


_TRACEBACK = re.compile(
    r"Traceback \(most recent call last\)"  # Python
    r"|File \"[^\"]+\", line \d+"  # a Python frame
    r"|\bat [\w.$]+\([\w]+\.java:\d+\)"  # a Java frame
)


def err_4(seen: Seen) -> list[Finding] | None:
    """ERR-4: never a 5xx, a stack trace, or a body that is not JSON."""
    found = []
    if seen.status >= 500:
        found.append(fail("ERR-4", f"expected no 5xx for any input, got {seen.status}", "status"))
    if not seen.json_ok:
        found.append(fail("ERR-4", f"expected a JSON body, got {_clip(seen.ex.body)} ({seen.parse_error})", "$"))
    text = seen.ex.body.decode("utf-8", "replace")
    if _TRACEBACK.search(text):
        found.append(fail("ERR-4", "the body contains a stack trace", "$"))
    return found


def hdr_1(seen: Seen) -> list[Finding] | None:
    """HDR-1: JSON bodies say Content-Type application/json; a sent correlation id is echoed."""
    found = []
    if seen.json_ok:
        ctype = _headers_get(seen.ex.response_headers, "Content-Type") or ""
        if ctype.split(";")[0].strip().lower() != "application/json":
            found.append(fail("HDR-1", f"expected Content-Type application/json, got {ctype or 'none'!r}",
                              "header:Content-Type"))
    sent = seen.ex.sent_correlation_id
    if sent is not None and valid_correlation_id(sent):
        echoed = _headers_get(seen.ex.response_headers, "X-Correlation-ID")
        if echoed != sent:
            found.append(fail("HDR-1", f"expected X-Correlation-ID {sent!r} echoed, got {echoed!r}",
                              "header:X-Correlation-ID"))
    return found


def valid_correlation_id(value: str) -> bool:
    """The contract's correlation id: 1..128 printable ASCII characters, no spaces.

    An id outside that form may be refused (422) and replaced, so only valid ids must be echoed.
    """
    return 1 <= len(value) <= 128 and all("!" <= ch <= "~" for ch in value)


def _clip(body: bytes, limit: int = 160) -> str:
    text = body.decode("utf-8", "replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")


RULES: tuple[Rule, ...] = (
    Rule("SHAPE-1", "exact keys at the top and in every block", shape_1),
    Rule("TYPE-1", 'flags are "True"/"False" strings, scores numbers in 0..100 or null', type_1),
    Rule("IMG1-1", "image1 is provided, real or fake, with a numeric confidence", img1_1),
    Rule("LIVE-1", "a fake image has confidence 0", live_1),
    Rule("LIVE-2", "a real image's prediction_confidence equals its confidence", live_2),
    Rule("ONE-1", "one-photo mode fills image2 and the match block with the fixed N/A values", one_1),
    Rule("TWO-1", "two-photo mode judges image2 and compares the faces", two_1),
    Rule("OVR-1", 'overall_result is "True" exactly when every active gate passes', ovr_1),
    Rule("OVR-2", 'overall_result "False" has overall_confidence 0', ovr_2),
    Rule("OVR-3", 'overall_result "True" has overall_confidence in (0, 100] (bounds advisory)', ovr_3),
    Rule("ERR-1", 'an unusable image gets 400 {"msg": ...}', err_1),
    Rule("ERR-2", 'a missing or bad token gets 401 {"msg": ...}', err_2),
    Rule("ERR-3", 'a request that is not the operation gets 422 {"detail", "message"}', err_3),
    Rule("ERR-4", "never a 5xx, a stack trace or a non-JSON body", err_4),
    Rule("HDR-1", "JSON content type; the correlation id is echoed", hdr_1),
)
RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in RULES)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}


@dataclass(frozen=True)
class RuleVerdict:
    rule: str
    applied: bool
    findings: tuple[Finding, ...] = field(default_factory=tuple)


def evaluate(exchange: Exchange, rules: Iterable[Rule] = RULES) -> list[RuleVerdict]:
    """Every rule's verdict on one exchange (for reports that count what was checked).

    The rules are about the operation, ``POST``: other methods (a CORS preflight, a 405 for
    TRACE) are not judged here.
    """
    if exchange.method.upper() != "POST":
        return [RuleVerdict(rule.id, False) for rule in rules]
    seen = Seen.of(exchange)
    verdicts = []
    for rule in rules:
        result = rule.check(seen)
        verdicts.append(RuleVerdict(rule.id, result is not None, tuple(result or ())))
    return verdicts


def check_exchange(exchange: Exchange) -> list[Finding]:
    """All findings (failures and warnings) of every rule on one exchange."""
    return [finding for verdict in evaluate(exchange) for finding in verdict.findings]


def curl_line(exchange: Exchange) -> str:
    """A curl command that repeats the request; the token is $TOKEN, images are @file placeholders."""
    words = ["curl", "-sS", "-X", exchange.method, exchange.url]
    for name, value in exchange.request_headers.items():
        lowered = name.lower()
        transport = ("content-length", "content-type", "user-agent", "accept-encoding", "accept", "connection", "host")
        # Content-Type is kept only for a body that is not multipart (curl writes the multipart one).
        if lowered in transport and (lowered != "content-type" or exchange.parts):
            continue
        if lowered == "authorization":
            scheme, _, _ = value.partition(" ")
            value = f"{scheme} $TOKEN" if scheme.lower() == "bearer" else "$AUTHORIZATION"
        words += ["-H", f"{name}: {value}"]
    notes = []
    for part in exchange.parts:
        if part.filename is None and part.value is not None:
            words += ["-F", f"{part.name}={part.value}"]
            continue
        placeholder = part.filename or f"{part.name}.bin"
        words += ["-F", f"{part.name}=@{placeholder}"]
        notes.append(f"{placeholder}: {part.size} bytes")
    if not exchange.parts and exchange.method.upper() == "POST":
        words += ["--data-binary", "@body.bin"]
    line = " ".join(_quote(word) for word in words)
    if notes:
        line += "  # " + "; ".join(notes)
    return line


def _quote(word: str) -> str:
    if word == "$TOKEN" or "$TOKEN" in word or "$AUTHORIZATION" in word:
        return '"' + word.replace('"', '\\"') + '"'
    return shlex.quote(word)
