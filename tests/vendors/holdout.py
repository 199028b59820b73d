"""Hold-out vendor bugs: written before the kit was tuned against the others, run last.

They exist to measure the kit honestly on bugs nobody shaped it for. Keep them apart from
``bugs.py``; the outcome of their first run is recorded in the vendors README.
"""

from __future__ import annotations

import json
from typing import Any

from .bug import Answered, Bug, DecodedImage, FormField, Incoming, Reply, json_reply
from .stacks import Stack


def _webp_crash(image: DecodedImage) -> None:
    if image.image.format == "WEBP":
        raise OSError("decoder webp not available in this build")


def _image2_fake_ignored(answered: Answered) -> dict[str, Any]:
    doc = answered.doc
    gates_ok = doc["image1"]["result"] == "real" and doc["image1_image2_facematch"]["result"] == "True"
    if answered.two_photo and gates_ok and doc["image2"]["result"] == "fake":
        doc["overall_result"] = "True"
        doc["overall_confidence"] = doc["image1_image2_facematch"]["confidence"]
    return doc


def _image2_fake_keeps_score(answered: Answered) -> dict[str, Any]:
    block = answered.doc["image2"]
    if answered.two_photo and block["result"] == "fake" and block["prediction_confidence"] is not None:
        block["confidence"] = block["prediction_confidence"]
    return answered.doc


NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
    b"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def _gateway_every_9th(incoming: Incoming) -> Reply | None:
    if incoming.method == "POST" and incoming.number % 9 == 0:
        return Reply(502, (("Content-Type", "text/html"),), NGINX_502)
    return None


def _single_quotes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).replace('"', "'").encode()


def _match_per_mille(answered: Answered) -> dict[str, Any]:
    block = answered.doc["image1_image2_facematch"]
    if answered.two_photo:
        block["confidence"] = round(block["confidence"] * 10, 1)
    return answered.doc


def _one_photo_image2_provided(answered: Answered) -> dict[str, Any]:
    if not answered.two_photo:
        answered.doc["image2"]["input_provided"] = "True"
    return answered.doc


def _lowercase_correlation(incoming: Incoming, reply: Reply) -> Reply:
    cid = reply.header("X-Correlation-ID")
    return reply if cid is None else reply.with_header("X-Correlation-ID", cid.lower())


def _drop_empty_image2(fields: tuple[FormField, ...]) -> tuple[FormField, ...]:
    return tuple(f for f in fields if not (f.name == "image2" and not f.data))


def _json_body_415(incoming: Incoming) -> Reply | None:
    ctype = incoming.headers.get("content-type", "")
    if incoming.method == "POST" and not ctype.lower().startswith("multipart/form-data"):
        return json_reply(415, b'{"msg": "unsupported media type"}', incoming)
    return None


def _unique_id_ascii_only(fields: tuple[FormField, ...]) -> tuple[FormField, ...]:
    for f in fields:
        if f.name == "unique_id":
            f.data.decode("ascii")  # the audit log column is ASCII: UnicodeDecodeError escapes
    return fields


def _gray_crash(image: DecodedImage) -> None:
    if image.image.mode in ("L", "LA", "I", "I;16"):
        red, green, blue = image.image.split()[:3]  # assumes three bands: ValueError on one band
        del red, green, blue


HOLDOUT_BUGS: tuple[Bug, ...] = (
    Bug(
        "webp_decoder_crash", ("ERR-4",), "crashes (500) on every WebP photo", image=_webp_crash, runs_on=Stack.WERKZEUG
    ),
    Bug(
        "image2_fake_ignored_in_overall",
        ("OVR-1",),
        'two-photo mode: overall_result "True" when image1 is real and the faces match, although image2 is fake',
        doc=_image2_fake_ignored,
        runs_on=Stack.ASYNCIO,
    ),
    Bug(
        "image2_fake_keeps_score",
        ("LIVE-1",),
        "two-photo mode: a fake image2 keeps its score as confidence",
        doc=_image2_fake_keeps_score,
    ),
    Bug(
        "gateway_502_every_9th",
        ("ERR-4",),
        "a gateway in front answers every 9th POST with nginx's 502 HTML page",
        front=_gateway_every_9th,
        runs_on=Stack.WERKZEUG,
    ),
    Bug(
        "basic_auth_accepted",
        ("ERR-2",),
        "accepts any Basic Authorization header as if it were a valid token",
        auth_bypass=lambda header: header is not None and header.startswith("Basic "),
    ),
    Bug(
        "single_quoted_json",
        ("ERR-4",),
        "200 bodies use single quotes (not JSON)",
        encode=_single_quotes,
        runs_on=Stack.ASYNCIO,
    ),
    Bug(
        "match_confidence_per_mille",
        ("TYPE-1",),
        "two-photo mode: match confidence on a 0..1000 scale",
        doc=_match_per_mille,
    ),
    Bug(
        "one_photo_image2_provided",
        ("ONE-1",),
        'one-photo mode: image2.input_provided "True"',
        doc=_one_photo_image2_provided,
    ),
    Bug(
        "correlation_id_lowercased",
        ("HDR-1",),
        "echoes X-Correlation-ID lower-cased",
        reply=_lowercase_correlation,
        runs_on=Stack.ASYNCIO,
    ),
    Bug(
        "empty_image2_ignored",
        ("ERR-1",),
        "an empty image2 part is dropped and the request answered in one-photo mode",
        form=_drop_empty_image2,
    ),
    Bug("json_body_415", ("ERR-3",), "a body that is not multipart gets 415 instead of 422", front=_json_body_415),
    Bug("unicode_unique_id_crash", ("ERR-4",), "crashes (500) when unique_id is not ASCII", form=_unique_id_ascii_only),
    Bug(
        "grayscale_crash",
        ("ERR-4",),
        "crashes (500) on one-band (grayscale) photos",
        image=_gray_crash,
        runs_on=Stack.WERKZEUG,
    ),
)
