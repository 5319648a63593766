"""What `/readyz` checks: each dependency the API needs to accept work, timed, with the error
when it fails."""

import time
from collections.abc import Callable
from typing import Any

import redis
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from genroute.policies import load_catalog, load_policy
from genroute.runtime.placement import load_data_locations
from genroute.settings import Settings


def _timed(check: Callable[[], object]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure is the answer, not an error of this endpoint
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def readiness_checks(
    sessions: sessionmaker[Session], client: redis.Redis, settings: Settings
) -> dict[str, dict[str, Any]]:
    def database() -> None:
        with sessions() as session:
            session.execute(text("SELECT 1"))

    def policy_files() -> None:
        catalog = load_catalog(settings.task_types_file)
        load_policy(settings.policy_file, catalog, load_data_locations(settings.paths_file))

    return {
        "database": _timed(database),
        "broker": _timed(client.ping),
        "policy_files": _timed(policy_files),
    }


def readiness(app: FastAPI, settings: Settings) -> tuple[bool, dict[str, dict[str, Any]]]:
    """Whether every check passed, and each check's answer."""
    checks = readiness_checks(app.state.sessions, app.state.redis, settings)
    return all(check["ok"] for check in checks.values()), checks
