"""Prometheus text exposition without a client library.

Request counters and latency histograms are kept per worker process (a scrape sees the worker
that answered; label ``worker`` says which). The gauges — open tasks, overdue tasks, timer lag,
cases by status — are read from the database, so every worker reports the same values.
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from engine.reads import Gauges

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class Metrics:
    """Thread-safe counters and histograms for HTTP requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = {}
        self._latency: dict[tuple[str, str], list[float]] = {}  # bucket counts, sum, count
        self.worker = str(os.getpid())

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (method, route, str(status))
            self._requests[key] = self._requests.get(key, 0) + 1
            hist = self._latency.setdefault((method, route), [0.0] * (len(BUCKETS) + 2))
            index = bisect_left(BUCKETS, seconds)
            if index < len(BUCKETS):
                hist[index] += 1
            hist[-2] += seconds
            hist[-1] += 1

    def render(self, gauges: Gauges) -> str:
        lines = [
            "# HELP bihuan_http_requests_total HTTP requests answered by this worker.",
            "# TYPE bihuan_http_requests_total counter",
        ]
        with self._lock:
            requests = dict(self._requests)
            latency = {k: list(v) for k, v in self._latency.items()}
        for (method, route, status), n in sorted(requests.items()):
            labels = _labels(method=method, route=route, status=status, worker=self.worker)
            lines.append(f"bihuan_http_requests_total{labels} {n}")
        lines += [
            "# HELP bihuan_http_request_duration_seconds Time to answer HTTP requests.",
            "# TYPE bihuan_http_request_duration_seconds histogram",
        ]
        for (method, route), hist in sorted(latency.items()):
            running = 0.0
            for bound, count in zip(BUCKETS, hist, strict=False):
                running += count
                labels = _labels(method=method, route=route, worker=self.worker, le=str(bound))
                lines.append(f"bihuan_http_request_duration_seconds_bucket{labels} {running:g}")
            labels = _labels(method=method, route=route, worker=self.worker, le="+Inf")
            lines.append(f"bihuan_http_request_duration_seconds_bucket{labels} {hist[-1]:g}")
            base = _labels(method=method, route=route, worker=self.worker)
            lines.append(f"bihuan_http_request_duration_seconds_sum{base} {hist[-2]:.6f}")
            lines.append(f"bihuan_http_request_duration_seconds_count{base} {hist[-1]:g}")
        lines += [
            "# HELP bihuan_open_tasks Human tasks open or claimed.",
            "# TYPE bihuan_open_tasks gauge",
            f"bihuan_open_tasks {gauges.open_tasks}",
            "# HELP bihuan_overdue_tasks Open human tasks past their due time.",
            "# TYPE bihuan_overdue_tasks gauge",
            f"bihuan_overdue_tasks {gauges.overdue_tasks}",
            "# HELP bihuan_timer_lag_seconds Age of the oldest pending due item past its time.",
            "# TYPE bihuan_timer_lag_seconds gauge",
            f"bihuan_timer_lag_seconds {gauges.timer_lag_seconds:.3f}",
            "# HELP bihuan_failed_due_items Due items that failed for good (incidents: the model"
            " or its data is wrong; see the case's timer_failed event).",
            "# TYPE bihuan_failed_due_items gauge",
            f"bihuan_failed_due_items {gauges.failed_due_items}",
            "# HELP bihuan_cases Cases by status.",
            "# TYPE bihuan_cases gauge",
        ]
        for status, n in sorted(gauges.cases_by_status.items()):
            lines.append(f"bihuan_cases{_labels(status=status)} {n}")
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Times every HTTP request and counts it by route template (not raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            template = str(getattr(route, "path", "unmatched"))
            self.metrics.observe(
                scope.get("method", "GET"), template, status[0], time.perf_counter() - started
            )
