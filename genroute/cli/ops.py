"""Operator commands: `genroute flower` (Flower behind basic auth) and `genroute worker-health`."""

import json
import sys

import click

from genroute.cli.support import live_database
from genroute.settings import Settings


@click.command()
@click.option("--port", default=5555, show_default=True, type=int)
@click.option("--address", default="127.0.0.1", show_default=True)
@click.option(
    "--local-dev",
    is_flag=True,
    help="Allow running without credentials (only for a laptop; never on a shared network).",
)
def flower(port: int, address: str, local_dev: bool) -> None:
    """Run Flower against the configured broker, behind basic auth from GENROUTE_FLOWER_USER
    and GENROUTE_FLOWER_PASSWORD. Refuses to start without them unless --local-dev."""
    from genroute.local.embedded import services
    from genroute.local.flower import flower_command
    from genroute.local.processes import run_in_foreground

    settings = Settings()
    if not (settings.flower_user and settings.flower_password) and not local_dev:
        raise click.UsageError(
            "Flower needs credentials: set GENROUTE_FLOWER_USER and GENROUTE_FLOWER_PASSWORD "
            "(or pass --local-dev on a machine nobody else can reach)"
        )
    with services(settings) as live:
        command, env = flower_command(live, port, address)
        # A child, not exec: embedded servers started here must be stopped when Flower ends,
        # and a signal to this process must reach Flower (it outlived a parent gone on SIGTERM).
        returncode = run_in_foreground(command, env)
    sys.exit(returncode)


@click.command("worker-health")
@click.option(
    "--path", "path_name", required=True, type=click.Choice(["autoregressive", "diffusion"])
)
@click.option("--stall", "stall_s", default=300.0, show_default=True, help="Seconds.")
@click.option("--timeout", "timeout_s", default=5.0, show_default=True, help="Ping wait.")
@click.option("--any-host", is_flag=True, help="Accept a worker on another host.")
def worker_health(path_name: str, stall_s: float, timeout_s: float, any_host: bool) -> None:
    """Exit 0 if a PATH worker answers a ping and its queues are moving, else 1 (prints JSON)."""
    from genroute.contract import PathName
    from genroute.runtime.queueing import make_celery, redis_from_broker_url
    from genroute.runtime.worker_health import check_worker
    from genroute.workers.engines.registry import load_paths

    with live_database() as (settings, sessions):
        queues = load_paths(settings.paths_file)[PathName(path_name)].queues
        app = make_celery(settings, settings.broker_url)
        client = redis_from_broker_url(settings.broker_url)
        try:
            report = check_worker(
                app,
                client,
                sessions,
                path_name,
                queues,
                stall_s=stall_s,
                timeout_s=timeout_s,
                this_host_only=not any_host,
            )
        finally:
            client.close()
            app.close()
    click.echo(json.dumps(report))
    sys.exit(0 if report["healthy"] else 1)
