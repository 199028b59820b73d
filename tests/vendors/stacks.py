"""The three vendor stacks, named once (the launcher starts them, bugs say where they run)."""

from __future__ import annotations

import enum


class Stack(enum.Enum):
    STDLIB = "stdlib"
    WERKZEUG = "werkzeug"
    ASYNCIO = "asyncio"
