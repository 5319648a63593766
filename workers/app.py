"""Build and run a Celery worker bound to one path (and one GPU).

Two shapes, chosen by the path's batch width:
- batch width 1: prefork with one child per concurrency slot. Each child builds its context in
  `worker_process_init`, so CUDA is first touched in the child; a child killed mid-generation
  is replaced and its message redelivered (`task_reject_on_worker_lost`).
- batch width N > 1: the threads pool in one process holding the model once, with a slot for
  each of the N requests the engine runs together and for those claimed ahead (`claim_ahead`,
  N by default), which wait so the engine never idles between batches; an in-process engine's
  requests meet in the Batcher, at most N of a served model's are at its server. If the
  process dies, the claims' leases expire and the sweeper republishes their tasks.
"""

import logging
import multiprocessing
import os
import signal
import socket

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown, worker_shutdown

from genroute.contract import PathName
from genroute.errors import EngineUnavailable
from genroute.observability.metrics import serve_worker_metrics
from genroute.policies import load_catalog
from genroute.runtime.queueing import make_celery
from genroute.settings import Settings
from genroute.workers.context import WorkerContext, build_context
from genroute.workers.engines.registry import PathConfig, load_paths
from genroute.workers.soft_shutdown import use_prompt_soft_shutdown
from genroute.workers.tasks import register_generate

log = logging.getLogger(__name__)

_context: WorkerContext | None = None
# Shared memory created before the pool forks: a child that cannot load its model flags it so
# the parent exits non-zero after the shutdown the child asked for.
_child_start_failed = multiprocessing.Value("b", 0, lock=False)


def _current_context() -> WorkerContext:
    if _context is None:
        raise RuntimeError("worker context missing: the model did not load in this process")
    return _context


def worker_name(path: PathName, gpu: str | None) -> str:
    device = f"gpu{gpu}" if gpu is not None else "cpu"
    return f"{path.value}-{device}@{socket.gethostname()}"


def _close_context(**_kwargs: object) -> None:
    if _context is not None:
        _context.close()


def _load_in_each_child(settings: Settings, path: PathName, name: str) -> None:
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

    worker_process_init.connect(init_process, weak=False)
    worker_process_shutdown.connect(_close_context, weak=False)


def _pool_arguments(config: PathConfig, concurrency: int | None) -> list[str]:
    if config.batch_width > 1:
        return ["--pool=threads", f"--concurrency={concurrency or config.claim_depth}"]
    return ["--pool=prefork", f"--concurrency={concurrency or 1}"]


def run_worker(
    settings: Settings, path: PathName, gpu: str | None, concurrency: int | None
) -> None:
    """Start a worker consuming `path`'s queues; blocks until shutdown."""
    global _context
    config = load_paths(settings.paths_file)[path]
    load_catalog(settings.task_types_file)  # fail here, clearly, not in every child
    name = worker_name(path, gpu)
    # Children inherit the bound port through the environment and announce it when ready.
    os.environ["GENROUTE_METRICS_PORT_BOUND"] = str(
        serve_worker_metrics(settings.worker_metrics_port)
    )
    app: Celery = make_celery(settings, settings.broker_url)
    # SIGTERM (what supervisors and `docker stop` send) becomes Celery's soft shutdown: stop
    # consuming, let running tasks finish within the grace period, then requeue what is left.
    app.conf.worker_soft_shutdown_timeout = settings.worker_shutdown_grace_s
    use_prompt_soft_shutdown(app)  # ... and no longer than they run
    os.environ["REMAP_SIGTERM"] = "SIGQUIT"
    register_generate(app, _current_context)
    if config.batch_width > 1:
        _context = build_context(settings, path, name)
        worker_shutdown.connect(_close_context, weak=False)
    else:
        _load_in_each_child(settings, path, name)
    try:
        app.worker_main(
            [
                "worker",
                f"--queues={','.join(config.queues)}",
                f"--hostname={name}",
                *_pool_arguments(config, concurrency),
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
