"""The admin routes' guard: the request journal (``GET``/``DELETE /__mock/requests``) kept
off the open web.

Why: the journal lists the digests of uploaded faces and can be wiped, and it needs no
bearer token. Any web page a developer opens could read or wipe it through CORS, and DNS
rebinding (a hostile name resolving to 127.0.0.1) gets past an origin check. So an admin
route (a view wrapped by :func:`admin_route`):

- gets no CORS headers, whatever ``--cors`` says, unless ``--admin-cors`` is given;
- answers 403 unless the ``Host`` header names an allowed host (localhost names and the
  bound address by default, ``--allowed-hosts`` to change; ``*`` allows any);
- answers 401 unless it carries ``Authorization: Bearer <admin token>`` when an admin
  token is set (``--admin-token``).

Other routes (the operation, bulk jobs, health, the contract, and pages such as the
Playground) are not covered: they stay as public as before.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import current_app, request

from .config import LOCAL_HOSTS
from .errors import ApiError, ErrorKind

#: The attribute that marks a view function as an admin route.
MARK = "_facematch_admin"


@dataclass(frozen=True)
class AdminPolicy:
    #: Host names (no port) the admin routes answer; ("*",) for any.
    allowed_hosts: tuple[str, ...]
    #: None: no token needed.
    token: str | None = None

    def check(self, host_header: str | None, authorization: str | None) -> None:
        """Raise the 403/401 ApiError unless the request may use an admin route."""
        host = host_name(host_header or "")
        if "*" not in self.allowed_hosts and host not in self.allowed_hosts:
            raise ApiError(ErrorKind.ADMIN_HOST, {"host": host[:100] or "(none)"})
        if self.token is not None:
            scheme, _, given = (authorization or "").strip().partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
                raise ApiError(ErrorKind.ADMIN_TOKEN)


def default_hosts(bound: str) -> tuple[str, ...]:
    """Localhost names and the address the server is bound to."""
    hosts = list(LOCAL_HOSTS)
    name = host_name(bound)
    if name and name not in hosts and name not in ("0.0.0.0", "::"):
        hosts.append(name)
    return tuple(hosts)


def host_name(value: str) -> str:
    """The host of a Host header or address, lower-case, without port or IPv6 brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def admin_route(policy: AdminPolicy) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a view: the policy is checked first, and the view is marked as admin (no CORS)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            policy.check(request.headers.get("Host"), request.headers.get("Authorization"))
            return view(*args, **kwargs)

        setattr(guarded, MARK, True)
        return guarded

    return decorate


def is_admin_request() -> bool:
    """Whether the current request was routed to an admin view."""
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(view is not None and getattr(view, MARK, False))
