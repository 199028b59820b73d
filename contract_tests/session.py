"""The kit's per-process state: its settings (from the pytest options) and its recorder.

Set by the kit's pytest plugin (:mod:`.plugin`) in ``pytest_configure``, so test modules can read the settings
while they are collected (schemathesis builds its tests at import time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .profiles import KitConfig
from .recorder import Recorder
from .verdict import Judgement


@dataclass
class Session:
    config: KitConfig | None = None
    recorder: Recorder = field(default_factory=Recorder)
    started: float = field(default_factory=time.time)
    #: Set when the run ends (pytest_sessionfinish).
    judgement: Judgement | None = None


CURRENT = Session()
