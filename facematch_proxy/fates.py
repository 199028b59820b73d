"""What the contract fixes for a request the proxy saw: the ``fate`` the rules judge by.

The kit labels the requests it makes; the proxy only sees someone else's traffic, so it
names a fate only when the request itself shows it beyond doubt, and otherwise leaves the
fate unknown (the rules then judge the answer's form, not its status):

- token fates (no Authorization, not a bearer JWT, a JWT whose ``exp`` has passed) are
  read from the header without the secret; a signature the proxy cannot check is never
  called bad;
- form fates (not multipart, no image1, an empty, clearly tiny or clearly huge image) are
  read from the scanned form.

Which check an implementation runs first is not fixed by the upstream, so a request with a
token problem and a form problem gets no fate, and a form fate is dropped when the answer
is a 401 (the token may be refused for a reason the proxy cannot see).
"""

from __future__ import annotations

import base64
import binascii
import json
import time

from facematch_contract.exchange import size_fate
from facematch_contract.rules import FateName

from .multipart import ScannedForm

IMAGE_FIELDS = ("image1", "image2")


def token_fate(authorization: str | None, now: float | None = None) -> FateName | None:
    if authorization is None or not authorization.strip():
        return FateName.MISSING_TOKEN
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or token.count(".") != 2:
        return FateName.MALFORMED_TOKEN
    try:
        header, claims = (_segment(piece) for piece in token.split(".")[:2])
    except ValueError:
        return FateName.MALFORMED_TOKEN
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return FateName.MALFORMED_TOKEN
    exp = claims.get("exp")
    # Generous leeway: only a token that expired well before now is called expired.
    if (
        isinstance(exp, (int, float))
        and not isinstance(exp, bool)
        and exp < (time.time() if now is None else now) - 300
    ):
        return FateName.EXPIRED_TOKEN
    return None


def _segment(piece: str) -> object:
    try:
        return json.loads(base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise ValueError(str(error)) from error


def form_fate(multipart: bool, form: ScannedForm | None) -> FateName | None:
    if not multipart:
        return FateName.NOT_MULTIPART
    if form is None or not form.complete:
        return None
    if form.find("image1") is None:
        return FateName.MISSING_IMAGE1
    for name in IMAGE_FIELDS:
        scanned = form.find(name)
        if scanned is None:
            continue
        fate = size_fate(scanned.part.size)
        if fate is not FateName.USABLE:
            return fate
    return None


def infer_fate(authorization: str | None, multipart: bool, form: ScannedForm | None, status: int) -> FateName | None:
    """The fate of one exchange, or None when the request does not fix its answer."""
    by_token = token_fate(authorization)
    by_form = form_fate(multipart, form)
    if by_token and by_form:
        return None
    if by_token:
        return by_token if form_is_usable(multipart, form) else None
    if by_form and status == 401:
        return None
    return by_form


def form_is_usable(multipart: bool, form: ScannedForm | None) -> bool:
    """A complete form with image1 whose images are inside the clear size window."""
    return multipart and form is not None and form.complete and form_fate(multipart, form) is None
