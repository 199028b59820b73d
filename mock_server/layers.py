"""The state store's layers of one call's steering (mock_server/steering.py): the step of
the sequence the call falls in, and the runtime overrides (``/__mock/settings``).

Precedence, highest first: what the request asks for itself (``Prefer``, ``?__example``),
then the sequence step, then the runtime overrides, then the command line. A request that
asks for its own answer (an example or a fault) does not use up a sequence step. A
``normal`` step gives the engine's answer whatever the overrides and the command line say
about examples and faults (their latency still applies).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .runtime import NO_OVERRIDES, RuntimeOverrides
from .sequences import StepKind, match
from .state import Snapshot, StateStore, StoreUnavailable
from .steering import Steering, default_duration_ms

__all__ = ["NO_OVERRIDES", "NO_STEP", "LastSnapshot", "StepLayer", "latency_only", "sequence_step", "settings_layers"]


class LastSnapshot:
    """The last snapshot one worker read, used while the store cannot be reached."""

    def __init__(self) -> None:
        self.value = Snapshot()

    def read(self, store: StateStore) -> Snapshot:
        """Every call of the operation comes here: a plain ``try`` (no context manager)."""
        try:
            snapshot = store.snapshot()
        except StoreUnavailable:
            return self.value
        self.value = snapshot
        return snapshot


@dataclass(frozen=True)
class StepLayer:
    """A sequence step as a steering layer; ``normal`` silences the settings layers' example and faults."""

    steering: Steering
    normal: bool = False
    sequence: str | None = None
    position: int | None = None


NO_STEP = StepLayer(Steering())


def sequence_step(
    store: StateStore, snapshot: Snapshot, unique_id: str | None, headers: Mapping[str, str]
) -> StepLayer:
    """Take the next step of the first sequence the call falls in (NO_STEP when none, when
    the sequence tracks its bound of keys already, or when the store cannot be reached)."""
    matched = match(snapshot.sequences, unique_id, headers)
    if matched is None:
        return NO_STEP
    try:
        position = store.advance(matched.sequence, matched.key)
    except StoreUnavailable:
        return NO_STEP
    if position is None:
        return NO_STEP
    step = matched.sequence.step_at(position)
    name, where = matched.sequence.name, position
    if step.kind is StepKind.EXAMPLE:
        return StepLayer(Steering(example=step.name), sequence=name, position=where)
    fault = step.fault
    if step.kind is StepKind.FAULT and fault is not None:
        return StepLayer(Steering(fault=fault, fault_ms=default_duration_ms(fault)), sequence=name, position=where)
    return StepLayer(Steering(), normal=True, sequence=name, position=where)


def settings_layers(snapshot: Snapshot, command_line: tuple[RuntimeOverrides, ...]) -> tuple[RuntimeOverrides, ...]:
    """The runtime overrides (when any is set) above the command line's settings."""
    runtime = snapshot.overrides
    if runtime is NO_OVERRIDES or runtime == NO_OVERRIDES:  # the stores hand out NO_OVERRIDES itself
        return command_line
    return (runtime, *command_line)


def latency_only(layers: tuple[RuntimeOverrides, ...]) -> tuple[RuntimeOverrides, ...]:
    """What the settings layers still decide under a ``normal`` step."""
    return tuple(RuntimeOverrides(latency=layer.latency) for layer in layers if layer.latency is not None)
