"""The type of a schemathesis test case as the kit's hooks, checks and scope rules see it.

``schemathesis.Case`` is generic over the operation it was generated for; the kit reads only
what every operation's case has (method, path, headers, body), so the parameter is left open
here, once, instead of in every signature.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import schemathesis

StCase: TypeAlias = schemathesis.Case[Any]
