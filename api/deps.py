"""What route handlers need, as named Annotated dependencies built from app.state."""

from collections.abc import Iterator
from typing import Annotated

import redis
import redis.asyncio
from celery import Celery
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from genroute.api.auto_task_types import AutoTaskTypes
from genroute.policies import RoutingPolicy
from genroute.runtime.file_store import FileStores
from genroute.runtime.finish_events import FinishWaiters
from genroute.runtime.live_figures import LiveFigures
from genroute.runtime.path_states import PathStateStore
from genroute.runtime.ratelimit import RateLimiter
from genroute.settings import Settings


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _policy(request: Request) -> RoutingPolicy:
    return request.app.state.policy


def _celery(request: Request) -> Celery:
    return request.app.state.celery


def _path_states(request: Request) -> PathStateStore:
    return request.app.state.path_states


def _redis(request: Request) -> redis.Redis:
    return request.app.state.redis


def _async_redis(request: Request) -> redis.asyncio.Redis:
    return request.app.state.async_redis


def _auto_task_types(request: Request) -> AutoTaskTypes:
    return request.app.state.auto_task_types


def _live_figures(request: Request) -> LiveFigures:
    return request.app.state.live_figures


def _file_store(request: Request) -> FileStores:
    return request.app.state.file_store


def _finish_waiters(request: Request) -> FinishWaiters:
    return request.app.state.finish_waiters


def _rate_limiter(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(_settings)]
PolicyDep = Annotated[RoutingPolicy, Depends(_policy)]
CeleryDep = Annotated[Celery, Depends(_celery)]
SessionDep = Annotated[Session, Depends(_session)]
# For handlers that open their own short sessions (long polls must not hold one open).
SessionsDep = Annotated[sessionmaker[Session], Depends(_sessions)]
PathStatesDep = Annotated[PathStateStore, Depends(_path_states)]
RateLimiterDep = Annotated[RateLimiter, Depends(_rate_limiter)]
FinishWaitersDep = Annotated[FinishWaiters, Depends(_finish_waiters)]
FileStoreDep = Annotated[FileStores, Depends(_file_store)]
AutoTaskTypesDep = Annotated[AutoTaskTypes, Depends(_auto_task_types)]
LiveFiguresDep = Annotated[LiveFigures, Depends(_live_figures)]
# The broker's Redis (path states, rate limits, finish notifications).
RedisDep = Annotated[redis.Redis, Depends(_redis)]
# The same Redis for handlers that wait on it without a thread (streamed output relays).
AsyncRedisDep = Annotated[redis.asyncio.Redis, Depends(_async_redis)]
