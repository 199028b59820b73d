"""The contract's rules (SHAPE-1 ... HDR-1), checked on one recorded request/response pair.

This is the kit's own formulation of the rules catalogue in the design notes, written
independently of the mock's response builder on purpose: two formulations catch each
other's mistakes. It is pure and imports only the standard library, so the mock's
``--strict`` mode can call :func:`check_exchange` cheaply.

Each rule is a small function registered with :data:`CATALOGUE`'s ``check`` decorator:
``(Seen, Findings) -> None``. When a rule applies is declared on the registration as
guards (:data:`SUCCESS_BODY`, :data:`ONE_PHOTO`, ...); a rule whose guards do not hold gets
a verdict "not applied", one whose guards hold and that writes no finding holds.

One principle keeps the rules from piling onto the same mistake: a rule judges only the
values whose *form* is right. A value of the wrong JSON type or outside its vocabulary is
reported once, by TYPE-1; a missing or extra key once, by SHAPE-1; a 5xx or a body that is
not JSON once, by ERR-4. So a server that breaks one rule fails exactly that rule.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .exchange import FATES, Exchange, Fate, FateName, Part, curl_line
from .operation import CORRELATION_HEADER
from .registry import Check, Guard, Registry
from .verdicts import Finding, Findings, RuleVerdict, Severity

__all__ = [
    "CATALOGUE",
    "FATES",
    "RULES",
    "RULE_IDS",
    "Exchange",
    "Fate",
    "FateName",
    "Finding",
    "Part",
    "Rule",
    "RuleVerdict",
    "Seen",
    "Severity",
    "check_exchange",
    "curl_line",
    "evaluate",
    "valid_correlation_id",
]

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


def _headers_get(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


# --- the registry and its guards ------------------------------------------------------------

Rule = Check[Seen]
#: The catalogue, in the order of the design notes (and of every report).
CATALOGUE: Registry[Seen] = Registry()
rule = CATALOGUE.check

STATUS_200_JSON = Guard[Seen]("a 200 with a JSON body", lambda seen: seen.status == 200 and seen.json_ok)
SUCCESS_BODY = Guard[Seen]("a 200 with a JSON object body", lambda seen: seen.success_body is not None)
ONE_PHOTO = Guard[Seen]("no image2 was sent", lambda seen: not seen.ex.sent_image2)
TWO_PHOTOS = Guard[Seen]("image2 was sent", lambda seen: seen.ex.sent_image2)


def has_image_result(result: str) -> Guard[Seen]:
    return Guard(f"an image whose result is {result}", lambda seen: any(_image_blocks_with_result(seen, result)))


def overall_result_is(flag: str) -> Guard[Seen]:
    return Guard(
        f'overall_result "{flag}" and a well-formed overall_confidence',
        lambda seen: seen.get("overall_result") == flag and well_formed(seen, "overall_confidence"),
    )


def concerns(owner: str, status: int) -> Guard[Seen]:
    """The answer is ``status``, or the request's fate belongs to ``owner`` (an ERR-* rule)."""
    return Guard(
        f"a {status} answer or a fate of {owner}",
        lambda seen: seen.status == status or (seen.ex.fixed is not None and seen.ex.fixed.rule == owner),
    )


WELL_FORMED_OVERALL = Guard[Seen]("a well-formed overall_result", lambda seen: well_formed(seen, "overall_result"))


# --- 200 body rules -------------------------------------------------------------------------


@rule("SHAPE-1", "exact keys at the top and in every block", when=(STATUS_200_JSON,))
def shape_1(seen: Seen, found: Findings) -> None:
    """SHAPE-1: exactly the five top-level keys, and exactly the keys of each block."""
    doc = seen.doc
    if not isinstance(doc, dict):
        found.fail(
            f"expected a JSON object, got {type(doc).__name__}", "$", expected="a JSON object", got=type(doc).__name__
        )
        return
    _check_keys(found, doc, TOP_KEYS, "")
    for block, keys in (("image1", IMAGE_KEYS), ("image2", IMAGE_KEYS), (MATCH_BLOCK, MATCH_KEYS)):
        value = doc.get(block, MISSING)
        if value is MISSING:
            continue
        if not isinstance(value, dict):
            found.fail(
                f"expected {block} to be an object, got {fmt(value)}", block, expected="an object", got=fmt(value)
            )
            continue
        _check_keys(found, value, keys, block + ".")


def _check_keys(found: Findings, obj: dict[str, Any], keys: tuple[str, ...], prefix: str) -> None:
    for key in keys:
        if key not in obj:
            found.fail(f"expected key {prefix}{key}, it is missing", prefix + key, expected="present", got=fmt(MISSING))
    for key in obj:
        if key not in keys:
            found.fail(
                f"unexpected key {prefix}{key} (allowed: {', '.join(keys)})",
                prefix + key,
                expected="absent",
                got=fmt(obj[key]),
            )


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


def _has_form(value: Any, ok: Callable[[Any], bool]) -> bool:
    return not isinstance(value, bool) and isinstance(value, (str, int, float, type(None))) and ok(value)


def well_formed(seen: Seen, *path: str) -> bool:
    """True when the value at ``path`` is present and has the form TYPE-1 requires."""
    value = seen.get(*path)
    if value is MISSING:
        return False
    for field_path, ok, _ in _TYPED_FIELDS:
        if field_path == path:
            return isinstance(value, (str, int, float, type(None))) and ok(value)
    return True


@rule("TYPE-1", 'flags are "True"/"False" strings, scores numbers in 0..100 or null', when=(SUCCESS_BODY,))
def type_1(seen: Seen, found: Findings) -> None:
    """TYPE-1: flags are "True"/"False" strings, results in their vocabulary, scores numbers in 0..100 or null.

    Whether null is allowed at a given place is for the rule about that place (IMG1-1,
    ONE-1, TWO-1, OVR-2, OVR-3), so TYPE-1 accepts null for every score.
    """
    for path, ok, wanted in _TYPED_FIELDS:
        value = seen.get(*path)
        if value is MISSING:
            continue  # SHAPE-1's finding
        if not _has_form(value, ok):
            found.fail(f"expected {wanted}, got {fmt(value)}", ".".join(path), expected=wanted, got=fmt(value))


def _expect_at(
    seen: Seen, found: Findings, path: tuple[str, ...], ok: Callable[[Any], bool], wanted: str, why: str = ""
) -> None:
    """A finding when the well-formed value at ``path`` is not what ``ok`` accepts."""
    if not well_formed(seen, *path):
        return  # absent or of the wrong form: SHAPE-1's or TYPE-1's finding
    got = seen.get(*path)
    if not ok(got):
        where = ".".join(path)
        lead = f"{why}, so {where} must be {wanted}" if why else f"expected {wanted}"
        found.fail(f"{lead}, got {fmt(got)}", where, expected=wanted, got=fmt(got))


@rule("IMG1-1", "image1 is provided, real or fake, with a numeric confidence", when=(SUCCESS_BODY,))
def img1_1(seen: Seen, found: Findings) -> None:
    """IMG1-1: image1 is always provided, always real or fake, and its confidence is a number."""
    _expect_at(seen, found, ("image1", "input_provided"), lambda v: v == "True", '"True"')
    _expect_at(seen, found, ("image1", "result"), lambda v: v in ("real", "fake"), '"real" or "fake"')
    _expect_at(seen, found, ("image1", "confidence"), lambda v: v is not None, "a number")


def _image_blocks_with_result(seen: Seen, result: str) -> Iterable[str]:
    for block in IMAGE_BLOCKS:
        if well_formed(seen, block, "result") and seen.get(block, "result") == result:
            yield block


@rule("LIVE-1", "a fake image has confidence 0", when=(SUCCESS_BODY, has_image_result("fake")))
def live_1(seen: Seen, found: Findings) -> None:
    """LIVE-1: an image whose result is fake has confidence 0."""
    for block in _image_blocks_with_result(seen, "fake"):
        _expect_at(seen, found, (block, "confidence"), lambda v: v is not None and v == 0, "0", f"{block} is fake")


@rule(
    "LIVE-2",
    "a real image's prediction_confidence equals its confidence",
    when=(SUCCESS_BODY, has_image_result("real")),
)
def live_2(seen: Seen, found: Findings) -> None:
    """LIVE-2: for a real image, a non-null prediction_confidence equals confidence."""
    for block in _image_blocks_with_result(seen, "real"):
        if not (well_formed(seen, block, "confidence") and well_formed(seen, block, "prediction_confidence")):
            continue
        conf, pred = seen.get(block, "confidence"), seen.get(block, "prediction_confidence")
        if pred is None or conf is None:
            continue  # a null confidence on a real image is IMG1-1's or TWO-1's concern
        if abs(pred - conf) > SCORE_TOLERANCE:
            found.fail(
                f"{block} is real, so prediction_confidence must equal confidence ({fmt(conf)}), got {fmt(pred)}",
                f"{block}.prediction_confidence",
                expected=fmt(conf),
                got=fmt(pred),
            )


@rule(
    "ONE-1", "one-photo mode fills image2 and the match block with the fixed N/A values", when=(SUCCESS_BODY, ONE_PHOTO)
)
def one_1(seen: Seen, found: Findings) -> None:
    """ONE-1: without image2, the image2 and match blocks are the fixed "not provided" values."""
    for block, expected in (("image2", ONE_IMAGE_IMAGE2), (MATCH_BLOCK, ONE_IMAGE_MATCH)):
        for key, want in expected.items():
            _expect_at(seen, found, (block, key), _equals(want), fmt(want), "no image2 was sent")


def _equals(want: Any) -> Callable[[Any], bool]:
    """Equal to ``want``, with null only equal to null (0 is not null)."""
    return lambda got: got == want and (want is None) == (got is None)


_TWO_PHOTO_VALUES: tuple[tuple[tuple[str, str], Callable[[Any], bool], str], ...] = (
    (("image2", "input_provided"), lambda v: v == "True", '"True"'),
    (("image2", "result"), lambda v: v in ("real", "fake"), '"real" or "fake"'),
    ((MATCH_BLOCK, "performed"), lambda v: v == "True", '"True"'),
    ((MATCH_BLOCK, "result"), lambda v: v in ("True", "False"), '"True" or "False"'),
    ((MATCH_BLOCK, "confidence"), is_number, "a number"),
)


@rule("TWO-1", "two-photo mode judges image2 and compares the faces", when=(SUCCESS_BODY, TWO_PHOTOS))
def two_1(seen: Seen, found: Findings) -> None:
    """TWO-1: with image2, image2 is provided and judged, and the faces were compared."""
    for path, ok, wanted in _TWO_PHOTO_VALUES:
        _expect_at(seen, found, path, ok, wanted, "image2 was sent")


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


@rule(
    "OVR-1", 'overall_result is "True" exactly when every active gate passes', when=(SUCCESS_BODY, WELL_FORMED_OVERALL)
)
def ovr_1(seen: Seen, found: Findings) -> None:
    """OVR-1: overall_result is "True" exactly when every active gate passes."""
    gates = _active_gates(seen)
    if gates is None:
        return
    failing = [
        f"{path} is {fmt(seen.get(*path.split('.')))}" for path, want in gates if seen.get(*path.split(".")) != want
    ]
    expected = "False" if failing else "True"
    got = seen.get("overall_result")
    if got != expected:
        why = "; ".join(failing) if failing else "every active gate passes (" + ", ".join(p for p, _ in gates) + ")"
        found.fail(
            f'expected overall_result "{expected}" because {why}, got {fmt(got)}',
            "overall_result",
            expected=fmt(expected),
            got=fmt(got),
        )


@rule("OVR-2", 'overall_result "False" has overall_confidence 0', when=(overall_result_is("False"),))
def ovr_2(seen: Seen, found: Findings) -> None:
    """OVR-2: when overall_result is "False", overall_confidence is 0."""
    value = seen.get("overall_confidence")
    if value is None or value != 0:
        found.fail(
            f'overall_result is "False", so overall_confidence must be 0, got {fmt(value)}',
            "overall_confidence",
            expected="0",
            got=fmt(value),
        )


@rule(
    "OVR-3",
    'overall_result "True" has overall_confidence in (0, 100] (bounds advisory)',
    when=(overall_result_is("True"),),
)
def ovr_3(seen: Seen, found: Findings) -> None:
    """OVR-3: when overall_result is "True", overall_confidence is in (0, 100].

    Advisory (a warning): it lies between the smallest and largest active gate confidence.
    """
    value = seen.get("overall_confidence")
    if value is None or not 0 < value <= 100:
        found.fail(
            f'overall_result is "True", so overall_confidence must be in (0, 100], got {fmt(value)}',
            "overall_confidence",
            expected="a number in (0, 100]",
            got=fmt(value),
        )
        return
    paths = [("image1", "confidence")]
    if seen.ex.sent_image2:
        paths += [("image2", "confidence"), (MATCH_BLOCK, "confidence")]
    scores = [seen.get(*p) for p in paths]
    if not all(is_number(s) for s in scores):
        return
    low, high = min(scores), max(scores)
    if not low - AGGREGATE_TOLERANCE <= value <= high + AGGREGATE_TOLERANCE:
        found.warn(
            f"overall_confidence {fmt(value)} is outside the active gates' confidences "
            f"[{fmt(low)}, {fmt(high)}] (advisory)",
            "overall_confidence",
            expected=f"[{fmt(low)}, {fmt(high)}]",
            got=fmt(value),
        )


# --- error rules ------------------------------------------------------------------------------


def _check_status(seen: Seen, found: Findings) -> None:
    """A finding when the request's fate belongs to this rule and the status is not the fixed one."""
    fate = seen.ex.fixed
    if fate is None or seen.status >= 500:
        return  # nothing fixed; or a 5xx: ERR-4's finding
    if fate.rule == found.rule and fate.statuses and seen.status not in fate.statuses:
        found.fail(
            f"sent {fate.summary}: expected status {fate.expected}, got {seen.status}",
            "status",
            expected=fate.expected,
            got=str(seen.status),
        )
    if not fate.statuses and seen.status not in (200, 400):
        owner = {401: "ERR-2", 422: "ERR-3"}.get(seen.status, "ERR-1")
        if owner == found.rule:
            found.fail(
                f"sent {fate.summary}: expected status 200 or 400, got {seen.status}",
                "status",
                expected="200 or 400",
                got=str(seen.status),
            )


def _check_message_body(seen: Seen, found: Findings, status: int) -> None:
    """The ``{"msg": "..."}`` body of a 400 or 401 (only when the body is JSON: ERR-4 owns the rest)."""
    if seen.status != status or not seen.json_ok:
        return
    doc = seen.doc
    if not isinstance(doc, dict) or set(doc) != {"msg"} or not isinstance(doc["msg"], str) or not doc["msg"]:
        found.fail(
            f'a {status} body must be {{"msg": "<non-empty text>"}}, got {_clip(seen.ex.body)}',
            "$",
            expected='{"msg": "<non-empty text>"}',
            got=_clip(seen.ex.body),
        )


@rule("ERR-1", 'an unusable image gets 400 {"msg": ...}', when=(concerns("ERR-1", 400),))
def err_1(seen: Seen, found: Findings) -> None:
    """ERR-1: an unusable image gets 400 with {"msg": "..."}."""
    _check_status(seen, found)
    _check_message_body(seen, found, 400)


@rule("ERR-2", 'a missing or bad token gets 401 {"msg": ...}', when=(concerns("ERR-2", 401),))
def err_2(seen: Seen, found: Findings) -> None:
    """ERR-2: a missing or bad bearer token gets 401 with {"msg": "..."}."""
    _check_status(seen, found)
    _check_message_body(seen, found, 401)


@rule("ERR-3", 'a request that is not the operation gets 422 {"detail", "message"}', when=(concerns("ERR-3", 422),))
def err_3(seen: Seen, found: Findings) -> None:
    """ERR-3: a request that is not the operation gets 422 with {"detail": ..., "message": "..."}."""
    _check_status(seen, found)
    if seen.status == 422 and seen.json_ok:
        doc = seen.doc
        ok = (
            isinstance(doc, dict)
            and set(doc) == {"detail", "message"}
            and isinstance(doc["detail"], dict)
            and isinstance(doc["message"], str)
            and bool(doc["message"])
        )
        if not ok:
            found.fail(
                f'a 422 body must be {{"detail": {{...}}, "message": "<non-empty text>"}}, got {_clip(seen.ex.body)}',
                "$",
                expected='{"detail": {...}, "message": "<non-empty text>"}',
                got=_clip(seen.ex.body),
            )


_TRACEBACK = re.compile(
    r"Traceback \(most recent call last\)"  # Python
    r"|File \"[^\"]+\", line \d+"  # a Python frame
    r"|\bat [\w.$]+\([\w]+\.java:\d+\)"  # a Java frame
)


@rule("ERR-4", "never a 5xx, a stack trace or a non-JSON body")
def err_4(seen: Seen, found: Findings) -> None:
    """ERR-4: never a 5xx, a stack trace, or a body that is not JSON."""
    if seen.status >= 500:
        found.fail(
            f"expected no 5xx for any input, got {seen.status}", "status", expected="below 500", got=str(seen.status)
        )
    if not seen.json_ok:
        found.fail(
            f"expected a JSON body, got {_clip(seen.ex.body)} ({seen.parse_error})",
            "$",
            expected="a JSON body",
            got=_clip(seen.ex.body),
        )
    text = seen.ex.body.decode("utf-8", "replace")
    if _TRACEBACK.search(text):
        found.fail("the body contains a stack trace", "$", expected="no stack trace", got="a stack trace")


@rule("HDR-1", "JSON content type; the correlation id is echoed")
def hdr_1(seen: Seen, found: Findings) -> None:
    """HDR-1: JSON bodies say Content-Type application/json; a sent correlation id is echoed."""
    if seen.json_ok:
        ctype = _headers_get(seen.ex.response_headers, "Content-Type") or ""
        if ctype.split(";")[0].strip().lower() != "application/json":
            found.fail(
                f"expected Content-Type application/json, got {ctype or 'none'!r}",
                "header:Content-Type",
                expected="application/json",
                got=ctype or None,
            )
    sent = seen.ex.sent_correlation_id
    if sent is not None and valid_correlation_id(sent):
        echoed = _headers_get(seen.ex.response_headers, CORRELATION_HEADER)
        if echoed != sent:
            found.fail(
                f"expected {CORRELATION_HEADER} {sent!r} echoed, got {echoed!r}",
                f"header:{CORRELATION_HEADER}",
                expected=sent,
                got=echoed,
            )


def valid_correlation_id(value: str) -> bool:
    """The contract's correlation id: 1..128 printable ASCII characters, no spaces.

    An id outside that form may be refused (422) and replaced, so only valid ids must be echoed.
    """
    return 1 <= len(value) <= 128 and all("!" <= ch <= "~" for ch in value)


def _clip(body: bytes, limit: int = 160) -> str:
    text = body.decode("utf-8", "replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")


RULES: tuple[Rule, ...] = tuple(CATALOGUE)
RULE_IDS: tuple[str, ...] = CATALOGUE.ids


def evaluate(exchange: Exchange, rules: Iterable[Rule] = RULES) -> list[RuleVerdict]:
    """Every rule's verdict on one exchange (for reports that count what was checked).

    The rules are about the operation, ``POST``: other methods (a CORS preflight, a 405 for
    TRACE) are not judged here.
    """
    if exchange.method.upper() != "POST":
        return [RuleVerdict(rule.id, False) for rule in rules]
    seen = Seen.of(exchange)
    return [rule.judge(seen) for rule in rules]


def check_exchange(exchange: Exchange) -> list[Finding]:
    """All findings (failures and warnings) of every rule on one exchange."""
    return [finding for verdict in evaluate(exchange) for finding in verdict.findings]
