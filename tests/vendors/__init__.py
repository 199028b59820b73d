"""Implementations of POST /advanced_facematch written without the mock's code.

They stand in for vendors' services the kit has never seen: three conforming servers on
different stacks, each lenient where the upstream description leaves room, and named bugs
(``bugs.py``, ``holdout.py``) that any of them can be started with. See README.md here.
"""
