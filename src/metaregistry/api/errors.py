"""Errors of the public API and the JSON body every failure answers with.

Every error response is ``{"error": CODE, "message": TEXT}`` plus, when the problem is one
input, ``field`` and ``value``, and sometimes a ``hint``. ``CODE`` is stable and
machine-readable; ``message`` is for people and may change.

    ApiError                 an answer other than 2xx, raised by a handler
    QueryTimeoutError        a database query ran past ``[api] query_timeout`` (503)
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

__all__ = ["ApiError", "QueryTimeoutError", "error_response"]

_MAX_ECHO = 120  # a 10 kB value in a query string is not echoed back whole


class ApiError(Exception):
    """An error answer: HTTP ``status``, a stable ``code`` and a message for people."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.value = value
        self.hint = hint
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.value is not None:
            value = str(self.value)
            out["value"] = value if len(value) <= _MAX_ECHO else value[: _MAX_ECHO - 3] + "..."
        if self.hint is not None:
            out["hint"] = self.hint
        return out

    @classmethod
    def bad_parameter(cls, field: str, value: Any, problem: str) -> ApiError:
        """400 for one query or path parameter: ``<field> <problem>``."""
        return cls(400, "invalid_parameter", f"{field} {problem}", field=field, value=value)


class QueryTimeoutError(Exception):
    """A database query ran past the API's query timeout and was interrupted."""


def error_response(error: ApiError) -> web.Response:
    return web.Response(
        status=error.status,
        body=json.dumps(error.body()).encode(),
        content_type="application/json",
        headers=error.headers,
    )
