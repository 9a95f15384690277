"""The error a feed route answers with, in the API's error body.

Every error response is ``{"error": CODE, "message": TEXT}`` plus ``field`` and ``value``
when one input is at fault (the shape of ``metaregistry.api.errors``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FeedRequestError"]

_MAX_ECHO = 120  # a 10 kB value in a query string is not echoed back whole


class FeedRequestError(Exception):
    """A request the feed cannot answer: HTTP ``status``, stable ``code``, a message."""

    def __init__(
        self, status: int, code: str, message: str, *, field: str | None = None, value: Any = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.value = value

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
            text = "" if self.value is None else str(self.value)
            out["value"] = text if len(text) <= _MAX_ECHO else text[: _MAX_ECHO - 3] + "..."
        return out

    @classmethod
    def bad_parameter(cls, field: str, value: Any, problem: str) -> FeedRequestError:
        """400 for one query parameter or header: ``<field> <problem>``."""
        return cls(400, "invalid_parameter", f"{field} {problem}", field=field, value=value)
