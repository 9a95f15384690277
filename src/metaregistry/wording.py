"""Words for people: a count with its noun in the right number."""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: int, one: str, many: str | None = None) -> str:
    """``1 open alert``, ``2 open alerts``, ``1,200 registries`` (``many`` when the plural
    is not ``one + "s"``)."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"
