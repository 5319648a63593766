"""Build the FastAPI application. Policy and catalog load (and fail) at start-up."""

from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import redis.asyncio
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session
from starlette.datastructures import State

from genroute import __version__
from genroute.api.auth import Principal
from genroute.api.auto_task_types import AutoTaskTypes
from genroute.api.batch_runner import BatchRunner, SubmissionFactory
from genroute.api.body_limit import BodySizeLimit
from genroute.api.errors import install_error_handlers
from genroute.api.ops import budget_gauges, redis_gauges
from genroute.api.readiness import readiness
from genroute.api.routes import (
    console,
    console_operations,
    openai,
    openai_batches,
    openai_files,
    paths,
    scorecard,
    spend,
    tasks,
)
from genroute.api.submission import Submission
from genroute.config import batch_widths, path_queues
from genroute.db.session import make_engine, make_session_factory
from genroute.observability.metrics import ScrapeTimeGauges
from genroute.observability.tracing import configure_tracing, shutdown_tracing
from genroute.policies import RoutingPolicy
from genroute.runtime.file_store import file_store
from genroute.runtime.finish_events import FinishWaiters
from genroute.runtime.live_figures import LiveFigures
from genroute.runtime.path_states import PathStateStore
from genroute.runtime.periodic import Periodic
from genroute.runtime.queueing import make_celery, redis_from_broker_url, redis_url
from genroute.runtime.ratelimit import RateLimiter
from genroute.runtime.retention import Pruner
from genroute.runtime.routing_policy import load_routing_policy
from genroute.runtime.share_controller import ShareController
from genroute.runtime.sweeper import Sweeper, SweepTimes
from genroute.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """The producers' app, bound to `settings`, whose URLs must point at running servers.
    Operators' endpoints (metrics, detailed readiness, the docs page) are served apart by
    `genroute.api.ops` on an internal listener."""
    policy = load_routing_policy(settings)
    # Where the OTEL_* variables ask for traces: FastAPI's own telemetry then makes each
    # request's server span (continuing a caller's traceparent), and submissions carry it on.
    configure_tracing("genroute-api")
    lifespan = _lifespan(settings, policy)
    app = FastAPI(
        title="genroute",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry={"exclude": _probe},  # a liveness probe every few seconds is no trace
    )
    # A batch input file may be larger than any other body (its own limit, plus the form).
    uploads = {"/v1/files": settings.max_file_bytes + 64 * 1024}
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, larger_for=uploads)
    install_error_handlers(app)
    app.include_router(tasks.router)
    app.include_router(paths.router)
    app.include_router(scorecard.router)
    app.include_router(spend.router)
    app.include_router(openai.router)
    app.include_router(openai_files.router)
    app.include_router(openai_batches.router)
    app.include_router(console.router)
    app.include_router(console_operations.router)

    _document_task_types(app, sorted(policy.catalog.task_types))

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up and serving."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "a check failed"}})
    def readyz(request: Request) -> JSONResponse:
        """Ready to accept work: the database and broker answer and the policy, catalog and
        paths files still load. Which check failed, and why, is on the operators' listener."""
        ready, _checks = readiness(request.app, settings)
        return JSONResponse(
            status_code=200 if ready else 503, content={"status": "ready" if ready else "not ready"}
        )

    return app


def _probe(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in ("/healthz", "/readyz")


def _lifespan(
    settings: Settings, policy: RoutingPolicy
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """What the app opens at start-up and closes at shutdown: the database pool, the broker
    and Redis clients, path states, the rate limiter, scrape-time gauges, the sweeper, the batch
    runner and (for a policy with adaptive shares) the share controller."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db_engine = make_engine(
            settings.database_url,
            settings.db_pool_size,
            settings.db_max_overflow,
            settings.db_pool_timeout_s,
        )
        app.state.settings = settings
        app.state.policy = policy
        app.state.sessions = make_session_factory(db_engine)
        app.state.celery = make_celery(settings, settings.broker_url)
        redis_client = redis_from_broker_url(settings.broker_url)
        app.state.redis = redis_client
        app.state.async_redis = redis.asyncio.Redis.from_url(redis_url(settings.broker_url))
        app.state.file_store = file_store(settings, app.state.sessions)
        app.state.auto_task_types = AutoTaskTypes(policy.catalog, settings)
        app.state.live_figures = LiveFigures(
            app.state.sessions,
            redis_client,
            batch_widths(settings.paths_file),
            window_s=settings.estimate_window_s,
            refresh_s=settings.estimate_refresh_s,
        )
        app.state.path_states = PathStateStore(redis_client, policy.rollback)
        app.state.rate_limiter = RateLimiter(redis_client)
        gauges = _scrape_time_gauges(app.state, settings)
        loops = _background_loops(app.state, settings)
        for loop in loops:
            loop.start()
        waiters = FinishWaiters(
            redis_url(settings.broker_url),
            settings.max_long_polls,
            reader_threads=max(2, settings.db_pool_size // 2),
        )
        app.state.finish_waiters = waiters
        await waiters.start()
        try:
            yield
        finally:
            await waiters.stop()
            await app.state.async_redis.aclose()
            for collector in gauges:
                REGISTRY.unregister(collector)
            for loop in reversed(loops):
                loop.stop()
            redis_client.close()
            db_engine.dispose()
            shutdown_tracing()

    return lifespan


def _scrape_time_gauges(state: State, settings: Settings) -> list[ScrapeTimeGauges]:
    """Gauges read when /metrics is scraped (queues and path states from Redis, budgets from
    PostgreSQL), registered with the process's registry."""
    queues = {path.value: names for path, names in path_queues(settings.paths_file).items()}
    gauges = [redis_gauges(state.redis, state.path_states, queues), budget_gauges(state.sessions)]
    for collector in gauges:
        REGISTRY.register(collector)
    return gauges


def _background_loops(state: State, settings: Settings) -> list[Periodic]:
    """The sweeper, the batch runner, retention when it is set and, for a policy with adaptive
    shares, the share controller, in the order they start (they stop in reverse)."""
    loops: list[Periodic] = [_sweeper(state, settings), batch_runner(state, settings)]
    if settings.retention_days is not None:
        loops.append(
            Pruner(
                state.sessions,
                state.file_store,
                retention_days=settings.retention_days,
                interval_s=settings.retention_interval_s,
            )
        )
    if state.policy.adaptive_rules():
        loops.append(
            ShareController(
                state.sessions,
                state.policy,
                state.path_states,
                state.redis,
                window_s=settings.share_window_s,
                interval_s=settings.share_interval_s,
            )
        )
    return loops


def _sweeper(state: State, settings: Settings) -> Sweeper:
    times = SweepTimes(
        unpublished_grace_s=settings.unpublished_grace_s,
        stale_queued_s=settings.republish_queued_after_s,
        orphaned_s=settings.republish_orphaned_after_s,
    )
    return Sweeper(
        state.sessions, state.celery, state.redis, interval_s=settings.sweep_interval_s, times=times
    )


def submission_factory(state: State, settings: Settings) -> SubmissionFactory:
    """Submissions as the batch runner makes them: as the batch owner's key would submit."""

    def submission(session: Session, principal: Principal) -> Submission:
        return Submission(
            session,
            state.sessions,
            state.policy,
            state.path_states,
            settings,
            state.celery,
            principal,
            state.rate_limiter,
            state.auto_task_types,
            state.live_figures,
            state.file_store,
        )

    return submission


def batch_runner(state: State, settings: Settings) -> BatchRunner:
    """The batch runner, submitting each batch's lines as its owner's key would."""
    submissions = submission_factory(state, settings)
    catalog, store = state.policy.catalog, state.file_store
    return BatchRunner(state.sessions, submissions, catalog, state.redis, store, settings)


def _document_task_types(app: FastAPI, names: list[str]) -> None:
    """List this deployment's task types in the served OpenAPI document (the contract only
    knows their pattern), so producers and fuzzers see what is accepted."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schemas = document["components"]["schemas"]
            schemas["TaskRequest"]["properties"]["task_type"]["enum"] = [*names, "auto"]
            schemas["ChatCompletionRequest"]["properties"]["model"]["enum"] = [*names, "auto"]
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
