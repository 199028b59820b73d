"""The state store's layers of one call's answer: the sequence step and the runtime
overrides (``/__mock/settings``).

Precedence, highest first: what the request asks for itself (``Prefer``, ``?__example``),
then the step of the sequence it falls in, then the runtime overrides, then the command
line. A request that asks for its own answer does not use up a sequence step.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass

from .faults import Delay, Fault
from .sequences import StepKind, match
from .state import Snapshot, StateStore, StoreUnavailable

log = logging.getLogger("facematch")


@dataclass(frozen=True)
class StateLayers:
    #: A named example to answer with.
    example: str | None = None
    #: A fault to carry out instead of answering.
    fault: Fault | None = None
    #: The runtime latency (None: the command line's).
    latency: Delay | None = None
    #: The sequence whose step decided, and the step's index (for logs and the journal).
    sequence: str | None = None
    step: int | None = None


NO_LAYERS = StateLayers()


class LastSnapshot:
    """The last snapshot one worker read, used while the store cannot be reached."""

    def __init__(self) -> None:
        self.value = Snapshot()

    def read(self, store: StateStore) -> Snapshot:
        try:
            self.value = store.snapshot()
        except StoreUnavailable:
            pass
        return self.value


def state_layers(
    store: StateStore,
    last: LastSnapshot,
    unique_id: str | None,
    headers: Mapping[str, str],
    fault_key: str,
    rng: random.Random,
) -> StateLayers:
    snapshot = last.read(store)
    overrides = snapshot.overrides
    matched = match(snapshot.sequences, unique_id, headers) if snapshot.sequences else None
    if matched is not None:
        try:
            position = store.advance(matched.sequence, matched.key)
        except StoreUnavailable:
            position = None  # the store is down: no step, the layers below decide
        if position is not None:
            step = matched.sequence.step_at(position)
            chosen = StateLayers(latency=overrides.latency, sequence=matched.sequence.name, step=position)
            if step.kind is StepKind.EXAMPLE:
                return StateLayers(step.name, None, overrides.latency, matched.sequence.name, position)
            if step.kind is StepKind.FAULT:
                return StateLayers(None, step.fault, overrides.latency, matched.sequence.name, position)
            return chosen  # the engine's normal answer, whatever the overrides say
    fault = overrides.faults.choose(fault_key, rng) if overrides.faults is not None else None
    if overrides.default_scenario is None and fault is None and overrides.latency is None:
        return NO_LAYERS
    return StateLayers(overrides.default_scenario, fault, overrides.latency)
