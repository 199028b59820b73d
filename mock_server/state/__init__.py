"""The state every worker (and, with Redis, every instance) shares: the request journal,
the runtime overrides and the sequences. :func:`open_store` picks the implementation."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Sequence as Seq
from pathlib import Path

from ..journal import Journal
from .base import JournalPage, JournalQuery, Snapshot, StateStore, StoreUnavailable, UnknownSequence

__all__ = [
    "JournalPage",
    "JournalQuery",
    "Snapshot",
    "StateStore",
    "StoreUnavailable",
    "UnknownSequence",
    "check_state_url",
    "open_store",
]

SCHEMES = ("redis://", "rediss://")


def check_state_url(url: str) -> str | None:
    """A sentence saying what is wrong with ``--state URL``, None when it can be used."""
    if url == "embedded":
        return None
    if not url.startswith(SCHEMES):
        return f"--state must be 'embedded' or redis://HOST:PORT/N, not {url.split('://')[0][:20]}://..."
    return None


def open_store(
    url: str | None,
    folder: Path | None,
    journal: bool,
    journal_limit: int,
    journal_max_bytes: int,
    examples: Seq[str],
) -> StateStore:
    """The Redis store for a ``redis://`` URL, else the embedded one in ``folder`` (a
    private temporary folder, removed with the store, when None)."""
    if url and url != "embedded":
        from .redis_store import RedisStore

        return RedisStore(url, examples, journal_limit, journal_max_bytes, journaling=journal)
    from .embedded import EmbeddedStore

    owned = folder is None
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="facematch-state-"))
    log = Journal(folder / "journal.jsonl", journal_limit, journal_max_bytes) if journal else None
    store = EmbeddedStore(folder, log, examples)
    if owned:
        weakref.finalize(store, shutil.rmtree, folder, True)
    return store
