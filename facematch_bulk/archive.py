"""Reading a bulk input ZIP: checks against hostile archives, then case discovery.

An archive is checked as a whole before any case is sent. Anything hostile refuses the
whole archive with an :class:`ArchiveRefused` (the CLI prints it, the server answers 400):
names with ``..`` or an absolute path, symlinks, encrypted entries, nested archives, more
entries than allowed, and entries that expand past the limits. Expansion is measured on the
bytes actually decompressed (every entry is streamed once, in bounded chunks, and its CRC
checked), not only on the sizes the archive declares. Nothing is ever extracted to disk:
images are read from the ZIP into memory one case at a time, when the case is sent.

Two layouts are recognised, and may be mixed (``CASE`` may itself contain folders; the case
id is the entry's path without the role part)::

    CASE/image1.jpg   CASE/image2.png   CASE/unique_id.txt      (a folder per case)
    CASE_image1.jpg   CASE_image2.webp  CASE_unique_id.txt      (flat)

A case the archive describes but that cannot be sent (no image1, an unsupported extension,
two files for one role, an unreadable unique_id.txt) is reported as a :class:`CaseProblem`;
the other cases are still sent.
"""

from __future__ import annotations

import re
import stat
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

#: Image extensions a case may use (case-insensitive).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
#: Roles of the files of a case, in the order they are sent.
IMAGE_ROLES = ("image1", "image2")
UNIQUE_ID_ROLE = "unique_id"
#: Extensions that mark an archive inside the archive (refused).
ARCHIVE_EXTENSIONS = (".zip", ".jar", ".apk", ".7z", ".rar", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".zst")
#: Leading bytes of common archive formats (refused whatever the entry's name).
ARCHIVE_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
)
#: Entries that archivers add on their own; skipped without a word.
JUNK_PARTS = ("__MACOSX",)
JUNK_NAMES = (".DS_Store", "Thumbs.db", "desktop.ini")
READ_CHUNK = 1024 * 1024
#: unique_id.txt larger than this is not a caller reference (the contract allows 128 chars).
MAX_UNIQUE_ID_BYTES = 1024

FLAT_NAME = re.compile(r"^(?P<case>.+)_(?P<role>image1|image2|unique_id)(?P<ext>\.[^./]*)?$", re.IGNORECASE)
FOLDER_NAME = re.compile(r"^(?P<role>image1|image2|unique_id)(?P<ext>\.[^./]*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what one input archive may hold."""

    #: Size of the ZIP file itself.
    max_archive_bytes: int = 200 * 1024 * 1024
    #: Entries in the central directory, folders included.
    max_entries: int = 5000
    #: Bytes all entries decompress to, together.
    max_total_bytes: int = 1024 * 1024 * 1024
    #: The inflated-size budget of one archive: all entries together may decompress to at
    #: most this many times the archive's own size (photos barely compress, so a real case
    #: archive is near 1x), or ``inflation_floor`` bytes for a small archive, and never more
    #: than ``max_total_bytes``. A 1 MB ZIP inflating to 1 GiB is refused.
    max_inflation_ratio: int = 20
    inflation_floor: int = 64 * 1024 * 1024

    def inflated_budget(self, archive_bytes: int) -> int:
        return min(self.max_total_bytes, max(self.inflation_floor, self.max_inflation_ratio * archive_bytes))

    #: Bytes one entry may decompress to (above the contract's 10 MiB image maximum, so an
    #: implementation's answer to a too-large image can still be recorded).
    max_entry_bytes: int = 16 * 1024 * 1024


class ArchiveRefused(Exception):
    """The archive as a whole cannot be used; the message says why, for a person."""


@dataclass(frozen=True)
class Case:
    """One request to send: the ZIP entry names of its images and its optional reference."""

    id: str
    image1: str
    image2: str | None = None
    unique_id: str | None = None


@dataclass(frozen=True)
class CaseProblem:
    """A case (or a file claiming a role in one) that will not be sent, and why."""

    case: str
    entry: str
    reason: str


def cases_of(problems: Iterable[CaseProblem]) -> list[str]:
    """The cases some problems name, each once, sorted: a case may have several problems,
    and every count of refused or unsent cases is the length of this list."""
    return sorted({problem.case for problem in problems})


@dataclass
class Discovery:
    cases: list[Case] = field(default_factory=list)
    problems: list[CaseProblem] = field(default_factory=list)
    #: Entries that belong to no case (other than archiver junk), for the summary.
    ignored: list[str] = field(default_factory=list)


def _name_problem(name: str) -> str | None:
    """Why an entry name is hostile, or None."""
    if "\x00" in name:
        return "contains a NUL byte"
    path = name.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return "is an absolute path"
    if ".." in path.split("/"):
        return "climbs out of the archive with '..'"
    return None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


def _is_junk(path: PurePosixPath) -> bool:
    return any(part in JUNK_PARTS for part in path.parts) or path.name in JUNK_NAMES or path.name.startswith("._")


class InputArchive:
    """An input ZIP, checked on opening; images are read from it on demand (thread-safe)."""

    def __init__(self, source: str | Path | BinaryIO, limits: ArchiveLimits | None = None) -> None:
        self.limits = limits or ArchiveLimits()
        self._lock = threading.Lock()
        self.archive_bytes = 0
        self._zip = self._open(source)
        self.inflated_budget = self.limits.inflated_budget(self.archive_bytes)
        self._owns_raw = isinstance(source, (str, Path))
        self._raw: BinaryIO = open(source, "rb") if isinstance(source, (str, Path)) else source
        try:
            self._infos = self._check_entries()
            self._check_contents()
            self.discovery = discover(self._zip, self._infos)
        except BaseException:
            self.close()
            raise

    # -- opening and checking ------------------------------------------------------------
    def _open(self, source: str | Path | BinaryIO) -> zipfile.ZipFile:
        if isinstance(source, (str, Path)):
            try:
                size = Path(source).stat().st_size
            except OSError as error:
                raise ArchiveRefused(f"cannot read the archive: {error.strerror or error}") from error
        else:
            size = source.seek(0, 2)
            source.seek(0)
        self.archive_bytes = size
        if size == 0:
            raise ArchiveRefused("the archive is empty (0 bytes)")
        if size > self.limits.max_archive_bytes:
            raise ArchiveRefused(
                f"the archive is {size} bytes, over the limit of {self.limits.max_archive_bytes} bytes"
            )
        try:
            return zipfile.ZipFile(source)
        except zipfile.BadZipFile as error:
            raise ArchiveRefused("not a ZIP archive") from error
        except (OSError, ValueError, EOFError) as error:
            raise ArchiveRefused(f"not a readable ZIP archive: {error}") from error

    def _check_entries(self) -> dict[str, zipfile.ZipInfo]:
        """Central-directory checks: count, names, types, declared sizes, duplicates."""
        infos = self._zip.infolist()
        limits = self.limits
        if not infos:
            raise ArchiveRefused("the archive has no entries")
        if len(infos) > limits.max_entries:
            raise ArchiveRefused(f"the archive has {len(infos)} entries, over the limit of {limits.max_entries}")
        by_name: dict[str, zipfile.ZipInfo] = {}
        declared = 0
        for info in infos:
            name = info.filename
            problem = _name_problem(name)
            if problem:
                raise ArchiveRefused(f"entry {name!r} {problem}")
            if _is_symlink(info):
                raise ArchiveRefused(f"entry {name!r} is a symbolic link")
            if info.flag_bits & 0x1:
                raise ArchiveRefused(f"entry {name!r} is encrypted")
            if info.is_dir():
                continue
            if name in by_name:
                raise ArchiveRefused(f"entry {name!r} appears more than once")
            if name.lower().endswith(ARCHIVE_EXTENSIONS):
                raise ArchiveRefused(f"entry {name!r} is an archive inside the archive (nested archives are refused)")
            if info.file_size > limits.max_entry_bytes:
                raise ArchiveRefused(
                    f"entry {name!r} expands to {info.file_size} bytes, over the per-entry limit "
                    f"of {limits.max_entry_bytes} bytes"
                )
            declared += info.file_size
            if declared > self.inflated_budget:
                raise ArchiveRefused(f"the archive expands to more than {self._budget_text()}")
            by_name[name] = info
        if not by_name:
            raise ArchiveRefused("the archive has no files (only folders)")
        return by_name

    def _check_contents(self) -> None:
        """Stream every entry once: actual decompressed sizes, CRCs, nested-archive bytes."""
        total = 0
        for name, info in self._infos.items():
            if _is_junk(PurePosixPath(name)):
                continue
            try:
                size, first = self._measure(info, total)
            except ArchiveRefused:
                raise
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, struct.error) as error:
                raise ArchiveRefused(f"entry {name!r} is corrupt: {error}") from error
            except NotImplementedError as error:
                raise ArchiveRefused(f"entry {name!r} uses an unsupported compression method: {error}") from error
            total += size
            if size != info.file_size:
                raise ArchiveRefused(
                    f"entry {name!r} expands to {size} bytes but declares {info.file_size} (a forged size)"
                )
            if first.startswith(ARCHIVE_MAGIC):
                raise ArchiveRefused(f"entry {name!r} is an archive inside the archive (nested archives are refused)")

    def _measure(self, info: zipfile.ZipInfo, total_before: int) -> tuple[int, bytes]:
        """Decompress one entry without trusting its declared size; (bytes out, first bytes).

        Stored and deflated entries (what archivers write) are decompressed here from the
        raw data, in bounded steps, until the compressed stream really ends; other methods
        go through :mod:`zipfile`, which stops at the declared size and checks the CRC.
        """
        name = info.filename
        size = 0
        first = b""
        crc = 0
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            with self._zip.open(info) as entry:
                while chunk := entry.read(READ_CHUNK):
                    first = first or chunk[:8]
                    size += len(chunk)
                    self._check_expansion(name, size, total_before + size)
            return size, first
        with self._lock:
            raw = self._raw
            raw.seek(info.header_offset)
            header = raw.read(30)
            if len(header) != 30 or header[:4] != b"PK\x03\x04":
                raise ArchiveRefused(f"entry {name!r} is corrupt: bad local header")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            raw.seek(info.header_offset + 30 + name_length + extra_length)
            left = info.compress_size
            inflate = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
            while True:
                if inflate is not None and inflate.unconsumed_tail:
                    data = inflate.unconsumed_tail
                elif left > 0:
                    data = raw.read(min(READ_CHUNK, left))
                    if not data:
                        raise ArchiveRefused(f"entry {name!r} is corrupt: its data is truncated")
                    left -= len(data)
                else:
                    data = b""
                # At most one chunk of output per step, however well the input compresses.
                chunk = inflate.decompress(data, READ_CHUNK) if inflate is not None else data
                if not chunk and not data:
                    break
                first = first or chunk[:8]
                size += len(chunk)
                crc = zlib.crc32(chunk, crc)
                self._check_expansion(name, size, total_before + size)
                if inflate is not None and inflate.eof:
                    break
            if inflate is not None and not inflate.eof:
                raise ArchiveRefused(f"entry {name!r} is corrupt: its compressed data ends early")
        if (crc & 0xFFFFFFFF) != info.CRC:
            raise ArchiveRefused(f"entry {name!r} is corrupt: bad CRC-32")
        return size, first

    def _check_expansion(self, name: str, size: int, total: int) -> None:
        limits = self.limits
        if size > limits.max_entry_bytes:
            raise ArchiveRefused(f"entry {name!r} expands past the per-entry limit of {limits.max_entry_bytes} bytes")
        if total > self.inflated_budget:
            raise ArchiveRefused(f"the archive expands past {self._budget_text()}")

    def _budget_text(self) -> str:
        limits = self.limits
        return (
            f"{self.inflated_budget} bytes, its inflated-size budget ({limits.max_inflation_ratio}x its own "
            f"{self.archive_bytes} bytes, at least {limits.inflation_floor}, at most {limits.max_total_bytes})"
        )

    # -- use -----------------------------------------------------------------------------
    @property
    def cases(self) -> list[Case]:
        return self.discovery.cases

    @property
    def problems(self) -> list[CaseProblem]:
        return self.discovery.problems

    @property
    def refused_cases(self) -> list[str]:
        """The cases the archive check refused (they are never sent)."""
        return cases_of(self.problems)

    def read(self, name: str) -> bytes:
        """The bytes of one entry, bounded by the per-entry limit (checked again while reading)."""
        info = self._infos[name]
        chunks: list[bytes] = []
        size = 0
        with self._lock, self._zip.open(info) as entry:
            while True:
                chunk = entry.read(READ_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.limits.max_entry_bytes:
                    raise ArchiveRefused(
                        f"entry {name!r} expands past the per-entry limit of {self.limits.max_entry_bytes} bytes"
                    )
                chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._zip.close()
        if self._owns_raw and not self._raw.closed:
            self._raw.close()

    def __enter__(self) -> InputArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _Slots:
    files: dict[str, list[str]] = field(default_factory=dict)  # role -> entry names
    bad: list[tuple[str, str, str]] = field(default_factory=list)  # (entry, role, reason)


def discover(archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo]) -> Discovery:
    """Group entries into cases; sorted by case id so two runs list cases in the same order."""
    slots: dict[str, _Slots] = {}
    found = Discovery()
    for name in sorted(infos):
        path = PurePosixPath(name.replace("\\", "/"))
        if _is_junk(path):
            continue
        parent = str(path.parent) if str(path.parent) != "." else ""
        folder = FOLDER_NAME.match(path.name)
        flat = FLAT_NAME.match(path.name)
        if folder and parent:
            case, role, ext = parent, folder["role"].lower(), (folder["ext"] or "").lower()
        elif flat:
            case = f"{parent}/{flat['case']}" if parent else flat["case"]
            role, ext = flat["role"].lower(), (flat["ext"] or "").lower()
        else:
            found.ignored.append(name)
            continue
        slot = slots.setdefault(case, _Slots())
        if role == UNIQUE_ID_ROLE:
            if ext != ".txt":
                slot.bad.append((name, role, f"{role} must be a .txt file, not {ext or 'a file without extension'}"))
                continue
        elif ext not in IMAGE_EXTENSIONS:
            shown = ext or "no extension"
            slot.bad.append(
                (name, role, f"{role} has an unsupported extension ({shown}); use .jpg .jpeg .png or .webp")
            )
            continue
        slot.files.setdefault(role, []).append(name)

    for case in sorted(slots):
        slot = slots[case]
        problems = [CaseProblem(case, entry, reason) for entry, _, reason in slot.bad]
        for role, names in slot.files.items():
            if len(names) > 1:
                problems.append(CaseProblem(case, ", ".join(names), f"more than one {role} file"))
        if "image1" not in slot.files and not any(role == "image1" for _, role, _ in slot.bad):
            problems.append(CaseProblem(case, "", "no image1 file (expected CASE/image1.<ext> or CASE_image1.<ext>)"))
        unique_id: str | None = None
        if not problems and UNIQUE_ID_ROLE in slot.files:
            unique_id, reason = _read_unique_id(archive, infos[slot.files[UNIQUE_ID_ROLE][0]])
            if reason:
                problems.append(CaseProblem(case, slot.files[UNIQUE_ID_ROLE][0], reason))
        if problems:
            found.problems.extend(problems)
            continue
        found.cases.append(
            Case(
                id=case,
                image1=slot.files["image1"][0],
                image2=slot.files["image2"][0] if "image2" in slot.files else None,
                unique_id=unique_id,
            )
        )
    if not found.cases and not found.problems:
        raise ArchiveRefused(
            "no cases found: expected CASE/image1.jpg (a folder per case) or CASE_image1.jpg (flat), "
            "with .jpg .jpeg .png or .webp images"
        )
    return found


def _read_unique_id(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str | None, str | None]:
    if info.file_size > MAX_UNIQUE_ID_BYTES:
        return None, f"unique_id.txt is over {MAX_UNIQUE_ID_BYTES} bytes"
    with archive.open(info) as entry:
        data = entry.read(MAX_UNIQUE_ID_BYTES + 1)
    if len(data) > MAX_UNIQUE_ID_BYTES:
        return None, f"unique_id.txt is over {MAX_UNIQUE_ID_BYTES} bytes"
    try:
        text = data.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        return None, "unique_id.txt is not UTF-8 text"
    return (text or None), None
