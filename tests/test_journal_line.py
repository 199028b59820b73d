"""The journal line every call of the operation writes is built by hand for speed
(``JournalEntry.json_line``): it must stay byte for byte what the generic JSON encoder
writes, or the readers (and the stores shared by instances of other versions) would differ."""

from __future__ import annotations

import json

import pytest

from mock_server.journal import JournalEntry, PartRecord

ENTRIES = [
    JournalEntry("2026-12-07T05:00:00.000Z", "POST", "/advanced_facematch", 200, "c" * 36),
    JournalEntry(
        "t",
        "POST",
        "/gw/advanced_facematch",
        429,
        'quote " back \\ slash',
        example="no_face",
        unique_id="ünïcode \u2028 \x00 ctl\n",
        parts=[
            PartRecord("image1", 70_000, "a.jpg", "image/jpeg", "a" * 64, "images/hopper_a.jpg"),
            PartRecord("image2", 0),
            PartRecord("unique_id", 5, None, "text/plain; charset=\u00e9", None, None),
        ],
        fault="reset",
    ),
]


@pytest.mark.parametrize("entry", ENTRIES)
def test_the_hand_built_line_is_the_generic_encoders(entry: JournalEntry) -> None:
    assert entry.json_line() == json.dumps(entry.as_dict(), separators=(",", ":"))
    assert JournalEntry.from_dict(json.loads(entry.json_line())) == entry
