"""A small client for the mock's runtime admin API (``/__mock/``, docs/steering.md).

    control = MockControl("http://127.0.0.1:8080")
    control.set_scenario("one_image_fake")
    control.define_sequence("flaky", [{"fault": "503"}, {"fault": "503"}, "normal"],
                            key={"header": "X-Session-ID"})
    assert control.count(path="/advanced_facematch", image2=True) == 1

Every method raises :class:`AdminError` (with the status and the server's message) when
the mock refuses.
"""

from __future__ import annotations

from typing import Any

import requests

#: Seconds an admin call may take.
TIMEOUT_S = 10.0

Step = str | dict[str, str]


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class MockControl:
    def __init__(self, base_url: str, admin_token: str | None = None, timeout: float = TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        if admin_token:
            self._session.headers["Authorization"] = f"Bearer {admin_token}"

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self._session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        if answer.status_code >= 400:
            try:
                body = answer.json()
                message = body.get("msg") or body.get("message") or answer.text
            except ValueError:
                message = answer.text
            raise AdminError(answer.status_code, str(message)[:500])
        return answer.json() if answer.content else None

    # -- runtime settings
    def settings(self) -> dict[str, Any]:
        return dict(self._call("GET", "/__mock/settings"))

    def set_scenario(self, name: str | None) -> None:
        """Answer every call with this named example (None: the engine again)."""
        self._call("PATCH", "/__mock/settings", json={"default_scenario": name})

    def set_latency(self, spec: str | None) -> None:
        """``"250"``, ``"100-400"`` or ``"tail:200-3000"`` milliseconds; None for the command line's."""
        self._call("PATCH", "/__mock/settings", json={"latency": spec})

    def set_faults(self, rate: float, faults: list[str], seed: int | None = None) -> None:
        self._call("PATCH", "/__mock/settings", json={"faults": {"rate": rate, "faults": faults, "seed": seed}})

    def clear_faults(self) -> None:
        self._call("PATCH", "/__mock/settings", json={"faults": None})

    def clear(self) -> None:
        """Every runtime setting back to the command line's."""
        self._call("DELETE", "/__mock/settings")

    # -- sequences
    def define_sequence(
        self, name: str, steps: list[Step], key: str | dict[str, str] = "unique_id", after_last: str = "stay"
    ) -> dict[str, Any]:
        body = {"key": key, "steps": steps, "after_last": after_last}
        return dict(self._call("PUT", f"/__mock/sequences/{name}", json=body))

    def sequences(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/__mock/sequences")["sequences"])

    def sequence(self, name: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/__mock/sequences/{name}"))

    def remove_sequence(self, name: str | None = None) -> None:
        """Forget one sequence, or every one with None."""
        self._call("DELETE", f"/__mock/sequences/{name}" if name else "/__mock/sequences")

    def reset_sequences(self, sequence: str | None = None, key: str | None = None) -> int:
        """Send keys back to the first step; how many positions were forgotten."""
        params = {name: value for name, value in (("sequence", sequence), ("key", key)) if value is not None}
        return int(self._call("DELETE", "/__mock/positions", params=params)["reset"])

    # -- the journal
    @staticmethod
    def _filters(filters: dict[str, Any]) -> dict[str, str]:
        return {
            name: ("true" if value else "false") if isinstance(value, bool) else str(value)
            for name, value in filters.items()
            if value is not None
        }

    def requests(self, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Journal entries (oldest first) matching ``path``, ``status``, ``unique_id``,
        ``fixture``, ``correlation_id``, ``image2`` (bool)."""
        params = self._filters(filters)
        if limit is not None:
            params["limit"] = str(limit)
        return list(self._call("GET", "/__mock/requests", params=params)["requests"])

    def count(self, **filters: Any) -> int:
        return int(self._call("GET", "/__mock/requests/count", params=self._filters(filters))["count"])

    def clear_requests(self) -> None:
        self._call("DELETE", "/__mock/requests")

    def reset(self) -> None:
        """A clean slate between tests: settings, sequences and the journal."""
        self.clear()
        self.remove_sequence()
        self.clear_requests()
