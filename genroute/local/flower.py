"""How Flower is started: Celery's `flower` command against genroute's broker, with basic
auth when credentials are set (Flower then also serves its HTTP API to those credentials).
The credentials and the broker URL (which may hold a password) travel in Flower's environment
(FLOWER_BASIC_AUTH, CELERY_BROKER_URL), readable by its own user only, never on its command
line, which any user of the host can read."""

import os
import sys

from genroute.settings import Settings


def flower_command(settings: Settings, port: int, address: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run Flower."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "flower",
        f"--port={port}",
        f"--address={address}",
        "--purge_offline_workers=300",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWER_")}
    env["CELERY_BROKER_URL"] = settings.broker_url
    if settings.flower_user and settings.flower_password:
        env["FLOWER_BASIC_AUTH"] = f"{settings.flower_user}:{settings.flower_password}"
    return command, env
