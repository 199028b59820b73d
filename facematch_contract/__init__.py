"""What the mock, the kit and the bulk client agree on, in one small dependency-free place.

``facematch_contract`` holds the contract file and the fixture set (package data, read
through :mod:`importlib.resources`), the operation's fixed facts (:mod:`.operation`), the
parsed contract document (:mod:`.document`), development tokens (:mod:`.tokens`) and the
rule validator (:mod:`.rules`). It imports nothing of this project's other packages and
only the standard library and PyYAML, so every other package may depend on it and it on
none of them.

In a checkout, ``facematch_contract/openapi.yaml`` and ``facematch_contract/fixtures`` are
symbolic links to the repository's top-level ``openapi.yaml`` and ``fixtures/``: one file,
one source of truth. Building a wheel or an sdist copies their contents into the package.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__version__ = "0.2.0"

_PACKAGE = resources.files(__name__)

#: The contract: the single source of truth for every component.
SPEC_PATH = Path(str(_PACKAGE / "openapi.yaml"))
#: The fixture set: ``manifest.json`` and ``images/``.
FIXTURES_DIR = Path(str(_PACKAGE / "fixtures"))
