"""Work areas left behind by a server that died (SIGKILL, power loss), removed at the next
start.

``facematch serve`` keeps its bulk jobs (input archives: photos) and its journal in
private temporary folders and removes them when it exits; a server that is killed cannot.
Each folder therefore holds the pid of the server that made it, and every start removes
the folders of this user whose server is no longer running.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

#: The temporary folders ``facematch serve`` makes (tempfile.mkdtemp prefixes).
PREFIXES = ("facematch-bulk-", "facematch-journal-", "facematch-tls-")
PID_FILE = "server.pid"


def make_work_area(prefix: str) -> Path:
    """A new private (0700) temporary folder that names this process as its server,
    removed when this process exits (not when a worker forked from it does)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    owner = os.getpid()
    (folder / PID_FILE).write_text(str(owner))

    def remove() -> None:
        if os.getpid() == owner:
            shutil.rmtree(folder, ignore_errors=True)

    atexit.register(remove)
    return folder


def remove_stale(root: Path | None = None) -> list[Path]:
    """Remove this user's work areas whose server is gone; return what was removed."""
    root = root or Path(tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for folder in entries:
        if not folder.name.startswith(PREFIXES) or folder.is_symlink() or not folder.is_dir():
            continue
        try:
            if folder.stat().st_uid != os.getuid():
                continue
            pid = int((folder / PID_FILE).read_text().strip())
        except (OSError, ValueError):
            continue  # not ours, or made by a version without a pid file: left alone
        if pid != os.getpid() and not process_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
