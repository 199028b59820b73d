"""``openapi.yaml`` parsed once: the document, local ``$ref`` resolution, the operation.

Everything that reads the contract starts here; the mock compiles its request path from
it (``mock_server.spec``), the bulk client takes its result columns from it, and the kit
takes the named examples from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from . import SPEC_PATH
from .operation import OPERATION_METHOD, OPERATION_PATH


class Document:
    """The parsed contract file."""

    def __init__(self, path: Path = SPEC_PATH) -> None:
        self.path = path
        self.raw_text = path.read_bytes()
        self.document: dict[str, Any] = yaml.load(self.raw_text, Loader=_loader())
        self.operation: dict[str, Any] = self.document["paths"][OPERATION_PATH][OPERATION_METHOD]

    def resolve(self, node: Any) -> Any:
        """Follow local ``$ref`` pointers until a concrete node is reached."""
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local references are supported: {ref}")
            node = self.document
            for token in ref[2:].split("/"):
                node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    def deep_resolve(self, node: Any) -> Any:
        node = self.resolve(node)
        if isinstance(node, dict):
            return {key: self.deep_resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.deep_resolve(value) for value in node]
        return node

    def server_path_prefixes(self) -> tuple[str, ...]:
        """The path prefixes of the ``servers`` entries ("" for the bare operation)."""
        prefixes = {urlsplit(server["url"]).path.rstrip("/") for server in self.document.get("servers", [])}
        return tuple(sorted(prefixes or {""}))

    def response_schema(self, status: str = "200") -> dict[str, Any]:
        response = self.resolve(self.operation["responses"][status])
        schema: dict[str, Any] = self.resolve(response["content"]["application/json"]["schema"])
        return schema


def _loader() -> type:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)
