"""Build and run a Celery worker bound to one path (and one GPU).

The parent process never loads the model: each prefork child builds its WorkerContext in
`worker_process_init`, so CUDA is first touched in the child, after CUDA_VISIBLE_DEVICES is set.
"""

import logging
import multiprocessing
import os
import signal
import socket

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from genroute.contract import Path as RoutePath
from genroute.errors import EngineUnavailable
from genroute.queueing import make_celery
from genroute.readiness import clear_ready, redis_from_broker_url
from genroute.settings import Settings
from policies import load_catalog
from workers.context import WorkerContext, build_context
from workers.engines.registry import load_paths
from workers.tasks import register_generate

log = logging.getLogger(__name__)

_context: WorkerContext | None = None
# Shared memory created before the pool forks: a child that cannot load its model flags it so
# the parent exits non-zero after the shutdown the child asked for.
_child_start_failed = multiprocessing.Value("b", 0, lock=False)


def _current_context() -> WorkerContext:
    if _context is None:
        raise RuntimeError("worker context missing: the model did not load in this process")
    return _context


def worker_name(path: RoutePath, gpu: str | None) -> str:
    device = f"gpu{gpu}" if gpu is not None else "cpu"
    return f"{path.value}-{device}@{socket.gethostname()}"


def create_worker_app(settings: Settings, path: RoutePath, name: str) -> Celery:
    app = make_celery(settings, settings.broker_url)
    register_generate(app, _current_context)

    def init_process(**_kwargs: object) -> None:
        global _context
        try:
            _context = build_context(settings, path, name)
        except Exception:
            # Celery would log this and keep a child without a model; stop the whole worker so
            # its supervisor (or the demo) sees the failure instead of tasks failing one by one.
            log.exception("worker process could not start; shutting the worker down")
            _child_start_failed.value = 1
            os.kill(os.getppid(), signal.SIGTERM)
            os._exit(1)

    def shutdown_process(**_kwargs: object) -> None:
        if _context is None:
            return
        client = redis_from_broker_url(settings.broker_url)
        try:
            clear_ready(client, _context.identity)
        finally:
            client.close()
        _context.db_engine.dispose()

    worker_process_init.connect(init_process, weak=False)
    worker_process_shutdown.connect(shutdown_process, weak=False)
    return app


def run_worker(settings: Settings, path: RoutePath, gpu: str | None, concurrency: int) -> None:
    """Start a prefork worker consuming `path`'s queues; blocks until shutdown."""
    config = load_paths(settings.paths_file)[path]
    load_catalog(settings.task_types_file)  # fail here, clearly, not in every child
    name = worker_name(path, gpu)
    app = create_worker_app(settings, path, name)
    try:
        app.worker_main(
            [
                "worker",
                f"--queues={','.join(config.queues)}",
                f"--hostname={name}",
                f"--concurrency={concurrency}",
                "--pool=prefork",
                "--events",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    except SystemExit as exit_:
        if exit_.code not in (0, None) or not _child_start_failed.value:
            raise
    if _child_start_failed.value:
        raise EngineUnavailable(
            f"a {path.value} worker process could not load engine '{config.engine}' with model "
            f"'{config.model}'; the log above has the cause"
        )
