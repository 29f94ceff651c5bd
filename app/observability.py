"""Observability without a web framework: request ids in log lines, JSON logs, Prometheus metrics.

* `REQUEST_ID` is a context variable the HTTP edge sets for each request (rest.middleware); a logging
  filter copies it onto every record, so every line a request causes carries its id.
* `log_config(settings)` is the `logging.config.dictConfig` for uvicorn and the app: plain text or, with
  `TMF629_LOG_FORMAT=json`, one JSON object per line.
* The metrics live in prometheus-client's default registry; with `PROMETHEUS_MULTIPROC_DIR` set (done by
  `tmf629 serve` when `TMF629_WORKERS` > 1) each worker writes its values to files that a scrape of any
  worker adds up. Children of labelled metrics are cached here, so a request costs two dict lookups and
  one observation.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from contextvars import ContextVar
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from app.settings import Settings

# The id as it goes on the wire (ASCII bytes), decoded only when a log line names it.
REQUEST_ID: ContextVar[bytes | None] = ContextVar("request_id", default=None)
METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST.replace("; charset=utf-8", "")  # Litestar adds the charset
MAX_OPERATION_NAMES = 100
_OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

# -- metrics ----------------------------------------------------------------------------------------

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Histogram(
    "tmf629_http_request_duration_seconds",
    "HTTP requests by route template, method and status: latency (the _count is the request count)",
    ["route", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)
GRAPHQL_OPERATIONS = Histogram(
    "tmf629_graphql_operation_duration_seconds",
    "GraphQL operations by operation name, type and outcome (ok or error): latency and count",
    ["operation", "type", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
DB_POOL_IN_USE = Gauge(
    "tmf629_db_pool_in_use", "Database connections checked out now", multiprocess_mode="livesum"
)
LIVE_SUBSCRIPTIONS = Gauge(
    "tmf629_graphql_subscriptions",
    "Live GraphQL subscriptions (event feed listeners)",
    multiprocess_mode="livesum",
)

_http_children: dict[tuple[str, str, int], Any] = {}
_graphql_children: dict[tuple[str, str, str], Any] = {}
_operation_names: set[str] = set()
HTTP_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))  # others: `other`


def _child(route: str, method: str, status: int) -> Any:
    key = (route, method, status)
    child = _http_children.get(key)
    if child is None:
        child = _http_children[key] = HTTP_REQUESTS.labels(route, method, str(status))
    return child


# One process: the HTTP edge (rest.middleware) adds each request's duration to its series' running sum and one
# to the count of its bucket, here, and these are folded into the histogram at each scrape, so a request costs
# a dict lookup and two list increments instead of a labelled lookup and two locked increments, and keeps
# nothing alive (no list of requests grows between scrapes). A series is a list: the sum, then the count of
# each bucket. The bucket of a duration is the first whose upper bound is at least it (prometheus-client's
# rule): with the bounds led by 0.0, `bisect_left(SERIES_BOUNDS, seconds, 1)` is the index of its count.
# Several workers write their values to shared files that any worker's scrape reads, so there each request
# goes to the histogram at once (`observe_shared`).
HTTP_SERIES: dict[tuple[str, str, int], list[float]] = {}
SERIES_BOUNDS = (0.0, *_LATENCY_BUCKETS)
new_series = ([0.0] * (len(SERIES_BOUNDS) + 1)).copy


def observe_shared(series: tuple[str, str, int], seconds: float) -> None:
    _child(*series).observe(seconds)


def flush_requests() -> None:
    """The requests noted since the last flush into the histogram: per series, one increment of its sum and
    one of each bucket that got any."""
    waiting = list(HTTP_SERIES.items())
    HTTP_SERIES.clear()
    for (route, method, status), series in waiting:
        child = _child(route, method, status)
        child._sum.inc(series[0])
        for bucket, count in zip(child._buckets, series[1:], strict=True):
            if count:
                bucket.inc(count)


def operation_label(name: str | None) -> str:
    """A client-chosen operation name as a label, without letting clients grow the label set unbounded."""
    if not name:
        return "anonymous"
    if name in _operation_names:
        return name
    if len(_operation_names) >= MAX_OPERATION_NAMES or not _OPERATION_NAME.fullmatch(name):
        return "other"
    _operation_names.add(name)
    return name


def observe_operation(name: str | None, operation_type: str, ok: bool, seconds: float) -> None:
    key = (operation_label(name), operation_type, "ok" if ok else "error")
    child = _graphql_children.get(key)
    if child is None:
        child = _graphql_children[key] = GRAPHQL_OPERATIONS.labels(*key)
    child.observe(seconds)


def multiprocess() -> bool:
    """Whether the metrics are shared by several workers (set before the app is built: tmf629 serve, or
    the environment)."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition(extra: dict[str, Any]) -> bytes:
    """The Prometheus text of every process's metrics, then `extra`: gauges read from the database at
    scrape time (one value for the whole service, whichever worker answers)."""
    flush_requests()
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    database = CollectorRegistry()
    for name, (help_text, labels, values) in extra.items():
        gauge = Gauge(name, help_text, labels, registry=database)
        for label_values, value in values:
            (gauge.labels(*label_values) if labels else gauge).set(value)
    return text + generate_latest(database)


# -- logging ----------------------------------------------------------------------------------------


def current_request_id() -> str:
    """The id of the request being served, or "-" outside one."""
    found = REQUEST_ID.get()
    return "-" if found is None else found.decode()


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (or "-") on every record a handler emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def log_config(settings: Settings) -> dict[str, Any]:
    """dictConfig for uvicorn (`log_config=`) and the app: one stderr handler on the root logger that
    uvicorn's loggers and `tmf629.*` share, with request ids, as text or JSON."""
    formatter: dict[str, Any] = (
        {"()": "app.observability.JsonFormatter"}
        if settings.log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    level = settings.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "app.observability.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # uvicorn's loggers write through the root handler (no handlers of their own).
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "INFO", "propagate": True},
        },
    }
