"""What the kit's fork server (tests/kit_process.py) imports once, before any kit run.

The CLI; pytest with its built-in plugins and those it loads from entry points; every module
of schemathesis and of hypothesis's strategies (a run imports them lazily, a few at a time,
and some read hypothesis's character tables on the way); the kit's own modules except its
test modules (they read the run's options when imported); Pillow's format plugins. A module
left out is only imported again by each run: this list took a short run from 1.19 to 1.06 s
(the CLI, pytest's entry-point plugins and the kit's modules alone). Nothing here runs the
kit or opens a socket.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import warnings
from types import ModuleType

import PIL.Image
import pytest  # noqa: F401 - imported to be in memory before the fork
import schemathesis
from _pytest.config import default_plugins
from hypothesis.errors import HypothesisSideeffectWarning
from hypothesis.strategies import _internal as hypothesis_strategies

import contract_tests
import facematch.cli  # noqa: F401 - as above


def import_all(package: ModuleType, skip: tuple[str, ...] = ()) -> None:
    """Every submodule of ``package`` that imports (optional extras may be missing)."""
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if module.name.startswith(skip):
            continue
        try:
            importlib.import_module(module.name)
        except ImportError:
            continue


# Hypothesis warns when its storage is read while plugins load (slow code in a plugin's
# import); reading the character tables here, once, is the point of this module.
warnings.simplefilter("ignore", HypothesisSideeffectWarning)
for name in default_plugins:
    importlib.import_module(f"_pytest.{name}")
for entry in importlib.metadata.entry_points(group="pytest11"):
    importlib.import_module(entry.value.partition(":")[0])
import_all(schemathesis, skip=("schemathesis.cli", "schemathesis.contrib"))
import_all(hypothesis_strategies)
import_all(contract_tests, skip=("contract_tests.test_",))
for name in ("anyio._backends._asyncio", "email.policy", "netrc", "packaging.version", "pdb", "sqlite3"):
    importlib.import_module(name)
PIL.Image.init()
