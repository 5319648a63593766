"""Per-process worker context: built once in each worker child (after fork), then shared by
every task that child runs. Holds the engine (model loaded once), DB sessions and catalog."""

import logging
import os
import socket
from dataclasses import dataclass

from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from genroute.contract import Path as RoutePath
from genroute.db.session import make_engine, make_session_factory
from genroute.db.tasks import WorkerIdentity
from genroute.engine import Engine
from genroute.readiness import mark_ready, redis_from_broker_url
from genroute.settings import Settings
from policies import TaskTypeCatalog, load_catalog
from workers.engines.registry import build_engine, load_paths

log = logging.getLogger(__name__)


@dataclass
class WorkerContext:
    settings: Settings
    engine: Engine
    catalog: TaskTypeCatalog
    sessions: sessionmaker[Session]
    db_engine: DbEngine
    identity: WorkerIdentity


def build_context(settings: Settings, path: RoutePath, worker_name: str) -> WorkerContext:
    """Load the path's engine and open the database; called in `worker_process_init`."""
    config = load_paths(settings.paths_file)[path]
    engine = build_engine(config, settings.model_cache_dir, settings.torch_threads)
    db_engine = make_engine(settings.database_url, pool_size=2)
    identity = WorkerIdentity(
        path=path.value,
        engine=engine.name,
        model=engine.model,
        host=socket.gethostname(),
        name=worker_name,
        pid=os.getpid(),
        gpu_id=os.environ.get("GENROUTE_GPU_ID"),
    )
    context = WorkerContext(
        settings=settings,
        engine=engine,
        catalog=load_catalog(settings.task_types_file),
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
