"""Bulk input archives, in-process: case discovery, every hostile kind, the limits, and the
results writer (columns from the contract, atomic writes)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from facematch_bulk.archive import ArchiveLimits, ArchiveRefused, InputArchive
from facematch_bulk.results import load_columns, write_archive

from .bulk_builders import NOT_SENT_CASES, SENT_CASES, hostile_archives, image, regression_set, zip_bytes
from .test_bulk_cli import COLUMNS_200

HOSTILE = hostile_archives()


def open_bytes(data: bytes, limits: ArchiveLimits | None = None) -> InputArchive:
    return InputArchive(io.BytesIO(data), limits)


def test_both_layouts_are_found_sorted_by_case_id() -> None:
    archive = open_bytes(zip_bytes(regression_set()))
    assert [case.id for case in archive.cases] == SENT_CASES
    by_id = {case.id: case for case in archive.cases}
    assert by_id["pairs/same"].image1 == "pairs/same/image1.jpg"
    assert by_id["pairs/same"].image2 == "pairs/same/image2.jpg"
    assert by_id["pairs/same"].unique_id == "ref-same-001"
    assert by_id["flat1"].image2 == "flat1_image2.jpg" and by_id["flat1"].unique_id == "flat-ref"
    assert by_id["pairs/mismatch"].image1 == "pairs/mismatch/image1.JPG"  # extensions in any case
    assert by_id["single-webp"].image2 is None
    assert archive.read("pairs/same/image1.jpg") == image("hopper_a.jpg")
    assert archive.discovery.ignored == ["README.txt"]  # __MACOSX junk is skipped silently


def test_cases_that_cannot_be_sent_are_reported_with_the_reason() -> None:
    archive = open_bytes(zip_bytes(regression_set()))
    problems = {problem.case: problem for problem in archive.problems}
    assert sorted(problems) == NOT_SENT_CASES
    assert "unsupported extension (.gif)" in problems["gif"].reason
    assert problems["gif"].entry == "gif/image1.gif"
    assert "no image1" in problems["lonely"].reason


def test_two_files_for_one_role_and_oversized_unique_id_are_case_problems() -> None:
    archive = open_bytes(
        zip_bytes(
            {
                "a/image1.jpg": image("hopper_a.jpg"),
                "a/image1.png": image("astronaut_alpha.png"),
                "b/image1.jpg": image("hopper_a.jpg"),
                "b/unique_id.txt": b"x" * 2000,
                "c/image1.jpg": image("hopper_a.jpg"),
            }
        )
    )
    assert [case.id for case in archive.cases] == ["c"]
    reasons = {problem.case: problem.reason for problem in archive.problems}
    assert "more than one image1" in reasons["a"]
    assert "unique_id.txt is over" in reasons["b"]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_archives_are_refused_with_a_clear_reason(kind: str) -> None:
    data, phrase = HOSTILE[kind]
    with pytest.raises(ArchiveRefused) as refused:
        open_bytes(data)
    assert phrase in str(refused.value)


def test_a_lying_bomb_is_caught_by_the_bytes_actually_decompressed() -> None:
    data, _ = HOSTILE["lying-bomb"]
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("c2/image1.jpg")
    assert info.file_size == 2000  # the headers claim a small entry
    with pytest.raises(ArchiveRefused, match="expands past the per-entry limit"):
        open_bytes(data)


def test_a_forged_size_under_the_limit_is_refused_too() -> None:
    from .bulk_builders import _patched

    data = _patched(zip_bytes({"c1/image1.jpg": b"\x00" * 50_000}), b"c1/image1.jpg", 40_000)
    with pytest.raises(ArchiveRefused, match="forged size"):
        open_bytes(data)


def test_total_expansion_limit_counts_every_entry() -> None:
    entries = {f"c{i}/image1.jpg": bytes(4000) for i in range(5)}
    limits = ArchiveLimits(max_total_bytes=15_000)
    with pytest.raises(ArchiveRefused, match="expands to more than 15000 bytes"):
        open_bytes(zip_bytes(entries), limits)


def test_archive_file_size_limit() -> None:
    with pytest.raises(ArchiveRefused, match="over the limit of 1000 bytes"):
        open_bytes(zip_bytes({"c/image1.jpg": image("hopper_a.jpg")}), ArchiveLimits(max_archive_bytes=1000))


def test_entry_limit_is_inclusive() -> None:
    entries = {f"c{i}/image1.jpg": image("tiny.jpg") for i in range(10)}
    assert len(open_bytes(zip_bytes(entries), ArchiveLimits(max_entries=10)).cases) == 10
    with pytest.raises(ArchiveRefused, match="11 entries"):
        open_bytes(zip_bytes({**entries, "c10/image1.jpg": b"x"}), ArchiveLimits(max_entries=10))


def test_nothing_is_extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "in.zip"
    path.write_bytes(zip_bytes(regression_set()))
    with InputArchive(path) as archive:
        for case in archive.cases:
            archive.read(case.image1)
    assert [p.name for p in tmp_path.iterdir()] == ["in.zip"]


def test_result_columns_come_from_the_contract() -> None:
    assert load_columns() == COLUMNS_200


def test_results_are_written_atomically(tmp_path: Path) -> None:
    destination = tmp_path / "out.zip"
    destination.write_bytes(b"previous")

    members = {"results.csv": b"a,b\n", "broken": object()}  # writestr fails half-way
    with pytest.raises(TypeError):
        write_archive(destination, members)  # type: ignore[arg-type]  # a non-bytes member on purpose
    assert destination.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zip"]
    write_archive(destination, {"results.csv": b"a,b\n"})
    assert zipfile.ZipFile(destination).read("results.csv") == b"a,b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zip"]
