"""What `/readyz` checks: each dependency the API needs to accept work, timed, with the error
when it fails."""

import time
from collections.abc import Callable
from typing import Any

import redis
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from genroute.runtime.routing_policy import load_routing_policy
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
        load_routing_policy(settings)

    return {
        "database": _timed(database),
        "broker": _timed(client.ping),
        "policy_files": _timed(policy_files),
    }


def readiness(app: FastAPI, settings: Settings) -> tuple[bool, dict[str, dict[str, Any]]]:
    """Whether every check passed, and each check's answer."""
    checks = readiness_checks(app.state.sessions, app.state.redis, settings)
    return all(check["ok"] for check in checks.values()), checks
