"""Vendor bugs the kit must catch, each on the rule it breaks (the hold-out ones: holdout.py).

Each is the kind of mistake real services ship: a crash on one image kind or one form
field, a body that is almost JSON, an auth layer or a proxy answering in its own way,
a size or decode check that is missing, a response field of the wrong type or scale,
an overall verdict computed from the wrong gates, or a bug that shows only in one mode or
on some requests. ``rules`` are the DESIGN.md ids; the first is the one the bug is about.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .bug import Answered, AuthFailure, Bug, DecodedImage, FormField, Incoming, Reply, json_reply
from .stacks import Stack

# --- crashes on particular inputs -------------------------------------------------------------


def _alpha_crash(image: DecodedImage) -> None:
    if image.image.mode in ("RGBA", "LA", "PA") or "transparency" in image.image.info:
        raise OSError(f"cannot write mode {image.image.mode} as JPEG")  # the archive copy is saved as JPEG


def _exif_crash(image: DecodedImage) -> None:
    if image.orientation != 1:
        rotations = {3: 180, 6: 270, 8: 90}
        rotations[image.orientation + 100]  # a lookup of the wrong key: KeyError escapes


def _wide_crash(image: DecodedImage) -> None:
    if image.image.width > 800:
        raise MemoryError("thumbnail buffer exhausted")


def _image2_filename_crash(fields: tuple[FormField, ...]) -> tuple[FormField, ...]:
    for f in fields:
        if f.name == "image2":
            f.filename.rsplit(".", 1)  # type: ignore[union-attr] - None when the part has no filename
    return fields


def _missing_image1_crash(fields: tuple[FormField, ...]) -> tuple[FormField, ...]:
    {f.name: f for f in fields}["image1"]  # KeyError when the form has no image1
    return fields


def _abc_token_crash(incoming: Incoming) -> Reply | None:
    header = incoming.headers.get("authorization", "")
    if header.startswith("Bearer ") and header.count(".") == 2:
        segment = header[7:].split(".")[0]
        json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))  # reads "kid" before verifying
    return None


# --- bodies that are not strict JSON ------------------------------------------------------------


def _nan_for_missing(answered: Answered) -> dict[str, Any]:
    for block in ("image1", "image2"):
        if answered.doc[block]["prediction_confidence"] is None:
            answered.doc[block]["prediction_confidence"] = float("nan")
    return answered.doc


def _python_repr(doc: dict[str, Any]) -> bytes:
    return repr(doc).encode()


def _trailing_commas(doc: dict[str, Any]) -> bytes:
    def write(value: Any) -> str:
        if isinstance(value, dict):
            return "{" + "".join(f"{json.dumps(k)}: {write(v)}, " for k, v in value.items()).rstrip(" ") + "}"
        return json.dumps(value)

    return write(doc).encode()


# --- gateways, auth layers and error answers -----------------------------------------------------

NGINX_413 = (
    b"<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 "
    b"Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def _proxy_413(incoming: Incoming) -> Reply | None:
    if int(incoming.headers.get("content-length") or 0) > 10 * 1024 * 1024:
        return Reply(413, (("Content-Type", "text/html"),), NGINX_413)
    return None


def _every_7th_500(incoming: Incoming) -> Reply | None:
    if incoming.method == "POST" and incoming.number % 7 == 0:
        return json_reply(500, b'{"msg": "upstream model timed out"}', incoming)
    return None


def _not_multipart_415(incoming: Incoming) -> Reply | None:
    if incoming.method == "POST" and not incoming.headers.get("content-type", "").startswith("multipart/form-data"):
        return json_reply(415, b'{"msg": "unsupported media type"}', incoming)
    return None


def _forbidden_bad_signature(failure: AuthFailure, reply: Reply) -> Reply:
    if failure is AuthFailure.BAD_SIGNATURE:
        return Reply(403, (("Content-Type", "application/json"),), b'{"msg": "forbidden"}')
    return reply


def _plain_401(failure: AuthFailure, reply: Reply) -> Reply:
    return Reply(401, (("Content-Type", "text/plain"),), b"Unauthorized")


def _drop_correlation_on_errors(incoming: Incoming, reply: Reply) -> Reply:
    return reply.without_header("X-Correlation-ID") if reply.status >= 400 else reply


def _error_key(incoming: Incoming, reply: Reply) -> Reply:
    if reply.status != 400 or reply.header("Content-Type") is None:
        return reply
    message = json.loads(reply.body).get("msg", "bad request")
    return Reply(400, reply.headers, json.dumps({"error": message}).encode())


def _html_content_type(incoming: Incoming, reply: Reply) -> Reply:
    return reply.with_header("Content-Type", "text/html; charset=utf-8") if reply.status == 200 else reply


# --- the 200 document ------------------------------------------------------------------------------


def _flags_as_booleans(answered: Answered) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return {"True": True, "False": False}.get(value, value) if isinstance(value, str) else value

    return convert(answered.doc)


def _scores_as_strings(answered: Answered) -> dict[str, Any]:
    for block in ("image1", "image2", "image1_image2_facematch"):
        if isinstance(answered.doc[block]["confidence"], (int, float)):
            answered.doc[block]["confidence"] = f"{answered.doc[block]['confidence']:.2f}"
    return answered.doc


def _confidence_fraction(answered: Answered) -> dict[str, Any]:
    for block in ("image1", "image2"):
        if answered.doc[block]["result"] == "real":
            answered.doc[block]["confidence"] = round(answered.doc[block]["confidence"] / 100, 4)
    return answered.doc


def _fake_keeps_score(answered: Answered) -> dict[str, Any]:
    for block in ("image1", "image2"):
        if answered.doc[block]["result"] == "fake":
            answered.doc[block]["confidence"] = answered.doc[block]["prediction_confidence"] or 10.0
    return answered.doc


def _prediction_rounding(answered: Answered) -> dict[str, Any]:
    for block in ("image1", "image2"):
        if answered.doc[block]["result"] == "real":
            answered.doc[block]["confidence"] = round(answered.doc[block]["confidence"], 1)
    return answered.doc


def _overall_ignores_match(answered: Answered) -> dict[str, Any]:
    doc = answered.doc
    if answered.two_photo and doc["image1"]["result"] == doc["image2"]["result"] == "real":
        doc["overall_result"] = "True"
        doc["overall_confidence"] = round((doc["image1"]["confidence"] + doc["image2"]["confidence"]) / 2, 2)
    return doc


def _false_keeps_confidence(answered: Answered) -> dict[str, Any]:
    if answered.doc["overall_result"] == "False":
        answered.doc["overall_confidence"] = answered.doc["image1"]["prediction_confidence"] or 33.3
    return answered.doc


def _true_two_photo_zero(answered: Answered) -> dict[str, Any]:
    if answered.two_photo and answered.doc["overall_result"] == "True":
        answered.doc["overall_confidence"] = 0
    return answered.doc


def _one_photo_no_image2(answered: Answered) -> dict[str, Any]:
    if not answered.two_photo:
        del answered.doc["image2"]
    return answered.doc


def _request_id(answered: Answered) -> dict[str, Any]:
    answered.doc["request_id"] = f"req-{answered.incoming.number:06d}"
    return answered.doc


def _mismatch_confidence_null(answered: Answered) -> dict[str, Any]:
    block = answered.doc["image1_image2_facematch"]
    if answered.two_photo and block["result"] == "False":
        block["confidence"] = None
    return answered.doc


def _one_photo_performed(answered: Answered) -> dict[str, Any]:
    if not answered.two_photo:
        answered.doc["image1_image2_facematch"]["performed"] = "True"
    return answered.doc


def _fake_image1_not_provided(answered: Answered) -> dict[str, Any]:
    if answered.doc["image1"]["result"] == "fake":
        answered.doc["image1"]["input_provided"] = "False"
    return answered.doc


BUGS: tuple[Bug, ...] = (
    # crashes
    Bug(
        "alpha_png_crash",
        ("ERR-4",),
        "crashes (500) on images with an alpha channel",
        image=_alpha_crash,
        runs_on=Stack.WERKZEUG,
    ),
    Bug(
        "exif_rotated_crash",
        ("ERR-4",),
        "crashes (500) on photos with an EXIF orientation",
        image=_exif_crash,
        runs_on=Stack.ASYNCIO,
    ),
    Bug("wide_image_crash", ("ERR-4",), "crashes (500) on images wider than 800 px", image=_wide_crash),
    Bug(
        "image2_no_filename_crash",
        ("ERR-4",),
        "crashes (500) when the image2 part has no filename",
        form=_image2_filename_crash,
    ),
    Bug(
        "missing_image1_crash",
        ("ERR-4", "ERR-3"),
        "crashes (500) when the form has no image1",
        form=_missing_image1_crash,
        runs_on=Stack.WERKZEUG,
    ),
    Bug(
        "abc_token_crash",
        ("ERR-4", "ERR-2"),
        "crashes (500) on a three-part bearer token that is not base64 JSON (e.g. Bearer a.b.c)",
        front=_abc_token_crash,
    ),
    Bug(
        "every_7th_request_500",
        ("ERR-4",),
        "every 7th POST answers 500 (a model timeout)",
        front=_every_7th_500,
        runs_on=Stack.WERKZEUG,
    ),
    # bodies that are not strict JSON
    Bug(
        "nan_for_missing_score",
        ("ERR-4",),
        "writes NaN where a prediction_confidence is null",
        doc=_nan_for_missing,
        runs_on=Stack.ASYNCIO,
    ),
    Bug(
        "python_repr_body",
        ("ERR-4",),
        "200 bodies are Python repr (single quotes, None)",
        encode=_python_repr,
        runs_on=Stack.WERKZEUG,
    ),
    Bug("trailing_comma_json", ("ERR-4",), "200 bodies have trailing commas", encode=_trailing_commas),
    # gateways, auth and error answers
    Bug(
        "proxy_413_html",
        ("ERR-1", "ERR-4"),
        "a proxy in front answers bodies over 10 MiB with nginx's 413 HTML page",
        front=_proxy_413,
        runs_on=Stack.ASYNCIO,
    ),
    Bug(
        "bad_signature_403",
        ("ERR-2",),
        "answers a badly signed token with 403",
        auth_reply=_forbidden_bad_signature,
        runs_on=Stack.WERKZEUG,
    ),
    Bug("expired_token_accepted", ("ERR-2",), "does not check exp: an expired token gets 200", verify_exp=False),
    Bug(
        "plain_text_401",
        ("ERR-2", "ERR-4"),
        "answers 401 with a text/plain 'Unauthorized'",
        auth_reply=_plain_401,
        runs_on=Stack.WERKZEUG,
    ),
    # (400 {"msg"} would be conforming: the upstream lists 400 for "Empty image1".)
    Bug(
        "not_multipart_415",
        ("ERR-3",),
        "answers a body that is not multipart with 415",
        front=_not_multipart_415,
        runs_on=Stack.ASYNCIO,
    ),
    Bug("error_key_not_msg", ("ERR-1",), 'answers 400 with {"error": ...} instead of {"msg": ...}', reply=_error_key),
    Bug(
        "correlation_dropped_on_errors",
        ("HDR-1",),
        "does not echo X-Correlation-ID on error answers",
        reply=_drop_correlation_on_errors,
    ),
    Bug(
        "html_content_type",
        ("HDR-1",),
        "labels 200 JSON bodies text/html",
        reply=_html_content_type,
        runs_on=Stack.WERKZEUG,
    ),
    # image checks missing
    Bug(
        "truncated_image_accepted",
        ("ERR-1",),
        "ignores decode errors: a truncated JPEG gets 200",
        tolerate_decode_errors=True,
    ),
    Bug(
        "tiny_image_accepted",
        ("ERR-1",),
        "has no minimum size: a 400-byte image gets 200",
        min_bytes=1,
        runs_on=Stack.ASYNCIO,
    ),
    Bug(
        "huge_image_accepted",
        ("ERR-1",),
        "allows images up to 12 MiB: 11 MiB gets 200",
        max_bytes=12 * 1024 * 1024,
        runs_on=Stack.WERKZEUG,
    ),
    # the 200 document
    Bug(
        "flags_as_booleans",
        ("TYPE-1",),
        'writes "True"/"False" as JSON booleans',
        doc=_flags_as_booleans,
        runs_on=Stack.ASYNCIO,
    ),
    Bug("scores_as_strings", ("TYPE-1",), "writes confidences as strings", doc=_scores_as_strings),
    Bug(
        "confidence_fraction",
        ("LIVE-2",),
        "gives a real image's confidence on a 0..1 scale, its prediction in percent",
        doc=_confidence_fraction,
        runs_on=Stack.WERKZEUG,
    ),
    Bug("fake_keeps_score", ("LIVE-1",), "a fake image keeps its score as confidence", doc=_fake_keeps_score),
    Bug(
        "prediction_rounding_differs",
        ("LIVE-2",),
        "rounds a real image's confidence to 1 decimal, its prediction to 2",
        doc=_prediction_rounding,
    ),
    Bug(
        "overall_ignores_match",
        ("OVR-1",),
        'two-photo mode: overall "True" when both are real, even on a mismatch',
        doc=_overall_ignores_match,
        runs_on=Stack.ASYNCIO,
    ),
    Bug(
        "false_keeps_confidence",
        ("OVR-2",),
        'overall "False" keeps image1\'s score as overall_confidence',
        doc=_false_keeps_confidence,
        runs_on=Stack.WERKZEUG,
    ),
    Bug(
        "true_two_photo_zero",
        ("OVR-3",),
        'two-photo mode: overall "True" with overall_confidence 0',
        doc=_true_two_photo_zero,
        runs_on=Stack.ASYNCIO,
    ),
    Bug(
        "one_photo_no_image2",
        ("SHAPE-1",),
        "one-photo mode: leaves the image2 block out",
        doc=_one_photo_no_image2,
        runs_on=Stack.ASYNCIO,
    ),
    Bug("extra_request_id", ("SHAPE-1",), "adds a request_id key", doc=_request_id, runs_on=Stack.WERKZEUG),
    Bug(
        "mismatch_confidence_null",
        ("TWO-1",),
        "two-photo mode: a mismatch has match confidence null",
        doc=_mismatch_confidence_null,
    ),
    Bug(
        "one_photo_performed",
        ("ONE-1",),
        'one-photo mode: the match block says performed "True"',
        doc=_one_photo_performed,
        runs_on=Stack.ASYNCIO,
    ),
    Bug(
        "fake_image1_not_provided",
        ("IMG1-1",),
        'a fake image1 says input_provided "False"',
        doc=_fake_image1_not_provided,
    ),
)
