"""Prometheus metrics of the API, in the text exposition format (version 0.0.4).

Kept by hand rather than with a client library: a few counters and one histogram, updated on
the event loop (so without locks) and rendered on scrape. Routes are labelled by their
template (``/v1/serials/{serial}``), never by the path asked, so a scan of random URLs cannot
blow up the number of series; paths that match no route share ``route="unmatched"``.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from aiohttp import web

__all__ = ["CONTENT_TYPE", "Gauge", "RequestMetrics", "render", "route_of"]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
#: Histogram bucket bounds in seconds: fine where lookups land (the target p99 is 25 ms).
BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(frozen=True, slots=True)
class Gauge:
    """One sample of a gauge family: ``name{labels} value``."""

    name: str
    help: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()


class RequestMetrics:
    """Request counts and latency histograms by route, method and status."""

    def __init__(self) -> None:
        self.started = time.time()
        self._counts: dict[tuple[str, str, str], list[float]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, str(status))
        series = self._counts.get(key)
        if series is None:
            # bucket counts (not cumulative), then sum, then count
            series = self._counts[key] = [0.0] * (len(BUCKETS) + 3)
        series[bisect.bisect_left(BUCKETS, seconds)] += 1
        series[-2] += seconds
        series[-1] += 1

    def lines(self) -> list[str]:
        out = [
            "# HELP metaregistry_http_requests_total HTTP requests answered.",
            "# TYPE metaregistry_http_requests_total counter",
        ]
        for (route, method, status), series in sorted(self._counts.items()):
            labels = _labels((("route", route), ("method", method), ("status", status)))
            out.append(f"metaregistry_http_requests_total{labels} {int(series[-1])}")
        out += [
            "# HELP metaregistry_http_request_duration_seconds Time to answer a request.",
            "# TYPE metaregistry_http_request_duration_seconds histogram",
        ]
        name = "metaregistry_http_request_duration_seconds"
        for (route, method, status), series in sorted(self._counts.items()):
            base = (("route", route), ("method", method), ("status", status))
            running = 0.0
            for bound, count in zip((*BUCKETS, float("inf")), series, strict=False):
                running += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                out.append(f"{name}_bucket{_labels((*base, ('le', le)))} {int(running)}")
            out.append(f"{name}_sum{_labels(base)} {series[-2]:.6f}")
            out.append(f"{name}_count{_labels(base)} {int(series[-1])}")
        return out


def route_of(request: web.Request) -> str:
    """The route template a request matched, for labels."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def render(metrics: RequestMetrics, gauges: Iterable[Gauge]) -> str:
    lines = metrics.lines()
    lines += [
        "# HELP metaregistry_api_start_time_seconds When this API process started (Unix time).",
        "# TYPE metaregistry_api_start_time_seconds gauge",
        f"metaregistry_api_start_time_seconds {metrics.started:.3f}",
    ]
    described: set[str] = set()
    for gauge in sorted(gauges, key=lambda g: (g.name, g.labels)):
        if gauge.name not in described:
            described.add(gauge.name)
            lines += [f"# HELP {gauge.name} {gauge.help}", f"# TYPE {gauge.name} gauge"]
        lines.append(f"{gauge.name}{_labels(gauge.labels)} {_number(gauge.value)}")
    return "\n".join(lines) + "\n"


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return "{" + inner + "}" if inner else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))
