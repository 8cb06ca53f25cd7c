"""Typed access to Bot API request parameters (JSON, form or query string)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, overload

from .errors import bad_request

__all__ = ["Params"]

_TRUE = frozenset({"true", "True", "1"})


class Params:
    """Request parameters; form values arrive as strings, so accessors coerce them."""

    __slots__ = ("files", "raw", "received_at")

    def __init__(
        self,
        raw: Mapping[str, Any],
        received_at: float = 0.0,
        files: Mapping[str, bytes] | None = None,
    ) -> None:
        self.raw = raw
        self.received_at = received_at
        self.files: Mapping[str, bytes] = files or {}  # multipart uploads by field name

    def __contains__(self, name: str) -> bool:
        return self.raw.get(name) is not None

    @overload
    def get_str(self, name: str, default: str) -> str: ...
    @overload
    def get_str(self, name: str, default: None = None) -> str | None: ...
    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_float(self, name: str, default: float | None = None) -> float | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value in _TRUE
        return bool(value)

    def get_json(self, name: str) -> Any:
        value = self.raw.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None

    def require_int(self, name: str) -> int:
        value = self.get_int(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value
