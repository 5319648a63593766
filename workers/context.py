"""Per-process worker context: built once per worker process (in each prefork child after the
fork, or in the process itself for the threads pool), then shared by every task it runs.
Holds the engine (model loaded once) and its batcher, DB sessions and the catalog."""

import logging
import os
import socket
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import redis
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from genroute.contract import Route
from genroute.db.attempts import WorkerIdentity
from genroute.db.session import make_engine, make_session_factory
from genroute.errors import EngineTimeout
from genroute.interfaces import Engine, Generation, GenerationRequest
from genroute.policies import RoutingPolicy, TaskTypeCatalog, load_catalog, load_policy
from genroute.policies.rollback import cooling_down
from genroute.runtime.path_states import PathStateStore, record_event
from genroute.runtime.queueing import redis_from_broker_url
from genroute.runtime.worker_registry import clear_ready, mark_ready
from genroute.settings import Settings
from genroute.workers.batching import Batcher
from genroute.workers.engines.registry import PathConfig, build_engine, load_paths

log = logging.getLogger(__name__)


@dataclass
class WorkerContext:
    settings: Settings
    path_config: PathConfig
    engine: Engine
    batcher: Batcher | None
    catalog: TaskTypeCatalog
    policy: RoutingPolicy
    path_states: PathStateStore
    sessions: sessionmaker[Session]
    db_engine: DbEngine
    identity: WorkerIdentity

    def generate(self, request: GenerationRequest) -> Generation:
        """One request through the batcher when there is one, else straight to the engine.

        The batcher runs in its own thread, out of reach of Celery's time limits, so the
        soft limit is applied here."""
        if self.batcher is None:
            return self.engine.generate([request])[0]
        future = self.batcher.submit(request)
        try:
            return future.result(timeout=self.settings.task_soft_time_limit_s)
        except FutureTimeout as exc:
            future.cancel()
            raise EngineTimeout(
                f"no result within the soft limit of {self.settings.task_soft_time_limit_s}s"
            ) from exc

    def cost_facts(self, generation: Generation) -> dict[str, float]:
        """GPU time shared evenly across the batch, and its cost at the path's rate."""
        batch_size = max(1, int(generation.facts.get("batch_size", 1)))
        seconds = (generation.finished_at - generation.started_at).total_seconds() / batch_size
        return self.cost_of(seconds)

    def cost_of(self, gpu_seconds: float) -> dict[str, float]:
        """`gpu_seconds` of this path's engine at its rate (currency per GPU-hour)."""
        return {
            "gpu_seconds": round(gpu_seconds, 6),
            "cost": round(gpu_seconds * self.path_config.cost_per_gpu_hour / 3600, 8),
        }

    def path_closed(self, task_type: str, queue: str) -> bool:
        """Whether this path is rolled back and cooling down for `task_type`, for work taken
        from the path's own queue (fallback work is the fallback path's business)."""
        path = self.identity.path
        if queue != path or not self.policy.can_roll_back(Route(path)):
            return False
        try:
            return cooling_down(self.path_states.current(path, task_type), time.time())
        except redis.RedisError:  # unreadable path state: serve the task as routed
            return False

    def observe(self, session: Session, path: str, task_type: str, accepted: bool) -> None:
        """Feed the rollback controller one outcome of a path that can be rolled back."""
        if not self.policy.can_roll_back(Route(path)):
            return
        transition = self.path_states.observe(path, task_type, accepted)
        if transition is not None:
            record_event(session, path, task_type, transition)

    def close(self) -> None:
        self.path_states.close()
        if self.batcher is not None:
            self.batcher.close()
        client = redis_from_broker_url(self.settings.broker_url)
        try:
            clear_ready(client, self.identity)
        finally:
            client.close()
        self.db_engine.dispose()


def build_context(settings: Settings, path: Route, worker_name: str) -> WorkerContext:
    """Load the path's engine, open the database and announce readiness."""
    config = load_paths(settings.paths_file)[path]
    engine = build_engine(config, settings.model_cache_dir, settings.torch_threads)
    batcher = None
    if config.in_process and config.batch_width > 1:
        batcher = Batcher(engine, config.batch_width, config.batch_wait_ms / 1000)
    db_engine = make_engine(settings.database_url, pool_size=max(2, config.batch_width + 1))
    identity = WorkerIdentity(
        path=path.value,
        engine=engine.name,
        model=engine.model,
        host=socket.gethostname(),
        name=worker_name,
        pid=os.getpid(),
        gpu_id=os.environ.get("GENROUTE_GPU_ID"),
    )
    catalog = load_catalog(settings.task_types_file)
    policy = load_policy(settings.policy_file, catalog)
    context = WorkerContext(
        settings=settings,
        path_config=config,
        engine=engine,
        batcher=batcher,
        catalog=catalog,
        policy=policy,
        path_states=PathStateStore(redis_from_broker_url(settings.broker_url), policy.rollback),
        sessions=make_session_factory(db_engine),
        db_engine=db_engine,
        identity=identity,
    )
    client = redis_from_broker_url(settings.broker_url)
    try:
        mark_ready(client, identity)
    finally:
        client.close()
    log.info("worker %s ready: %s on %s", worker_name, engine.model, path.value)
    return context
