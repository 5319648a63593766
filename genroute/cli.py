"""The `genroute` command line: demo, api, worker and db. Entry point only: this is the one
place (with tests) that imports `api` and `workers`."""

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import click

from genroute.cli_backlog import enqueue, sample_backlog
from genroute.cli_eval import eval_command
from genroute.cli_keys import keys
from genroute.cli_ops import flower, worker_health
from genroute.cli_replay import replay
from genroute.cli_scorecard import scorecard
from genroute.cli_support import live_database, setup_logging
from genroute.errors import GenrouteError
from genroute.logs import configure_logging
from genroute.settings import Settings


@click.group()
def cli() -> None:
    """Route text generation between a diffusion LM and an autoregressive LLM."""


@cli.command()
@click.option("--count", default=12, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="End with one JSON object on the last line.")
@click.option("--timeout", "timeout_s", default=900.0, show_default=True, help="Seconds to wait.")
def demo(count: int, as_json: bool, timeout_s: float) -> None:
    """Run real tickets through the API, queues and one worker per path; print a table."""
    from genroute.demo import run_demo

    # A person watches this one: plain lines here; the API and workers still log JSON to files.
    configure_logging("WARNING" if as_json else "INFO", "text")
    settings = Settings()
    _prepare_models(settings)  # once here, not in two workers at once
    summary = run_demo(settings, count, as_json, timeout_s)
    if as_json:
        print(json.dumps(summary))
    if summary["terminal"] != summary["submitted"]:
        sys.exit(1)


@cli.command()
@click.option("--host", default=None, help="Bind address (default: GENROUTE_API_HOST).")
@click.option("--port", default=None, type=int, help="Port (default: GENROUTE_API_PORT).")
def api(host: str | None, port: int | None) -> None:
    """Serve the HTTP API (and the sweeper that republishes unpublished tasks)."""
    import uvicorn

    from api.app import create_app
    from genroute.embedded import services

    setup_logging()
    settings = Settings()
    with services(settings) as live:
        app = create_app(live)
        # log_config=None: uvicorn's lines go through our handler (JSON) like everything else.
        uvicorn.run(
            app,
            host=host or live.api_host,
            port=port or live.api_port,
            log_level="info",
            log_config=None,
        )


@cli.command()
@click.option(
    "--path",
    "path_name",
    required=True,
    type=click.Choice(["autoregressive", "diffusion"]),
    help="The generation path whose queues this worker consumes.",
)
@click.option("--gpu", default=None, type=click.IntRange(0), help="Pin the worker to this GPU.")
@click.option(
    "--concurrency",
    default=None,
    type=click.IntRange(1, 256),
    help="Task slots (default: the path's batch width; 1 for prefork).",
)
def worker(path_name: str, gpu: int | None, concurrency: int | None) -> None:
    """Run a Celery worker for one path, loading its model once per worker process."""
    # Pin the GPU before anything can import torch: CUDA reads this once, at initialisation.
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
        # A container sees its one GPU as device 0; GENROUTE_GPU_ID can keep the host's id.
        os.environ.setdefault("GENROUTE_GPU_ID", str(gpu))
    settings = Settings()
    own_metrics_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    if own_metrics_dir:
        # Before anything imports prometheus_client: every process of this worker counts into
        # one directory that the worker's exporter reads.
        from genroute.metrics_dir import fresh_multiprocess_dir

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(
            fresh_multiprocess_dir(settings.data_dir / "metrics", path_name)
        )
    from genroute.contract import Path
    from genroute.embedded import services
    from workers.app import run_worker

    setup_logging()
    gpu_label = os.environ.get("GENROUTE_GPU_ID") if gpu is not None else None
    try:
        with services(settings) as live:
            run_worker(live, Path(path_name), gpu_label, concurrency)
    finally:
        if own_metrics_dir:
            shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def _prepare_models(settings: Settings) -> list[str]:
    from workers.engines.models import BUILT_IN, resolve_model

    return [resolve_model(model, settings.model_cache_dir) for model in BUILT_IN]


@cli.group()
def models() -> None:
    """Model weights."""


@models.command("prepare")
def models_prepare() -> None:
    """Build the built-in development models into the model cache (once)."""
    setup_logging("WARNING")
    for folder in _prepare_models(Settings()):
        click.echo(folder)


@cli.group(invoke_without_command=True)
@click.pass_context
def paths(context: click.Context) -> None:
    """Path health: every (path, task type) the rollback controller has seen."""
    if context.invoked_subcommand is not None:
        return
    with _health() as (_settings, _sessions, _policy, store):
        states = store.all()
        if not states:
            click.echo("no outcomes recorded yet: every path is active")
        for (path, task_type), health in states.items():
            failures = sum(1 for ok in health.outcomes if not ok)
            click.echo(
                f"{path:<15} {task_type:<20} {health.state.value:<12} "
                f"window {failures}/{len(health.outcomes)} failed  cooldown {health.cooldown_s:g}s"
            )


def _force_paths(path: str, task_type: str | None, state: str) -> None:
    from genroute.contract import Path
    from genroute.health import record_event
    from policies.rollback import HealthState

    with _health() as (_settings, sessions, policy, store):
        if not policy.can_roll_back(Path(path)):
            raise click.UsageError(f"{path} is the fallback path; it cannot be rolled back")
        types = [task_type] if task_type else sorted(policy.catalog.task_types)
        with sessions.begin() as session:
            for name in types:
                transition = store.force(path, name, HealthState(state))
                if transition is not None:
                    record_event(session, path, name, transition, manual=True)
                    click.echo(f"{path}/{name}: {transition.from_state} -> {transition.to_state}")


@paths.command("rollback")
@click.argument("path", type=click.Choice(["diffusion", "autoregressive"]))
@click.option("--task-type", default=None, help="Only this task type (default: all).")
def paths_rollback(path: str, task_type: str | None) -> None:
    """Stop sending new traffic to PATH; it probes again after the cooldown."""
    _force_paths(path, task_type, "rolled_back")


@paths.command("restore")
@click.argument("path", type=click.Choice(["diffusion", "autoregressive"]))
@click.option("--task-type", default=None, help="Only this task type (default: all).")
def paths_restore(path: str, task_type: str | None) -> None:
    """Send PATH its full traffic again."""
    _force_paths(path, task_type, "active")


@contextlib.contextmanager
def _health() -> Iterator[tuple[Settings, Any, Any, Any]]:
    from genroute.health import HealthStore
    from genroute.readiness import redis_from_broker_url
    from policies import load_catalog, load_policy

    with live_database() as (settings, sessions):
        policy = load_policy(settings.policy_file, load_catalog(settings.task_types_file))
        store = HealthStore(redis_from_broker_url(settings.broker_url), policy.rollback)
        try:
            yield settings, sessions, policy, store
        finally:
            store.close()


@cli.group()
def failed() -> None:
    """Dead letters: tasks that ended failed, with every attempt kept."""


@failed.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def failed_list(limit: int, as_json: bool) -> None:
    """Show failed tasks, newest first."""
    from genroute.db.tasks import failed_tasks

    with live_database() as (_settings, sessions), sessions() as session:
        for task in failed_tasks(session, limit):
            row = {
                "id": str(task.id),
                "task_type": task.task_type,
                "route": task.route_path,
                "attempts": task.attempt_count,
                "finished_at": task.finished_at.isoformat() if task.finished_at else None,
                "error": task.error,
            }
            click.echo(json.dumps(row) if as_json else "  ".join(str(v) for v in row.values()))


@failed.command("requeue")
@click.argument("task_ids", nargs=-1, type=click.UUID)
@click.option("--queue", type=click.Choice(["diffusion", "autoregressive", "fallback"]))
@click.option("--attempts", default=None, type=click.IntRange(1, 20), help="Fresh attempts.")
def failed_requeue(task_ids: tuple, queue: str | None, attempts: int | None) -> None:
    """Give failed tasks a fresh attempt budget and queue them again."""
    from genroute.db.tasks import mark_published, requeue_failed
    from genroute.queueing import make_celery, publish

    with live_database() as (settings, sessions):
        app = make_celery(settings, settings.broker_url)
        for task_id in task_ids:
            with sessions.begin() as session:
                task = requeue_failed(session, task_id, queue, attempts or settings.max_attempts)
                target = task.queue if task else None
            if target is None:
                click.echo(f"{task_id}: not a failed task, left alone", err=True)
                continue
            publish(app, task_id, target)
            with sessions.begin() as session:
                mark_published(session, task_id)
            click.echo(f"{task_id}: requeued on {target}")


@cli.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from genroute.db.migrate import upgrade
    from genroute.embedded import services

    with services(Settings()) as live:
        upgrade(live.database_url, revision)
    click.echo(f"database at {revision}")


@cli.command()
@click.option("--port", default=None, type=int, help="API port (default: GENROUTE_API_PORT).")
def serve(port: int | None) -> None:
    """Run the whole stack (embedded services unless configured, the API and one worker per
    path) in the foreground until interrupted; prints the API URL and an API key, and leaves
    them in the data folder for `genroute enqueue`."""
    from genroute.serve import serve_forever

    setup_logging("WARNING")
    settings = Settings()
    if port is not None:
        settings = settings.model_copy(update={"api_port": port})
    _prepare_models(settings)
    serve_forever(settings)


cli.add_command(keys)
cli.add_command(worker_health)
cli.add_command(flower)
cli.add_command(enqueue)
cli.add_command(sample_backlog)
cli.add_command(scorecard)
cli.add_command(eval_command)
cli.add_command(replay)


def main(argv: list[str] | None = None) -> Any:
    try:
        return cli.main(args=argv, prog_name="genroute", standalone_mode=True)
    except GenrouteError as exc:
        click.echo(f"genroute: error: {exc}", err=True)
        sys.exit(2)
