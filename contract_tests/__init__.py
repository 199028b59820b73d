"""facematch-kit's contract-test kit: checks any Advanced Facematch implementation.

Run it with ``facematch check --base-url URL`` or, as a pytest plugin,
``pytest --pyargs contract_tests --facematch-base-url URL``. The rules it judges by live in
``facematch_contract.rules`` (standard library only), shared with the mock's strict mode.
The kit never imports the mock server.
"""

from pathlib import Path

from facematch_contract import SPEC_PATH

KIT_DIR = Path(__file__).resolve().parent

__all__ = ["KIT_DIR", "SPEC_PATH"]
