"""What the operation is asked to do for one request besides answering it, and from where.

A request is steered by layers, highest first:

1. the request itself: ``Prefer: fault=NAME``, ``fault-ms=N``, ``delay=SPEC``
   (:func:`from_prefer`, from the header parsed once: :class:`~mock_server.scenarios.Preferences`;
   ``example=``/``code=`` are read by :mod:`mock_server.scenarios`);
2. the current step of a sequence (explicit, like the request);
3. the runtime overrides of the admin API, then the command line (``--faults``,
   ``--fault-rate``, ``--fault-seed``, ``--latency``): settings that decide per request,
   expressed alike as :class:`~mock_server.runtime.RuntimeOverrides`.

:func:`combine` folds them field by field: the first layer that says something about a
field decides it. A fault and its duration travel together (a ``fault-ms`` belongs to the
``fault`` of its own layer). Among the settings layers, the first that has a fault policy
decides the fault for this request, even when its draw is "no fault".
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import ApiError, ErrorKind
from .faults import (
    DEFAULT_HANG_MS,
    DEFAULT_SLOW_MS,
    MAX_DELAY_MS,
    Delay,
    Fault,
    fault_names,
    parse_delay,
    parse_duration_ms,
)
from .runtime import RuntimeOverrides
from .scenarios import Preferences


@dataclass(frozen=True)
class Steering:
    """One request's orders: an example to answer with (None: the operation decides), a
    fault with its duration in milliseconds (``hang`` and ``slow`` only), a delay."""

    example: str | None = None
    fault: Fault | None = None
    fault_ms: int = 0
    delay: Delay | None = None


#: A request nobody steers.
PLAIN = Steering()


def default_duration_ms(fault: Fault) -> int:
    """How long a timed fault lasts when no ``fault-ms`` is given (0 for the others)."""
    if fault is Fault.HANG:
        return DEFAULT_HANG_MS
    if fault is Fault.SLOW:
        return DEFAULT_SLOW_MS
    return 0


def from_prefer(preferences: Preferences) -> Steering:
    """The request's own layer, from its ``Prefer`` header (parsed once per call, by the
    operation); 422 on a value it cannot use.

    ``fault-ms`` without ``fault`` in the same header is checked and has no effect."""
    if preferences.fault is None and preferences.fault_ms is None and preferences.delay is None:
        return PLAIN  # the common case
    fault: Fault | None = None
    name = preferences.fault
    if name is not None:
        fault = Fault.named(name)
        if fault is None:
            raise ApiError(
                ErrorKind.UNKNOWN_FAULT,
                {"name": name},
                extra={"field": "Prefer", "available": fault_names()},
            )
    duration = preferences.fault_ms
    fault_ms = default_duration_ms(fault) if fault is not None else 0
    if duration is not None:
        try:
            given = parse_duration_ms(duration)
        except ValueError as error:
            raise ApiError(
                ErrorKind.INVALID_FAULT_MS, {"reason": str(error), "limit": MAX_DELAY_MS}, extra={"field": "Prefer"}
            ) from None
        if fault is not None:
            fault_ms = given
    delay: Delay | None = None
    spec = preferences.delay
    if spec is not None:
        try:
            delay = parse_delay(spec)
        except ValueError as error:
            raise ApiError(ErrorKind.INVALID_DELAY, {"reason": str(error)}, extra={"field": "Prefer"}) from None
    return Steering(fault=fault, fault_ms=fault_ms, delay=delay)


def combine(
    explicit: Sequence[Steering], settings: Sequence[RuntimeOverrides], key: str, rng: random.Random
) -> Steering:
    """Fold the layers, highest first: ``explicit`` ones (the request, a sequence step),
    then ``settings`` ones (runtime overrides, the command line). ``key`` keys a seeded
    fault policy's draw (the client's correlation id, else the request number)."""
    example = next((layer.example for layer in explicit if layer.example is not None), None)
    delay = next((layer.delay for layer in explicit if layer.delay is not None), None)
    chosen = next((layer for layer in explicit if layer.fault is not None), None)
    fault, fault_ms = (chosen.fault, chosen.fault_ms) if chosen is not None else (None, 0)
    if example is None:
        example = next((layer.default_scenario for layer in settings if layer.default_scenario), None)
    if delay is None:
        delay = next((layer.latency for layer in settings if layer.latency is not None), None)
    if chosen is None:
        policy = next((layer.faults for layer in settings if layer.faults is not None), None)
        if policy is not None:
            fault = policy.choose(key, rng)
            fault_ms = default_duration_ms(fault) if fault is not None else 0
    if example is None and fault is None and delay is None:
        return PLAIN
    return Steering(example=example, fault=fault, fault_ms=fault_ms, delay=delay)
