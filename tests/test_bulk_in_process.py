"""The mock's bulk jobs hand each case to the operation in process (mock_server/bulk/sender.py):
the answers are byte for byte those of the same request over HTTP, and the in-process mark
that stands in for a token cannot be sent by a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from facematch_bulk.archive import InputArchive
from facematch_bulk.runner import HttpSender
from facematch_contract.operation import OPERATION_PATH
from mock_server.app import create_app
from mock_server.auth import IN_PROCESS_KEY
from mock_server.bulk.sender import InProcessSender, in_app_gate
from mock_server.config import Settings

from .bulk_builders import SENT_CASES, regression_set, write, zip_bytes

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InputArchive]:
    path = write(tmp_path_factory.mktemp("in-process") / "cases.zip", zip_bytes(regression_set()))
    with InputArchive(path) as opened:
        yield opened


def test_in_process_answers_are_the_http_answers(archive: InputArchive, mock_url: str, token: str) -> None:
    """Every kind of case (two photos, one photo, PNG/WebP, refused images): the same status,
    media type and body bytes as the live strict server gives the CLI's request."""
    in_process = InProcessSender(create_app(Settings(strict=True)), in_app_gate())
    over_http = HttpSender(mock_url, token)
    assert sorted(case.id for case in archive.cases) == sorted(SENT_CASES)
    statuses = set()
    for case in archive.cases:
        image1 = archive.read(case.image1)
        image2 = archive.read(case.image2) if case.image2 else None
        local, remote = in_process.send(case, image1, image2), over_http.send(case, image1, image2)
        assert (local.status, local.content_type) == (remote.status, remote.content_type), case.id
        assert local.body == remote.body, case.id
        statuses.add(local.status)
    assert statuses == {200, 400}  # both the answer and the refusal paths were compared


def test_the_in_process_mark_cannot_come_from_a_client(mock_url: str, tmp_path: Path) -> None:
    """Without a token a request is refused, whatever it claims: a header named like the mark
    (over HTTP), or the mark's environ key with a value that is not the process's own object."""
    files = {"image1": ("a.jpg", regression_set()["pairs/same/image1.jpg"], "image/jpeg")}
    for name in ("facematch.in-process", "Facematch-In-Process", "X-Facematch-In-Process"):
        response = requests.post(mock_url + OPERATION_PATH, files=files, headers={name: "1"}, timeout=30)
        assert response.status_code == 401, name
    client = create_app(Settings()).test_client()
    photo = write(tmp_path / "a.jpg", files["image1"][1])
    for forged in ("1", True, object()):
        with photo.open("rb") as handle:
            response = client.post(
                OPERATION_PATH, data={"image1": (handle, "a.jpg")}, environ_overrides={IN_PROCESS_KEY: forged}
            )
        assert response.status_code == 401, forged
