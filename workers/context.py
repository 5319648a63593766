"""Per-process worker context: built once per worker process (in each prefork child after the
fork, or in the process itself for the threads pool), then shared by every task it runs.
Holds the engine (model loaded once) and its batcher, DB sessions and the catalog."""

import logging
import os
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import redis
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from genroute.contract import PathName
from genroute.db.attempts import WorkerIdentity
from genroute.db.session import make_engine, make_session_factory
from genroute.interfaces import Engine, Generation, GenerationRequest
from genroute.observability.tracing import configure_tracing, shutdown_tracing
from genroute.policies import RoutingPolicy, TaskTypeCatalog, load_catalog, load_policy
from genroute.policies.catalog import JudgeConfig
from genroute.runtime.file_store import FileStore, file_store
from genroute.runtime.finish_events import announce_finished
from genroute.runtime.output_streams import OutputRelay
from genroute.runtime.path_states import PathStateStore, record_event
from genroute.runtime.queueing import redis_from_broker_url
from genroute.runtime.worker_registry import clear_ready, mark_ready
from genroute.settings import Settings
from genroute.workers.batching import Batcher, EngineRun, wait_for_result
from genroute.workers.engines.registry import PathConfig, build_engine, load_paths
from genroute.workers.validation.judge import Judge
from genroute.workers.warmup import warm_up

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
    redis: redis.Redis
    engine_threads: ThreadPoolExecutor
    output_relay: OutputRelay
    # Where attachments' bytes are (the API stored them at submit).
    files: FileStore
    # Other paths' engines this process judges with, built on the first judged output.
    judge_engines: dict[PathName, tuple[Engine, PathConfig]] = field(default_factory=dict)

    def generate(self, request: GenerationRequest, run: EngineRun | None = None) -> Generation:
        """One request through the batcher when there is one, else through this process's
        engine threads; `run` learns when the engine took it. The caller waits here, so the
        soft time limit (from that start) and a lost claim end the wait even where the engine
        itself cannot be interrupted."""
        run = run or EngineRun()
        if self.batcher is not None:
            future = self.batcher.submit(request, run)
        else:

            def alone() -> Generation:
                run.begin(1)
                return self.engine.generate([request])[0]

            future = self.engine_threads.submit(alone)
        return wait_for_result(future, request.cancel, self.settings.task_soft_time_limit_s, run)

    def cost_facts(self, generation: Generation) -> dict[str, float]:
        """GPU time shared evenly across the batch, and its cost at the path's prices."""
        batch_size = max(1, int(generation.facts.get("batch_size", 1)))
        seconds = (generation.finished_at - generation.started_at).total_seconds() / batch_size
        return attempt_cost(self.path_config, seconds, generation.tokens_in, generation.tokens_out)

    def cost_of(self, gpu_seconds: float) -> dict[str, float]:
        """`gpu_seconds` of this path's engine at its GPU-hour price (no tokens: an attempt
        that failed before its engine answered)."""
        return attempt_cost(self.path_config, gpu_seconds)

    def judge(self, config: JudgeConfig) -> Judge:
        """The LLM judge `config` asks for, on this process's engine when it judges with its
        own path, else on the judge path's engine (loaded here once, charged at its rate)."""
        if config.path.value == self.identity.path:
            generate, cost_of = self.generate, self.cost_facts
        else:
            if config.path not in self.judge_engines:
                path_config = load_paths(self.settings.paths_file)[config.path]
                engine = build_engine(
                    path_config, self.settings.model_cache_dir, self.settings.torch_threads
                )
                self.judge_engines[config.path] = (engine, path_config)
            engine, path_config = self.judge_engines[config.path]

            def generate(request: GenerationRequest) -> Generation:
                return engine.generate([request])[0]

            def cost_of(generation: Generation) -> dict[str, float]:
                held = (generation.finished_at - generation.started_at).total_seconds()
                return attempt_cost(path_config, held, generation.tokens_in, generation.tokens_out)

        model = self.identity.model if config.path.value == self.identity.path else engine.model
        return Judge(
            generate,
            cost_of,
            config.path.value,
            config.question,
            config.max_output_tokens,
            model=model,
        )

    def path_closed(self, task_type: str, queue: str) -> bool:
        """Whether this path is rolled back and cooling down for `task_type`, for work taken
        from the path's own queue (fallback work is the fallback path's business)."""
        path = self.identity.path
        if queue != path or not self.policy.can_roll_back(PathName(path)):
            return False
        try:
            return self.path_states.cooling_down(path, task_type)
        except redis.RedisError:  # unreadable path state: serve the task as routed
            return False

    def observe(self, task_type: str, accepted: bool) -> None:
        """Feed the rollback controller one outcome of this path, after the commit that
        recorded it. Observing only: a Redis or database failure here is logged and never
        costs the attempt, and a retried commit cannot count the outcome twice."""
        path = self.identity.path
        if not self.policy.can_roll_back(PathName(path)):
            return
        try:
            transition = self.path_states.observe(path, task_type, accepted)
            if transition is not None:
                with self.sessions.begin() as session:
                    record_event(session, path, task_type, transition)
        except Exception:
            log.exception("could not feed the rollback controller for %s/%s", path, task_type)

    def announce_finished(self, task_id: uuid.UUID) -> None:
        """Wake the API requests waiting on this task (after the commit that finished it)."""
        announce_finished(self.redis, [task_id])

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()
        self.output_relay.close()
        self.engine_threads.shutdown(wait=False, cancel_futures=True)
        try:
            clear_ready(self.redis, self.identity)
        finally:
            self.redis.close()
        self.db_engine.dispose()
        shutdown_tracing()


def attempt_cost(
    config: PathConfig, gpu_seconds: float, tokens_in: int = 0, tokens_out: int = 0
) -> dict[str, float]:
    """USD of engine time at the path's GPU-hour price plus tokens at its token prices (an
    external OpenAI-compatible path bills tokens; a self-hosted one, GPU time)."""
    usd = (
        gpu_seconds * config.cost_per_gpu_hour / 3600
        + tokens_in * config.usd_per_million_input_tokens / 1e6
        + tokens_out * config.usd_per_million_output_tokens / 1e6
    )
    return {"gpu_seconds": round(gpu_seconds, 6), "cost": round(usd, 8)}


def build_context(settings: Settings, path: PathName, worker_name: str) -> WorkerContext:
    """Load the path's engine, open the database and announce readiness (and export traces,
    where the OTEL_* variables ask for them, from this process)."""
    config = load_paths(settings.paths_file)[path]
    configure_tracing(f"genroute-worker-{path.value}")
    engine = build_engine(config, settings.model_cache_dir, settings.torch_threads)
    batcher = None
    if config.in_process and config.batch_width > 1:
        batcher = Batcher(engine, config.batch_width, config.batch_wait_ms / 1000)
    # Sized by the batch width, not the claim depth: transactions are short, and a worker of
    # 64 slots claiming 64 ahead must not open 129 connections (PostgreSQL allows 100).
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
    client = redis_from_broker_url(settings.broker_url)
    sessions = make_session_factory(db_engine)
    context = WorkerContext(
        settings=settings,
        path_config=config,
        engine=engine,
        batcher=batcher,
        catalog=catalog,
        policy=policy,
        path_states=PathStateStore(client, policy.rollback),
        sessions=sessions,
        db_engine=db_engine,
        identity=identity,
        redis=client,
        engine_threads=ThreadPoolExecutor(config.batch_width, thread_name_prefix="engine"),
        output_relay=OutputRelay(client, settings.stream_max_entries, settings.stream_ttl_s),
        files=file_store(settings, sessions),
    )
    warmup = warm_up(engine)
    mark_ready(client, identity, warmup)
    log.info(
        "worker %s ready: %s on %s (warm-up %s)", worker_name, engine.model, path.value, warmup
    )
    return context
