"""Where a gunicorn worker's time goes: py-spy raw samples folded into a few buckets.

    python -m bench.profile_summary bench/results/profile-*.txt

Each sample is a stack (outermost first); it is counted once, in the first bucket whose test
matches, so the buckets add up to 100 %. Recorded with ``py-spy record --gil``, a sample is
taken only from the thread holding the GIL, i.e. the Python work that limits throughput;
hashing and JPEG decoding run with the GIL released and show up only through the Python
code around them.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

#: (bucket, test on the joined stack), first match wins.
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("gunicorn access log", ("Logger.access (gunicorn/glogging.py", "LeanAccessLogger.access (mock_server/cli.py")),
    ("operation: multipart reader", ("(mock_server/uploads.py",)),
    ("operation: form contract check", ("(mock_server/form.py",)),
    ("operation: bearer token", ("VerifiedTokens", "(mock_server/auth.py")),
    ("operation: image checks (hash, cached decode)", ("(mock_server/images.py",)),
    (
        "operation: engine, rules, JSON (or cached answer)",
        ("Answers.body", "(mock_server/engines/", "(mock_server/answer.py", "(mock_server/jsonbody.py"),
    ),
    ("operation: journal", ("(mock_server/journal.py", "_entry (mock_server/api.py")),
    ("operation: named example / other", ("(mock_server/api.py",)),
    ("hooks: correlation id, CORS", ("(mock_server/app.py", "(mock_server/cors.py")),
    ("Flask/Werkzeug request handling", ("(flask/", "(werkzeug/")),
    ("gunicorn: parse, read, respond, poll", ("(gunicorn/",)),
)


def summarise(paths: list[Path]) -> list[tuple[str, float]]:
    counts: Counter[str] = Counter()
    total = 0
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, number = line.rpartition(" ")
            if not stack or not number.isdigit():
                continue
            samples = int(number)
            total += samples
            for name, needles in BUCKETS:
                if any(needle in stack for needle in needles):
                    counts[name] += samples
                    break
            else:
                counts["other"] += samples
    return [(name, 100 * counts[name] / total) for name, _ in (*BUCKETS, ("other", ())) if total and counts[name]]


def main(argv: list[str]) -> int:
    paths = [Path(arg) for arg in argv]
    for name, share in summarise(paths):
        print(f"  {share:5.1f} %  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
