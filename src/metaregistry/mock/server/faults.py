"""Faults a mock registry injects, decided deterministically from a seed.

The spec is a comma-separated list of ``kind=value`` pairs::

    429=0.05,5xx=0.05,slow=0.02,truncate=0.01,malformed=0.001,repeat=0.01

Rates are probabilities in [0, 1]. Tuning keys: ``retry-after`` (seconds sent with a 429,
default 1), ``slow-seconds`` (delay of a slow response, default 1), ``burst`` (longest 5xx
burst, default 3) and ``max-consecutive`` (failures of one request in a row before it is let
through, default 3).

Every fault a correct client can recover from stays recoverable: the fault of a request is
decided per (request, attempt), so a retry draws again, and after ``max-consecutive``
failures in a row the same request always succeeds. Malformed records are the exception by
design: whether a record is corrupted depends only on (record id, seed), so every attempt and
every repeat serves it corrupted the same way and tests can know the set in advance
(:func:`corruption_of`).
"""

from __future__ import annotations

import enum
import hashlib
from collections import Counter
from dataclasses import dataclass, field

__all__ = [
    "Corruption",
    "Fault",
    "FaultPlan",
    "FaultSpec",
    "FaultSpecError",
    "corruption_of",
]

_UNIT = float(2**64)


class FaultSpecError(ValueError):
    """A ``--faults`` spec names an unknown kind or a value out of range."""


class Fault(enum.StrEnum):
    """What happens to one response."""

    TOO_MANY_REQUESTS = "429"
    SERVER_ERROR = "5xx"
    TRUNCATE = "truncate"
    SLOW = "slow"
    REPEAT = "repeat"


class Corruption(enum.StrEnum):
    """How a malformed record is broken."""

    BAD_SERIAL = "bad-serial"
    WRONG_TYPE = "wrong-type"


#: Faults that make a request fail (the client must retry it).
FAILURES = frozenset({Fault.TOO_MANY_REQUESTS, Fault.SERVER_ERROR, Fault.TRUNCATE})

_RATE_KEYS = {
    "429": "too_many",
    "5xx": "server_error",
    "slow": "slow",
    "truncate": "truncate",
    "malformed": "malformed",
    "repeat": "repeat",
}
_TUNING_KEYS = {
    "retry-after": "retry_after",
    "slow-seconds": "slow_seconds",
    "burst": "burst",
    "max-consecutive": "max_consecutive",
}


def unit_interval(*parts: object) -> float:
    """A uniform number in [0, 1) from the parts, stable across processes and runs."""
    text = "\x1f".join(str(part) for part in parts).encode("utf-8")
    digest = hashlib.blake2b(text, digest_size=8).digest()
    return int.from_bytes(digest, "big") / _UNIT


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Parsed ``--faults``: rates per kind plus the tuning values and the seed."""

    too_many: float = 0.0
    server_error: float = 0.0
    slow: float = 0.0
    truncate: float = 0.0
    malformed: float = 0.0
    repeat: float = 0.0
    retry_after: float = 1.0
    slow_seconds: float = 1.0
    burst: int = 3
    max_consecutive: int = 3
    seed: int = 0

    @classmethod
    def parse(cls, text: str | None, *, seed: int = 0) -> FaultSpec:
        """Parse a spec; an empty or missing one means no faults."""
        values: dict[str, float | int] = {}
        for item in filter(None, (part.strip() for part in (text or "").split(","))):
            key, sep, raw = item.partition("=")
            key = key.strip().lower()
            if not sep:
                raise FaultSpecError(f"faults: expected kind=value, got {item!r}")
            try:
                number = float(raw)
            except ValueError:
                shown = raw.strip()
                raise FaultSpecError(f"faults: {key} must be a number, got {shown!r}") from None
            if key in _RATE_KEYS:
                if not 0.0 <= number <= 1.0:
                    raise FaultSpecError(f"faults: {key} must be a rate in [0, 1], got {number}")
                values[_RATE_KEYS[key]] = number
            elif key in _TUNING_KEYS:
                if number < 0:
                    raise FaultSpecError(f"faults: {key} must not be negative, got {number}")
                name = _TUNING_KEYS[key]
                values[name] = int(number) if name in ("burst", "max_consecutive") else number
            else:
                known = ", ".join([*_RATE_KEYS, *_TUNING_KEYS])
                raise FaultSpecError(f"faults: unknown kind {key!r} (known: {known})")
        spec = cls(seed=seed, **values)  # type: ignore[arg-type]
        if spec.too_many + spec.server_error + spec.truncate > 1.0:
            raise FaultSpecError("faults: 429 + 5xx + truncate must not exceed 1")
        return spec

    def render(self) -> str:
        """The spec as ``--faults`` text (rates only, the ones that are set)."""
        parts = [
            f"{key}={getattr(self, name)}"
            for key, name in _RATE_KEYS.items()
            if getattr(self, name)
        ]
        return ",".join(parts)

    @property
    def any(self) -> bool:
        return any(getattr(self, name) for name in _RATE_KEYS.values())


def corruption_of(record_key: str, spec: FaultSpec) -> Corruption | None:
    """How the record ``record_key`` is corrupted under ``spec``, or None when it is served
    intact. Depends only on the key and the seed, never on the request."""
    if spec.malformed <= 0.0:
        return None
    if unit_interval(spec.seed, "malformed", record_key) >= spec.malformed:
        return None
    pick = unit_interval(spec.seed, "corruption", record_key)
    return Corruption.BAD_SERIAL if pick < 0.5 else Corruption.WRONG_TYPE


@dataclass(slots=True)
class _RequestState:
    attempts: int = 0
    consecutive_failures: int = 0
    burst_left: int = 0


@dataclass(slots=True)
class FaultPlan:
    """The per-server state of fault decisions: attempts per request key and counters."""

    spec: FaultSpec
    served: Counter[str] = field(default_factory=Counter)
    _requests: dict[str, _RequestState] = field(default_factory=dict)

    def decide(self, key: str, *, repeatable: bool = True) -> Fault | None:
        """The fault of this attempt of request ``key`` (None: serve it normally).

        ``repeatable`` is False for requests that cannot be served twice (an alias of a page
        already repeated, a request without a page)."""
        state = self._requests.setdefault(key, _RequestState())
        attempt = state.attempts
        state.attempts += 1
        fault = self._draw(key, attempt, state, repeatable=repeatable)
        if fault in FAILURES:
            state.consecutive_failures += 1
        else:
            state.consecutive_failures = 0
        self.served[str(fault) if fault else "ok"] += 1
        return fault

    def _draw(
        self, key: str, attempt: int, state: _RequestState, *, repeatable: bool
    ) -> Fault | None:
        spec = self.spec
        if state.consecutive_failures >= spec.max_consecutive:
            state.burst_left = 0
            return self._benign(key, attempt, repeatable=repeatable)
        if state.burst_left > 0:
            state.burst_left -= 1
            return Fault.SERVER_ERROR
        u = unit_interval(spec.seed, "fail", key, attempt)
        if u < spec.too_many:
            return Fault.TOO_MANY_REQUESTS
        u -= spec.too_many
        if u < spec.server_error:
            # A burst: this request keeps failing for a few attempts (capped above).
            length = 1 + int(unit_interval(spec.seed, "burst", key, attempt) * max(spec.burst, 1))
            state.burst_left = length - 1
            return Fault.SERVER_ERROR
        u -= spec.server_error
        if u < spec.truncate:
            return Fault.TRUNCATE
        return self._benign(key, attempt, repeatable=repeatable)

    def _benign(self, key: str, attempt: int, *, repeatable: bool) -> Fault | None:
        spec = self.spec
        if repeatable and unit_interval(spec.seed, "repeat", key, attempt) < spec.repeat:
            return Fault.REPEAT
        if unit_interval(spec.seed, "slow", key, attempt) < spec.slow:
            return Fault.SLOW
        return None

    def server_error_status(self, key: str) -> int:
        """Which 5xx to send (varies by request, stable for a seed)."""
        statuses = (500, 502, 503, 504)
        return statuses[int(unit_interval(self.spec.seed, "status", key) * len(statuses))]

    def truncate_fraction(self, key: str) -> float:
        """Where to cut a body off, as a fraction of its length (never 0 or the whole)."""
        return 0.1 + 0.8 * unit_interval(self.spec.seed, "cut", key)
