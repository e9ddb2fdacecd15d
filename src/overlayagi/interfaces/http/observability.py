"""Request ids, structured JSON logs, and Prometheus metrics for the server."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from overlayagi.mind.events import Event, LLMCall, RunFinished, RunStarted

REQUEST_ID: ContextVar[str] = ContextVar("overlay_request_id", default="-")
log = logging.getLogger("overlayagi.http")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": REQUEST_ID.get(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "overlay_http_requests_total",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "overlay_http_request_seconds",
            "HTTP request duration (until the response starts)",
            ["route"],
            registry=self.registry,
        )
        self.runs = Histogram(
            "overlay_run_seconds",
            "Frame run duration",
            ["frame", "status"],
            buckets=(0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320),
            registry=self.registry,
        )
        self.tokens = Counter(
            "overlay_llm_tokens_total",
            "LLM tokens, by model and kind (prompt, completion)",
            ["model", "kind"],
            registry=self.registry,
        )
        self.token_rate = Histogram(
            "overlay_llm_tokens_per_second",
            "Completion tokens per second of each LLM call",
            ["model"],
            buckets=(1, 2, 5, 10, 20, 40, 80, 160, 320),
            registry=self.registry,
        )

        self._frames: dict[str, str] = {}

    def emit(self, event: Event) -> None:
        """An ``EventSink``: runs and LLM calls become metrics."""
        if isinstance(event, RunStarted):
            if len(self._frames) > 10_000:
                self._frames.clear()
            self._frames[event.run_id] = event.frame.split("@")[0]
        elif isinstance(event, RunFinished):
            frame = self._frames.pop(event.run_id, "?")
            self.runs.labels(frame, event.status).observe(event.duration_s)
        elif isinstance(event, LLMCall):
            self.completion(
                event.model, event.prompt_tokens, event.completion_tokens, event.latency_s
            )

    def completion(self, model: str, prompt: int, completion: int, latency_s: float) -> None:
        self.tokens.labels(model, "prompt").inc(prompt)
        self.tokens.labels(model, "completion").inc(completion)
        if latency_s > 0 and completion:
            self.token_rate.labels(model).observe(completion / latency_s)


class CacheCollector(Collector):
    """Cache hits and misses, read from the store at scrape time (they persist across runs)."""

    def __init__(self, counters: Callable[[], dict[str, int]]) -> None:
        self._counters = counters

    def collect(self):  # type: ignore[no-untyped-def]
        family = CounterMetricFamily(
            "overlay_cache_events", "Cache hits and misses (embedding, answer)", labels=["event"]
        )
        for name, value in sorted(self._counters().items()):
            family.add_metric([name], value)
        yield family


def route_of(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def observe(
    metrics: Metrics,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            REQUEST_ID.reset(token)
        elapsed = time.perf_counter() - started
        route = route_of(request)
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(elapsed)
        response.headers["X-Request-ID"] = rid
        log.info(
            "%s %s %s",
            request.method,
            request.url.path,
            response.status_code,
            extra={
                "fields": {
                    "request_id": rid,
                    "method": request.method,
                    "path": request.url.path,
                    "status": response.status_code,
                    "ms": round(elapsed * 1000, 1),
                }
            },
        )
        return response

    return middleware
