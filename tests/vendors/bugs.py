"""Vendor bugs the kit must catch (the hold-out ones are in holdout.py)."""

from __future__ import annotations

from .bug import Bug

BUGS: tuple[Bug, ...] = ()
