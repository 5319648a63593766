"""Commands that run genroute's processes and prepare what they need: `api`, `worker`,
`serve`, `demo`, `db upgrade` and `models prepare`."""

import json
import os
import shutil
import sys

import click

from genroute.cli.support import setup_logging
from genroute.settings import Settings

PATH_NAMES = click.Choice(["autoregressive", "diffusion"])


@click.command()
@click.option("--host", default=None, help="Bind address (default: GENROUTE_API_HOST).")
@click.option("--port", default=None, type=int, help="Port (default: GENROUTE_API_PORT).")
@click.option(
    "--ops-port", default=None, type=int, help="Operators' port (default: GENROUTE_OPS_PORT)."
)
def api(host: str | None, port: int | None, ops_port: int | None) -> None:
    """Serve the HTTP API (and the sweeper that republishes unpublished tasks), with metrics,
    detailed readiness and the docs page on the operators' internal listener."""
    from genroute.api.serving import serve
    from genroute.local.embedded import services

    setup_logging()
    with services(Settings()) as live:
        serve(
            live,
            host or live.api_host,
            live.api_port if port is None else port,
            live.ops_host,
            live.ops_port if ops_port is None else ops_port,
        )


@click.command()
@click.option(
    "--path",
    "path_name",
    required=True,
    type=PATH_NAMES,
    help="The generation path whose queues this worker consumes.",
)
@click.option("--gpu", default=None, type=click.IntRange(0), help="Pin the worker to this GPU.")
@click.option(
    "--concurrency",
    default=None,
    type=click.IntRange(1, 256),
    help="Task slots (default: the path's batch width plus claim_ahead; 1 for prefork).",
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
        from genroute.observability.metrics_dir import fresh_multiprocess_dir

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(
            fresh_multiprocess_dir(settings.data_dir / "metrics", path_name)
        )
    from genroute.contract import PathName
    from genroute.local.embedded import services
    from genroute.workers.app import run_worker

    setup_logging()
    gpu_label = os.environ.get("GENROUTE_GPU_ID") if gpu is not None else None
    try:
        with services(settings) as live:
            run_worker(live, PathName(path_name), gpu_label, concurrency)
    finally:
        if own_metrics_dir:
            shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


@click.command()
@click.option("--port", default=None, type=int, help="API port (default: GENROUTE_API_PORT).")
def serve(port: int | None) -> None:
    """Run the whole stack (embedded services unless configured, the API and one worker per
    path) in the foreground until interrupted; prints the API URL and an API key, and leaves
    them in the data folder for `genroute enqueue`."""
    from genroute.local.serve import serve_forever

    setup_logging("WARNING")
    settings = Settings()
    if port is not None:
        settings = settings.model_copy(update={"api_port": port})
    prepare_models(settings)
    serve_forever(settings)


@click.command()
@click.option("--count", default=12, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="End with one JSON object on the last line.")
@click.option("--timeout", "timeout_s", default=900.0, show_default=True, help="Seconds to wait.")
@click.option(
    "--judge", is_flag=True, help="Also put ticket summaries to the LLM judge (autoregressive)."
)
def demo(count: int, as_json: bool, timeout_s: float, judge: bool) -> None:
    """Run real tickets through the API, queues and one worker per path; print a table."""
    from genroute.local.demo import run_demo
    from genroute.observability.logs import configure_logging

    # A person watches this one: plain lines here; the API and workers still log JSON to files.
    configure_logging("WARNING" if as_json else "INFO", "text")
    settings = Settings()
    prepare_models(settings)  # once here, not in two workers at once
    summary = run_demo(settings, count, as_json, timeout_s, judge)
    if as_json:
        print(json.dumps(summary))
    if summary["terminal"] != summary["submitted"]:
        sys.exit(1)


@click.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from genroute.db.migrate import upgrade
    from genroute.local.embedded import services

    with services(Settings()) as live:
        upgrade(live.database_url, revision)
    click.echo(f"database at {revision}")


@db.command("check")
def db_check() -> None:
    """Exit 0 when the database is at the shipped head revision, 1 otherwise: what a pod's init
    container waits on, so nothing serves an old schema before the migration Job has run."""
    from genroute.db.migrate import revisions

    database_url = Settings().database_url
    if not database_url:
        raise click.UsageError("GENROUTE_DATABASE_URL is not set: there is no database to check")
    current, heads = revisions(database_url)
    if current != heads:
        click.echo(f"database at {sorted(current) or 'no revision'}, head is {sorted(heads)}")
        sys.exit(1)
    click.echo(f"database at head {', '.join(sorted(heads))}")


def prepare_models(settings: Settings) -> list[str]:
    """Build the built-in development models into the cache (once), and the lexicon claim
    support translates through where Debian's dictionaries are installed; their paths."""
    from genroute.workers.engines.models import BUILT_IN, resolve_model
    from genroute.workers.validation.lexicon import LEXICON_FILE, lexicon

    prepared = [resolve_model(model, settings.model_cache_dir) for model in BUILT_IN]
    return prepared + ([str(LEXICON_FILE)] if lexicon() is not None else [])


@click.group()
def models() -> None:
    """Model weights."""


@models.command("prepare")
def models_prepare() -> None:
    """Build the built-in development models and the lexicon into the model cache (once)."""
    setup_logging("WARNING")
    for folder in prepare_models(Settings()):
        click.echo(folder)
