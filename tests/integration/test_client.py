"""The Python client (sync and async) against the running API: submit, batches, waits,
listing, path health, and a 429 it rides out by honouring Retry-After."""

import asyncio
import time
import uuid

import pytest
from sqlalchemy import select

from genroute.client import ApiError, AsyncClient, Client
from genroute.contract import Scope
from genroute.db.models import ApiKey
from genroute.local.stack import Stack, issue_key
from genroute.settings import Settings
from tests.helpers import ticket

pytestmark = pytest.mark.integration


def test_sync_client_round_trip(stack: Stack, settings: Settings) -> None:
    key = issue_key(settings, "client-user", (Scope.submit, Scope.read))
    tag = uuid.uuid4().hex
    with Client(stack.api_url, key) as client:
        accepted = client.submit(ticket(task_type="classification", metadata={"run": tag}))
        assert accepted.created and accepted.route.path.value == "diffusion"
        done = client.wait(accepted.id, timeout_s=120)
        assert done.status.value == "succeeded" and done.owner == "client-user"

        results = client.submit_many(
            [ticket(task_type="classification", metadata={"run": tag}), {"task_type": "x"}]
        )
        assert [r.outcome for r in results] == ["accepted", "rejected"]
        ids = [accepted.id, results[0].task.id]
        views = list(client.iter_results(ids, timeout_s=120))
        assert [v.id for v in views] == ids and all(v.status.is_terminal for v in views)

        listed = list(client.tasks(tag=f"run:{tag}", limit=1))
        assert {t.id for t in listed} == set(ids)
        assert {p.path for p in client.paths()} == {"diffusion", "autoregressive"}
        with pytest.raises(ApiError) as caught:
            client.get(uuid.uuid4())
        assert caught.value.status == 404


def test_client_honours_retry_after(stack: Stack, settings: Settings, sessions) -> None:
    key = issue_key(settings, "bursty", (Scope.submit, Scope.read))
    with sessions.begin() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.prefix == key[3:15])).one()
        row.rate_limit_per_minute = 60  # one a second once the minute's burst is spent
    with Client(stack.api_url, key) as client:
        client.submit_many([{"bad": 1}] * 60)  # the burst, spent on rejected items
        started = time.monotonic()
        accepted = client.submit(ticket(task_type="classification"))
        assert time.monotonic() - started >= 0.9  # waited for the 429's Retry-After
        assert client.wait(accepted.id, timeout_s=120).status.is_terminal


def test_async_client(stack: Stack, settings: Settings) -> None:
    key = issue_key(settings, "async-user", (Scope.submit, Scope.read))

    async def scenario() -> list[str]:
        async with AsyncClient(stack.api_url, key) as client:
            results = await client.submit_many(
                [ticket(task_type="classification"), ticket(task_type="classification")]
            )
            ids = [r.task.id for r in results]
            return [v.status.value async for v in client.iter_results(ids, timeout_s=180)]

    assert asyncio.run(scenario()) == ["succeeded", "succeeded"]
