"""The `genroute` command line: demo, api, worker and db. Entry point only: this is the one
place (with tests) that imports `api` and `workers`."""

import json
import logging
import os
import sys
from typing import Any

import click

from genroute.errors import GenrouteError
from genroute.settings import Settings


def _setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s"
    )
    # pgserver logs every pg_ctl call with its full output at INFO; httpx logs every request.
    for chatty in ("pgserver", "httpx"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))


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

    _setup_logging("WARNING" if as_json else "INFO")
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

    _setup_logging()
    settings = Settings()
    with services(settings) as live:
        app = create_app(live)
        uvicorn.run(app, host=host or live.api_host, port=port or live.api_port, log_level="info")


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
    from genroute.contract import Path
    from genroute.embedded import services
    from workers.app import run_worker

    _setup_logging()
    gpu_label = os.environ.get("GENROUTE_GPU_ID") if gpu is not None else None
    with services(Settings()) as live:
        run_worker(live, Path(path_name), gpu_label, concurrency)


def _prepare_models(settings: Settings) -> list[str]:
    from workers.engines.models import BUILT_IN, resolve_model

    return [resolve_model(model, settings.model_cache_dir) for model in BUILT_IN]


@cli.group()
def models() -> None:
    """Model weights."""


@models.command("prepare")
def models_prepare() -> None:
    """Build the built-in development models into the model cache (once)."""
    _setup_logging("WARNING")
    for folder in _prepare_models(Settings()):
        click.echo(folder)


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


def main(argv: list[str] | None = None) -> Any:
    try:
        return cli.main(args=argv, prog_name="genroute", standalone_mode=True)
    except GenrouteError as exc:
        click.echo(f"genroute: error: {exc}", err=True)
        sys.exit(2)
