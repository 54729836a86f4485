"""Prometheus metrics with aioprometheus, one registry per application.

Series carry `service` (which service), `route` (the route pattern, never the raw path, so ids
cannot explode cardinality) and `status`. Probe and scrape endpoints are not counted.

kit.middleware calls `observe_request` for every counted request. That path is the hot one: it
counts into plain dicts keyed by label tuples and observes latency straight into aioprometheus's
histogram aggregators; the request counts and the in-flight gauge are copied into their
aioprometheus collectors when /metrics is scraped. (aioprometheus validates and serialises the
label dict on every call, which cost ~20 us per request in hack/bench/product_api.py.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aioprometheus import Counter, Gauge, Histogram, render
from aioprometheus import histogram as aggregators
from aioprometheus.collectors import Registry

from kit.keys import DB_POOL, METRICS

# aioprometheus's default buckets have no 2.0 boundary, which the p95 > 2 s alert needs.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0)
UNCOUNTED_PATHS = frozenset({"/metrics", "/health", "/ready"})
UNMATCHED_ROUTE = "unmatched"


class HttpMetrics:
    """The collectors of one service; business metrics register on `registry` too."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = Registry()
        labels = {"service": service}
        self.requests = self.counter("http_requests_total", "HTTP requests served.")
        self.duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency in seconds.",
            const_labels=labels,
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )
        self.in_flight = self.gauge("http_requests_in_flight", "HTTP requests being served.")
        self.in_flight_now = 0
        self._request_counts: defaultdict[tuple[str, str, int], int] = defaultdict(int)
        self._latencies: dict[tuple[str, str], aggregators.Histogram] = {}
        self._pool_gauges: tuple[Gauge, Gauge, Gauge] | None = None
        self._read_at_scrape: list[tuple[Counter | Gauge, Callable[[], float]]] = []

    def read_at_scrape(self, collector: Counter | Gauge, read: Callable[[], float]) -> None:
        """`collector` takes the value `read()` gives whenever /metrics is scraped: for values
        a service keeps as plain numbers on its hot path."""
        self._read_at_scrape.append((collector, read))

    def add_db_pool_gauges(self) -> None:
        """Only a service with a database exports the pool's state."""
        self._pool_gauges = (
            self.gauge("db_pool_size", "Open database connections."),
            self.gauge("db_pool_free", "Idle database connections."),
            self.gauge("db_pool_max", "Maximum database connections."),
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self._request_counts[(method, route, status)] += 1
        latency = self._latencies.get((method, route))
        if latency is None:
            latency = aggregators.Histogram(*LATENCY_BUCKETS)
            self.duration.set_value({"method": method, "route": route}, latency)
            self._latencies[(method, route)] = latency
        latency.observe(seconds)

    def publish(self, pool: Any = None) -> None:
        """Copy the hot-path tallies (and the pool's state) into the collectors before a scrape."""
        for (method, route, status), count in self._request_counts.items():
            self.requests.set({"method": method, "route": route, "status": str(status)}, count)
        self.in_flight.set({}, self.in_flight_now)
        for collector, read in self._read_at_scrape:
            collector.set({}, read())
        if pool is not None and self._pool_gauges is not None:
            size, free, maximum = self._pool_gauges
            size.set({}, pool.size)
            free.set({}, pool.freesize)
            maximum.set({}, pool.maxsize)

    def counter(self, name: str, doc: str) -> Counter:
        return Counter(name, doc, const_labels={"service": self.service}, registry=self.registry)

    def gauge(self, name: str, doc: str) -> Gauge:
        return Gauge(name, doc, const_labels={"service": self.service}, registry=self.registry)


def route_label(request: web.Request) -> str:
    info = request.match_info
    route = getattr(info, "route", None)
    resource = getattr(route, "resource", None)
    if resource is None:
        return UNMATCHED_ROUTE
    return resource.canonical


async def metrics_handler(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    metrics.publish(request.app.get(DB_POOL))
    body, headers = render(metrics.registry, request.headers.getall("Accept", []))
    return web.Response(body=body, headers=headers)
