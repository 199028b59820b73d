"""The one way the project writes a moment into a record: ISO 8601, UTC, with a ``Z``.

Bulk job records, the bulk client's results archive and the proxy's recordings and
reports all write ``2026-12-07T05:45:10.123Z`` (or, at ``timespec="seconds"``,
``2026-12-07T05:45:10Z``), so a reader parses every one of them the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_timestamp(moment: datetime | float | None = None, *, timespec: str = "milliseconds") -> str:
    """``moment`` (a datetime, a naive one read as local time; seconds since the epoch; or
    None for now) in UTC, to ``timespec`` (an :meth:`datetime.isoformat` precision)."""
    if moment is None:
        moment = datetime.now(UTC)
    elif not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")
