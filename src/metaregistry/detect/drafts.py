"""What detection hands to storage: alert pairs, alert drafts, link drafts, and the words of
their explanations (pure; no database)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from metaregistry.canonical import hash_json
from metaregistry.detect.cluster import Key, Ranges, add_range
from metaregistry.detect.rules import Rule
from metaregistry.model import UnitBlock

__all__ = [
    "AlertDraft",
    "AlertPair",
    "LinkDraft",
    "describe_blocks",
    "describe_units",
    "explain",
    "hash_id",
    "merge_ranges",
    "range_size",
]


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: Ranges = []
    for start, end in sorted(ranges):
        add_range(out, start, end)
    return out


def range_size(ranges: Sequence[tuple[int, int]]) -> int:
    return sum(end - start + 1 for start, end in ranges)


@dataclass(frozen=True, slots=True)
class AlertPair:
    """Two records showing one alert pattern over ``ranges``; ``first`` in the rule's first
    role (the source of a directed pattern)."""

    rule: Rule
    first: UnitBlock
    second: UnitBlock
    ranges: tuple[tuple[int, int], ...]
    excess: tuple[tuple[int, int], ...] = ()

    @property
    def kind(self) -> str:
        assert self.rule.alert_kind is not None
        return self.rule.alert_kind

    @property
    def size(self) -> int:
        return range_size(self.ranges)


@dataclass(frozen=True, slots=True)
class LinkDraft:
    id: str
    kind: str
    rule: str
    source: UnitBlock
    target: UnitBlock
    ranges: tuple[tuple[int, int], ...]
    explanation: str
    #: Set for a project-basis link (scheme ``project``, scope the project key); a serial
    #: link takes both from its source block.
    scheme: str | None = None
    scope: str | None = None

    @property
    def overlap_start(self) -> int:
        return self.ranges[0][0]

    @property
    def overlap_end(self) -> int:
        return self.ranges[-1][1]

    @property
    def overlap_size(self) -> int:
        return range_size(self.ranges)


@dataclass(slots=True)
class AlertDraft:
    """An alert as detection sees it now; :meth:`content` is what its rows and events hold."""

    id: str
    kind: str
    severity: str
    scheme: str
    scope: str
    registry_a: str
    registry_b: str
    sides: list[tuple[str, UnitBlock]]
    ranges: Ranges
    excess: Ranges
    rules: list[str]
    explanation: str
    overlap_start: int = 0
    overlap_end: int = 0
    overlap_size: int = 0
    keys: set[Key] = field(default_factory=set)

    def sides_json(self) -> list[dict[str, Any]]:
        return [
            {
                "registry": b.registry,
                "record_id": b.record_id,
                "serial": b.serial,
                "block_start": b.block_start,
                "block_end": b.block_end,
                "status": b.status,
                "role": role,
            }
            for role, b in self.sides
        ]

    def detail_json(self) -> dict[str, Any]:
        return {
            "ranges": [list(r) for r in self.ranges],
            "excess": [list(r) for r in self.excess],
            "rules": self.rules,
        }

    def content(self) -> dict[str, Any]:
        """Every fact of the alert that detection derives (no status, no times)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "severity": self.severity,
            "scheme": self.scheme,
            "scope": self.scope,
            "registry_a": self.registry_a,
            "registry_b": self.registry_b,
            "overlap_start": self.overlap_start,
            "overlap_end": self.overlap_end,
            "overlap_size": self.overlap_size,
            "explanation": self.explanation,
            "sides": self.sides_json(),
            "detail": self.detail_json(),
        }


def describe_units(ranges: Sequence[tuple[int, int]], scheme: str, scope: str) -> str:
    """``"120 units (100-199, 300-319) of vcs"``; long range lists are cut."""
    shown = ", ".join(f"{s}-{e}" if s != e else str(s) for s, e in ranges[:3])
    if len(ranges) > 3:
        shown += f" and {len(ranges) - 3} more ranges"
    where = f"{scheme} scope {scope}" if scope else scheme
    size = range_size(ranges)
    return f"{size:,} unit{'s' if size != 1 else ''} ({shown}) of {where}"


def describe_blocks(blocks: Sequence[UnitBlock]) -> str:
    head = blocks[0].registry
    parts = [f"{b.serial} ({b.status})" for b in blocks[:3]]
    more = f" and {len(blocks) - 3} more" if len(blocks) > 3 else ""
    noun = "serial" if len(blocks) == 1 else "serials"
    return f"{head} {noun} {', '.join(parts)}{more}"


def explain(
    rule: Rule,
    first: list[UnitBlock],
    second: list[UnitBlock],
    ranges: Sequence[tuple[int, int]],
    excess: Sequence[tuple[int, int]],
    scheme: str,
    scope: str,
) -> str:
    return rule.template.format(
        first=describe_blocks(first),
        second=describe_blocks(second),
        units=describe_units(ranges, scheme, scope),
        excess=describe_units(excess, scheme, scope) if excess else "nothing",
        registry=first[0].registry,
        second_registry=second[0].registry,
    )


def hash_id(prefix: str, value: Any) -> str:
    """``prefix`` + the first 24 hex digits of the SHA-256 of ``value``'s RFC 8785 bytes."""
    return prefix + hash_json(value)[:24]
