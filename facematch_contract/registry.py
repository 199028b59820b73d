"""Checks registered by a decorator, each with the guards that say when it applies.

A check's body is a small function with one job: it writes what it finds into a
:class:`~.verdicts.Findings`. When it applies is declared once, as named :class:`Guard`
objects on the registration, instead of an ``if ...: return None`` at the top of every
body. A :class:`Registry` keeps its checks in the order they were registered, which is the
order reports list them in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from .verdicts import Findings, RuleVerdict

Subject = TypeVar("Subject")


@dataclass(frozen=True)
class Guard(Generic[Subject]):
    """A named condition a check needs before it can judge (``success body``, ``image2 sent``)."""

    name: str
    holds: Callable[[Subject], bool]


Body = Callable[[Subject, Findings], None]


@dataclass(frozen=True)
class Check(Generic[Subject]):
    id: str
    summary: str
    body: Body[Subject]
    guards: tuple[Guard[Subject], ...] = ()

    def applies(self, subject: Subject) -> bool:
        return all(guard.holds(subject) for guard in self.guards)

    def judge(self, subject: Subject) -> RuleVerdict:
        if not self.applies(subject):
            return RuleVerdict(self.id, False)
        found = Findings(self.id)
        self.body(subject, found)
        return RuleVerdict(self.id, True, tuple(found.items))


class Registry(Generic[Subject]):
    """An ordered set of checks with unique IDs, filled by :meth:`check` used as a decorator."""

    def __init__(self) -> None:
        self._checks: dict[str, Check[Subject]] = {}

    def check(
        self, check_id: str, summary: str, *, when: tuple[Guard[Subject], ...] = ()
    ) -> Callable[[Body[Subject]], Body[Subject]]:
        def register(body: Body[Subject]) -> Body[Subject]:
            if check_id in self._checks:
                raise ValueError(f"check {check_id} is registered twice")
            self._checks[check_id] = Check(check_id, summary, body, when)
            return body

        return register

    def __iter__(self) -> Iterator[Check[Subject]]:
        return iter(self._checks.values())

    def __len__(self) -> int:
        return len(self._checks)

    def __getitem__(self, check_id: str) -> Check[Subject]:
        try:
            return self._checks[check_id]
        except KeyError:
            raise KeyError(f"no check {check_id} is registered (known: {', '.join(self._checks)})") from None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._checks)
