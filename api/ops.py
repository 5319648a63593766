"""The operators' listener: Prometheus metrics, readiness with each check's error, and the
interactive API docs, served on GENROUTE_OPS_HOST:GENROUTE_OPS_PORT (an internal address) by
the same process as the producers' API, over the same state. The producers' port carries
none of it: what operators see (errors, hosts, queue depths) is theirs."""

from collections.abc import Iterator, Mapping, Sequence

import redis
from fastapi import FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from genroute.api.readiness import readiness
from genroute.db.budgets import budget_states
from genroute.observability.metrics import ScrapeTimeGauges
from genroute.policies.rollback import PathState
from genroute.runtime.path_states import PathStateStore
from genroute.runtime.queueing import QUEUES, delivered_per_queue, path_backlog, queue_depth
from genroute.settings import Settings


def create_ops_app(public: FastAPI, settings: Settings) -> FastAPI:
    """Operators' endpoints over `public`'s state (its lifespan opens and closes it)."""
    ops = FastAPI(
        title="genroute operations",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        telemetry={"tracing": False, "metrics": False, "logs": False},  # scrapes are no requests
    )

    @ops.get("/metrics")
    def metrics() -> Response:
        """The API process's metrics, with queue depths and path states read at scrape time."""
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @ops.get("/readyz")
    def readyz() -> JSONResponse:
        """Each readiness check, timed, with its error when it fails (503 then)."""
        ready, checks = readiness(public, settings)
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return JSONResponse(status_code=200 if ready else 503, content=body)

    @ops.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @ops.get("/openapi.json")
    def openapi() -> JSONResponse:
        return JSONResponse(public.openapi())

    @ops.get("/docs")
    def docs() -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="genroute API")

    return ops


def redis_gauges(
    client: redis.Redis, path_states: PathStateStore, path_queues: Mapping[str, Sequence[str]]
) -> ScrapeTimeGauges:
    """Gauges read from Redis when scraped: queue depth per queue, backlog per path (what an
    autoscaler scales on), path state per (path, task type). A scrape while Redis is away
    still answers with the process's own metrics."""

    def read() -> Iterator[tuple[str, str, list[str], list[tuple]]]:
        try:
            depths = {queue: queue_depth(client, queue) for queue in QUEUES}
            backlog = path_backlog(depths, delivered_per_queue(client), path_queues)
            states = path_states.all()
        except redis.RedisError:
            return  # the scrape still answers with the process's own metrics
        yield (
            "genroute_queue_depth",
            "Messages waiting per queue",
            ["queue"],
            [(queue, float(depth)) for queue, depth in depths.items()],
        )
        yield (
            "genroute_path_backlog",
            "Work per path: waiting in any priority list of its queues, claimed ahead or running",
            ["path"],
            [(path, float(work)) for path, work in backlog.items()],
        )
        samples = [
            (path, task_type, state.value, 1.0 if current.state is state else 0.0)
            for (path, task_type), current in states.items()
            for state in PathState
        ]
        yield (
            "genroute_path_state",
            "Rollback state per (path, task type): 1 for the current state",
            ["path", "task_type", "state"],
            samples,
        )

    return ScrapeTimeGauges(read)


def budget_gauges(sessions: sessionmaker[Session]) -> ScrapeTimeGauges:
    """Each spend budget's current period, read from PostgreSQL when scraped: spend, what
    requests in flight hold, the limit and the soft limit (dashboards plot spend against
    budget, alerts fire past the soft limit). A scrape while the database is away still
    answers with the process's own metrics."""

    def read() -> Iterator[tuple[str, str, list[str], list[tuple]]]:
        try:
            with sessions() as session:
                states = budget_states(session, None)
        except SQLAlchemyError:
            return
        labels = ["subject_kind", "subject", "period"]
        figures = {
            "genroute_budget_spent_usd": ("Spend this period (USD)", "spent_usd"),
            "genroute_budget_held_usd": ("Held by requests in flight (USD)", "held_usd"),
            "genroute_budget_limit_usd": ("The budget's limit (USD)", "limit_usd"),
            "genroute_budget_soft_limit_usd": ("The budget's soft limit (USD)", "soft_limit_usd"),
        }
        for name, (text, field) in figures.items():
            samples = [
                (s.subject_kind.value, s.subject, s.period.value, float(getattr(s, field)))
                for s in states
                if getattr(s, field) is not None
            ]
            yield name, text, labels, samples

    return ScrapeTimeGauges(read)
