"""Sequences: a named list of answers a client walks through, one step per call.

A sequence is keyed either by the form field ``unique_id`` or by a header the definition
names (e.g. ``X-Session-ID``): every distinct key value has its own position, so two
sessions walk the same steps independently. Each step is a named example of the contract,
a fault (:class:`mock_server.faults.Fault`) or the engine's normal answer. What happens
after the last step is part of the definition (:class:`AfterLast`).

Definitions come from a YAML file (``facematch serve --sequences FILE``) or the admin API,
and live in the state store (:mod:`mock_server.state`) with the positions, so every worker
and every instance on one store walks the same sequence. This module is plain data and
parsing only; it knows nothing of the store or of Flask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import yaml

from .faults import Fault, fault_names

#: Bounds on what a client may define (the admin API) or a file may hold.
MAX_SEQUENCES = 64
MAX_STEPS = 100
#: Distinct keys (unique_id values or header values) one sequence keeps a position for;
#: a call with a new key past this bound gets the normal answer and is not tracked.
MAX_KEYS_PER_SEQUENCE = 10_000
MAX_KEY_LENGTH = 128
MAX_FILE_BYTES = 256 * 1024
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
HEADER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")
#: The form field a sequence is keyed by unless it names a header.
UNIQUE_ID = "unique_id"


class SequenceError(ValueError):
    """A definition that cannot be used, with a message for the user."""


class StepKind(Enum):
    EXAMPLE = "example"  # a named example of the contract
    FAULT = "fault"  # a fault, by its name in Fault
    NORMAL = "normal"  # the engine's normal answer


class AfterLast(Enum):
    """What a key gets once it has used every step."""

    STAY = "stay"  # the last step again, for ever (the default)
    REPEAT = "repeat"  # the first step again: the sequence cycles
    NORMAL = "normal"  # the engine's normal answer


@dataclass(frozen=True)
class Step:
    kind: StepKind
    #: The example's name, or the fault's value; None for NORMAL.
    name: str | None = None

    @property
    def fault(self) -> Fault | None:
        return Fault.named(self.name) if self.kind is StepKind.FAULT and self.name else None

    def to_json(self) -> object:
        return self.kind.value if self.kind is StepKind.NORMAL else {self.kind.value: self.name}


NORMAL_STEP = Step(StepKind.NORMAL)


@dataclass(frozen=True)
class Sequence:
    name: str
    steps: tuple[Step, ...]
    #: None: keyed by the form field unique_id; else the header that carries the key.
    header: str | None = None
    after_last: AfterLast = AfterLast.STAY

    def step_at(self, position: int) -> Step:
        """The step for a key's ``position``-th call (0-based)."""
        if position < len(self.steps):
            return self.steps[position]
        if self.after_last is AfterLast.REPEAT:
            return self.steps[position % len(self.steps)]
        if self.after_last is AfterLast.NORMAL:
            return NORMAL_STEP
        return self.steps[-1]

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "key": {"header": self.header} if self.header else UNIQUE_ID,
            "steps": [step.to_json() for step in self.steps],
            "after_last": self.after_last.value,
        }


def parse_sequence(data: object, examples: Iterable[str], name: str | None = None) -> Sequence:
    """One definition from its JSON/YAML form; ``name`` (from a URL) wins over ``data["name"]``.

    Raises SequenceError naming what is wrong."""
    if not isinstance(data, Mapping):
        raise SequenceError("a sequence must be an object with steps (and optionally name, key, after_last)")
    unknown = sorted(set(map(str, data)) - {"name", "key", "steps", "after_last"})
    if unknown:
        raise SequenceError(f"unknown sequence field {', '.join(unknown)}: use name, key, steps, after_last")
    given = data.get("name")
    if name is None:
        if not isinstance(given, str):
            raise SequenceError("a sequence needs a name")
        name = given
    elif given is not None and given != name:
        raise SequenceError(f"the body names sequence {given!r} but the URL names {name!r}")
    if not NAME_PATTERN.fullmatch(name):
        raise SequenceError(f"sequence name {name[:70]!r} must be 1-64 letters, digits, '_', '.' or '-'")
    label = f"sequence {name}"
    header = _parse_key(data.get("key", UNIQUE_ID), label)
    steps_data = data.get("steps")
    if not isinstance(steps_data, list) or not steps_data:
        raise SequenceError(f"{label}: steps must be a non-empty list")
    if len(steps_data) > MAX_STEPS:
        raise SequenceError(f"{label}: at most {MAX_STEPS} steps, not {len(steps_data)}")
    known = frozenset(examples)
    steps = tuple(_parse_step(item, known, f"{label}, step {index + 1}") for index, item in enumerate(steps_data))
    after = data.get("after_last", AfterLast.STAY.value)
    try:
        after_last = AfterLast(after)
    except ValueError:
        choices = ", ".join(choice.value for choice in AfterLast)
        raise SequenceError(f"{label}: after_last must be one of {choices}, not {after!r}") from None
    return Sequence(name, steps, header, after_last)


def _parse_key(key: object, label: str) -> str | None:
    if key == UNIQUE_ID:
        return None
    if isinstance(key, Mapping) and set(key) == {"header"} and isinstance(key["header"], str):
        header = key["header"]
        if not HEADER_PATTERN.fullmatch(header):
            raise SequenceError(f"{label}: key header {header[:70]!r} is not a header name")
        return header
    raise SequenceError(f'{label}: key must be "unique_id" or {{"header": NAME}}')


def _parse_step(item: object, examples: frozenset[str], label: str) -> Step:
    if item == StepKind.NORMAL.value:
        return NORMAL_STEP
    if isinstance(item, Mapping) and len(item) == 1:
        ((kind, value),) = item.items()
        if kind == StepKind.EXAMPLE.value and isinstance(value, str):
            if value not in examples:
                choices = ", ".join(sorted(examples))
                raise SequenceError(f"{label}: unknown example {value[:70]!r}; choose from {choices}")
            return Step(StepKind.EXAMPLE, value)
        if kind == StepKind.FAULT.value and isinstance(value, (str, int)) and not isinstance(value, bool):
            fault = Fault.named(str(value))
            if fault is None:
                choices = ", ".join(fault_names())
                raise SequenceError(f"{label}: unknown fault {str(value)[:70]!r}; choose from {choices}")
            return Step(StepKind.FAULT, fault.value)
    raise SequenceError(f'{label}: a step is "normal", {{"example": NAME}} or {{"fault": NAME}}')


def parse_sequences(data: object, examples: Iterable[str]) -> tuple[Sequence, ...]:
    """A whole file: ``{"sequences": [definition, ...]}``."""
    if not isinstance(data, Mapping) or set(data) != {"sequences"} or not isinstance(data["sequences"], list):
        raise SequenceError("the file must hold one key, sequences, with a list of definitions")
    names = list(examples)
    found = tuple(parse_sequence(item, names) for item in data["sequences"])
    check_bounds(found)
    return found


def check_bounds(sequences: Seq[Sequence]) -> None:
    if len(sequences) > MAX_SEQUENCES:
        raise SequenceError(f"at most {MAX_SEQUENCES} sequences may be defined, not {len(sequences)}")
    names = [sequence.name for sequence in sequences]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise SequenceError(f"sequence {', '.join(repeated)} is defined more than once")


def load_sequences_file(path: Path, examples: Iterable[str]) -> tuple[Sequence, ...]:
    """``facematch serve --sequences FILE``; SequenceError (with the file's name) on anything wrong."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SequenceError(f"{path}: over {MAX_FILE_BYTES // 1024} KiB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SequenceError(f"cannot read sequences file {path}: {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SequenceError(f"{path} is not valid YAML: {error}") from None
    try:
        return parse_sequences(data, examples)
    except SequenceError as error:
        raise SequenceError(f"{path}: {error}") from None


def sequences_from_json(data: object, examples: Iterable[str]) -> tuple[Sequence, ...]:
    """Definitions as the store keeps them (a JSON list); they were valid when stored, but a
    store shared with another version is read with the same checks."""
    if not isinstance(data, list):
        return ()
    names = list(examples)
    return tuple(parse_sequence(item, names) for item in data)


@dataclass(frozen=True)
class Matched:
    """A request that falls in a sequence: which one and under which key."""

    sequence: Sequence
    key: str


def match(sequences: Seq[Sequence], unique_id: str | None, headers: Mapping[str, str]) -> Matched | None:
    """The first sequence (in definition order) whose key the request carries."""
    for sequence in sequences:
        key = headers.get(sequence.header) if sequence.header else unique_id
        if key and len(key) <= MAX_KEY_LENGTH:
            return Matched(sequence, key)
    return None
