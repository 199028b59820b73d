"""What the kit's fork server (tests/kit_process.py) imports once, before any kit run: the CLI,
pytest and the plugins it loads from entry points, the kit's own modules (not its test modules:
they read the run's options), schemathesis's runtime, and Pillow's format plugins. A module left out is only
imported again by each run; nothing here runs the kit or opens a socket."""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil

import PIL.Image
import pytest  # noqa: F401 - as above

import contract_tests
import facematch.cli  # noqa: F401 - imported for its side effect: in memory before the fork

for entry in importlib.metadata.entry_points(group="pytest11"):
    importlib.import_module(entry.value.partition(":")[0])
for module in pkgutil.iter_modules(contract_tests.__path__, "contract_tests."):
    if not module.name.startswith("contract_tests.test_"):  # those need the run's options
        importlib.import_module(module.name)
for name in ("anyio._backends._asyncio", "hypothesis.stateful", "pdb", "sqlite3", "pyrate_limiter"):
    importlib.import_module(name)
PIL.Image.init()
