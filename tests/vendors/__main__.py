"""``python -m tests.vendors``: serve vendor instances (see launch.py)."""

from .launch import main

raise SystemExit(main())
