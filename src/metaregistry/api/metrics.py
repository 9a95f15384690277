"""Prometheus metrics of the API, in the text exposition format (version 0.0.4).

Request counts and latencies are prometheus-client metrics, labelled by route template
(``/v1/serials/{serial}``), never by the path asked, so a scan of random URLs cannot blow up
the number of series; paths that match no route share ``route="unmatched"``.

With ``serve --workers N`` the N processes share one port and a scrape reaches one of them at
random, so the workers keep their metrics in prometheus-client's multiprocess mode: each
process writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (``serve`` makes one for
its workers) and whichever worker answers ``/metrics`` reports the sum over all of them;
``metaregistry_api_start_time_seconds`` then has one series per worker (label ``pid``).
Per-process counts kept elsewhere (the answer cache's hits, the lookup batches) are copied
into the metrics at most once a second and before each scrape (:meth:`RequestMetrics.track`).
Gauges computed from the database (index size, sync freshness) are the same on every
process and are rendered by the answering one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

import prometheus_client
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import Gauge as PromGauge
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["CONTENT_TYPE", "MULTIPROCESS_ENV", "Gauge", "RequestMetrics", "render", "route_of"]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
#: Histogram bucket bounds in seconds: fine where lookups land (the target p99 is 25 ms).
BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: The environment variable naming the directory of the workers' metric files.
MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
_SYNC_EVERY: Final = 1.0  # seconds between copies of the tracked per-process counts

prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created


@dataclass(frozen=True, slots=True)
class Gauge:
    """One sample of a gauge family: ``name{labels} value``."""

    name: str
    help: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()


class RequestMetrics:
    """Request counts and latency histograms by route, method and status, and the tracked
    per-process counts; summed over the workers in multiprocess mode."""

    def __init__(self) -> None:
        self.started = time.time()
        self.directory = os.environ.get(MULTIPROCESS_ENV) or None
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("route", "method", "status")
        self._requests = Counter(
            "metaregistry_http_requests", "HTTP requests answered.", labels, registry=self.registry
        )
        self._duration = Histogram(
            "metaregistry_http_request_duration_seconds",
            "Time to answer a request.",
            labels,
            buckets=BUCKETS,
            registry=self.registry,
        )
        start = PromGauge(
            "metaregistry_api_start_time_seconds",
            "When this API process started (Unix time).",
            registry=self.registry,
            multiprocess_mode="all",
        )
        start.set(self.started)
        self._tracked: list[tuple[PromGauge, Callable[[], float]]] = []
        self._synced = 0.0

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        code = str(status)
        self._requests.labels(route, method, code).inc()
        self._duration.labels(route, method, code).observe(seconds)
        if self._tracked and time.monotonic() - self._synced > _SYNC_EVERY:
            self._sync()

    def track(self, name: str, help: str, read: Callable[[], float]) -> None:
        """Report ``read()`` (a count this process keeps) as ``name``, summed over workers."""
        gauge = PromGauge(name, help, registry=self.registry, multiprocess_mode="sum")
        self._tracked.append((gauge, read))

    def _sync(self) -> None:
        self._synced = time.monotonic()
        for gauge, read in self._tracked:
            gauge.set(read())

    def exposition(self) -> str:
        """This process's metrics, or in multiprocess mode every worker's, summed."""
        self._sync()
        if self.directory is None:
            return generate_latest(self.registry).decode()
        merged = CollectorRegistry(auto_describe=True)
        MultiProcessCollector(merged, path=self.directory)  # type: ignore[no-untyped-call]
        return generate_latest(merged).decode()


def route_of(request: web.Request) -> str:
    """The route template a request matched, for labels."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def render(metrics: RequestMetrics, gauges: Iterable[Gauge]) -> str:
    """The scrape: the request metrics, then ``gauges`` (computed by this process)."""
    lines = [metrics.exposition().rstrip("\n")]
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
