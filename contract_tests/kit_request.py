"""The requests the kit sends: their parts, their headers, and what the contract fixes for them."""

from __future__ import annotations

from dataclasses import dataclass

from facematch_contract.rules import FateName

from .expectations import Expectation

#: Use the kit's configured bearer token (the default for a request).
USE_TOKEN = "<token>"


@dataclass(frozen=True)
class Upload:
    """One file part of a multipart request."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None
    #: What the bytes are, for people reading a report ("fixture hopper_a.jpg, cropped").
    about: str = ""


@dataclass(frozen=True)
class KitRequest:
    """Everything needed to send one request to the operation, and what the contract fixes for it."""

    label: str
    uploads: tuple[Upload, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    #: USE_TOKEN, None for no Authorization header, or the literal header value to send.
    authorization: str | None = USE_TOKEN
    correlation_id: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    #: What the contract fixes for the answer; None when it fixes nothing beyond the rules.
    fate: FateName | None = FateName.USABLE
    #: For requests that are not multipart: the raw body and its Content-Type.
    raw_body: bytes | None = None
    raw_content_type: str | None = None
    #: image2 is sent in a form a server may read either way (a part without a file name may
    #: be taken as a text field): a 200 is judged in the mode the answer chose.
    image2_either_way: bool = False
    #: The profile expectations (SEM-*, GOLD-*) the answer is judged by, besides the rules.
    expects: tuple[Expectation, ...] = ()

    @property
    def sends_image2(self) -> bool:
        return any(upload.name == "image2" for upload in self.uploads)

    def describe(self) -> str:
        parts = [f"{u.name}={u.about or u.filename or '?'} ({len(u.data)} B)" for u in self.uploads]
        return self.label + (": " + ", ".join(parts) if parts else "")
