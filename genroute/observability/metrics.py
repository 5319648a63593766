"""Prometheus metrics for the API and the workers, defined once.

The API serves them from its own process registry at `/metrics`, adding what it reads from
Redis at scrape time (queue depth, rollback state). Workers run in multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR`, set by `genroute worker` before anything imports this module), so
a prefork worker's children all count into the one exporter its main process serves.
"""

import os
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)

TASKS_SUBMITTED = Counter(
    "genroute_tasks_submitted", "Tasks accepted by the API", ["path", "task_type"]
)
TASKS_FINISHED = Counter(
    "genroute_tasks_finished",
    "Tasks that reached a terminal state",
    ["path", "task_type", "status"],
)
ATTEMPTS = Counter(
    "genroute_attempts", "Attempts recorded, by outcome", ["path", "task_type", "outcome"]
)
FALLBACKS = Counter(
    "genroute_fallbacks", "Tasks requeued on the fallback queue", ["path", "task_type"]
)
VALIDATION_FAILURES = Counter(
    "genroute_validation_failures", "Failed validator verdicts", ["validator", "task_type"]
)
TOKENS = Counter("genroute_tokens_generated", "Output tokens generated", ["path", "engine"])
END_TO_END = Histogram(
    "genroute_task_latency_seconds",
    "Submit to terminal, per finished task",
    ["path", "task_type"],
    buckets=LATENCY_BUCKETS,
)
QUEUE_WAIT = Histogram(
    "genroute_queue_wait_seconds",
    "Enqueue to claim, per attempt",
    ["queue"],
    buckets=LATENCY_BUCKETS,
)
GENERATION = Histogram(
    "genroute_generation_seconds",
    "Engine time per attempt",
    ["path", "engine"],
    buckets=LATENCY_BUCKETS,
)
CACHE_LOOKUPS = Counter(
    "genroute_cache_lookups",
    "Submissions of cached task types, by whether the cache of accepted outputs answered",
    ["task_type", "result"],
)
SPEND = Counter(
    "genroute_spend_usd",
    "Recorded attempts' cost in USD (failed, refused and judged attempts too)",
    ["path", "task_type"],
)
LONG_POLLS = Gauge(
    "genroute_long_polls", "Long polls this API process holds", multiprocess_mode="livesum"
)
BATCH_SIZE = Histogram(
    "genroute_engine_batch_size",
    "Requests in the engine batch an attempt ran in",
    ["path", "engine"],
    buckets=BATCH_BUCKETS,
)


# Gauges the API computes when scraped (api/ops.py): queue depths and path states from Redis,
# spend budgets from PostgreSQL.
SCRAPE_TIME_GAUGES = (
    "genroute_queue_depth",
    "genroute_path_backlog",
    "genroute_path_state",
    "genroute_budget_spent_usd",
    "genroute_budget_held_usd",
    "genroute_budget_limit_usd",
    "genroute_budget_soft_limit_usd",
)


class ScrapeTimeGauges(Collector):
    """Gauges computed when scraped: `read()` yields (name, help, labels, samples)."""

    def __init__(
        self, read: Callable[[], Iterable[tuple[str, str, list[str], list[tuple]]]]
    ) -> None:
        self._read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        for name, text, labels, samples in self._read():
            family = GaugeMetricFamily(name, text, labels=labels)
            for *values, value in samples:
                family.add_metric(list(values), value)
            yield family


def serve_worker_metrics(port: int) -> int:
    """Serve every process's metrics of this worker on `port` (0: a free one); returns it."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=os.environ["PROMETHEUS_MULTIPROC_DIR"])
    server, _thread = start_http_server(port, addr="0.0.0.0", registry=registry)
    return server.server_port
