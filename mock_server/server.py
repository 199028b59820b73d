"""Runs the app under gunicorn (never the Flask development server)."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from .app import create_app
from .config import Settings


class GunicornServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if value is not None and key in self.cfg.settings:
                self.cfg.set(key.lower(), value)

    def load(self) -> Any:
        return create_app(self.settings)
