"""facematch-kit's contract-test kit: checks any Advanced Facematch implementation.

Run it with ``pytest contract_tests --base-url URL --token TOKEN`` or ``facematch check``.
``contract_tests.rules`` is the rule validator (standard library only).
"""

from pathlib import Path

KIT_DIR = Path(__file__).resolve().parent
#: The contract the kit checks against (the repository's openapi.yaml).
SPEC_PATH = KIT_DIR.parent / "openapi.yaml"
