"""Keys, scopes, owners, size and rate limits, and idempotency, against the running API."""

import concurrent.futures
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from genroute.contract import Scope
from genroute.db.api_keys import revoke_key
from genroute.db.models import ApiKey, Task
from genroute.local.stack import Stack, issue_key
from genroute.settings import Settings
from tests.helpers import ticket, wait_for_task

pytestmark = pytest.mark.integration


def _as(stack: Stack, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=stack.api_url, timeout=60, headers={"Authorization": f"Bearer {key}"}
    )


def _prefix(key: str) -> str:
    return key.removeprefix("gr_").split("_", 1)[0]


def test_missing_invalid_and_revoked_keys_are_401(stack: Stack, settings: Settings, sessions):
    anonymous = httpx.post(f"{stack.api_url}/v1/tasks", json=ticket(), timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert "API key is required" in anonymous.json()["detail"]

    with _as(stack, "gr_000000000000_not-a-real-secret") as forged:
        assert forged.get("/v1/paths").status_code == 401

    key = issue_key(settings, "revoked-producer", (Scope.submit, Scope.read))
    with _as(stack, key) as client:
        assert client.get("/v1/paths").status_code == 200
        with sessions.begin() as session:
            revoke_key(session, _prefix(key))
        refused = client.get("/v1/paths")
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    with sessions() as session:
        stored = session.scalars(select(ApiKey).where(ApiKey.prefix == _prefix(key))).one()
    assert key not in stored.secret_hash and len(stored.secret_hash) == 64  # only a hash


def test_wrong_scope_is_403(stack: Stack, settings: Settings) -> None:
    with _as(stack, issue_key(settings, "reader", (Scope.read,))) as reader:
        refused = reader.post("/v1/tasks", json=ticket())
        assert refused.status_code == 403 and "'submit' scope" in refused.json()["detail"]
    with _as(stack, issue_key(settings, "writer", (Scope.submit,))) as writer:
        assert writer.get("/v1/tasks").status_code == 403


def test_other_owners_task_is_404_but_admin_sees_it(
    stack: Stack, settings: Settings, client: httpx.Client
) -> None:
    with _as(stack, issue_key(settings, "alice", (Scope.submit, Scope.read))) as alice:
        task_id = alice.post("/v1/tasks", json=ticket(task_type="classification")).json()["id"]
        assert alice.get(f"/v1/tasks/{task_id}").json()["owner"] == "alice"
    with _as(stack, issue_key(settings, "bob", (Scope.submit, Scope.read))) as bob:
        assert bob.get(f"/v1/tasks/{task_id}").status_code == 404
        assert bob.post(f"/v1/tasks/{task_id}/cancel").status_code == 404
        assert task_id not in {t["id"] for t in bob.get("/v1/tasks").json()["items"]}
    assert client.get(f"/v1/tasks/{task_id}").status_code == 200  # the stack's key is admin
    wait_for_task(client, task_id)


def test_oversized_body_is_413(client: httpx.Client, settings: Settings) -> None:
    too_big = b"x" * (settings.max_body_bytes + 1)
    declared = client.post(
        "/v1/tasks", content=too_big, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413
    assert f"the limit is {settings.max_body_bytes}" in declared.json()["detail"]

    def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    streamed = client.post(
        "/v1/tasks", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


def test_rate_limit_is_429_with_retry_after(stack: Stack, settings: Settings, sessions) -> None:
    key = issue_key(settings, "hasty", (Scope.submit, Scope.read))
    with sessions.begin() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.prefix == _prefix(key))).one()
        row.rate_limit_per_minute = 3
    with _as(stack, key) as client:
        # Invalid items still cost a submission each, and create no task.
        spent = client.post("/v1/tasks/batch", json={"items": [{"bad": 1}] * 3})
        assert spent.status_code == 200 and spent.json()["rejected"] == 3
        limited = client.post("/v1/tasks/batch", json={"items": [{"bad": 1}]})
        assert limited.status_code == 429, limited.text
        assert int(limited.headers["retry-after"]) >= 1
        assert "3 tasks per minute" in limited.json()["detail"]


def test_idempotent_replay_under_20_concurrent_submissions(
    stack: Stack, settings: Settings, sessions
) -> None:
    key = issue_key(settings, "retrying-service", (Scope.submit, Scope.read))
    body = ticket(task_type="classification", idempotency_key=f"order-{uuid.uuid4()}")

    def submit(_: int) -> httpx.Response:
        with _as(stack, key) as client:
            return client.post("/v1/tasks", json=body)

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(submit, range(20)))
    assert sorted(r.status_code for r in responses) == [200] * 19 + [202]
    assert len({r.json()["id"] for r in responses}) == 1
    with sessions() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.idempotency_key == body["idempotency_key"])
        )
    assert count == 1

    rotated = issue_key(settings, "retrying-service", (Scope.submit, Scope.read))
    with _as(stack, rotated) as client:  # the owner's new key still finds the original
        replay = client.post("/v1/tasks", json=body)
        assert (replay.status_code, replay.json()["id"]) == (200, responses[0].json()["id"])
    with _as(stack, issue_key(settings, "someone-else", (Scope.submit, Scope.read))) as other:
        theirs = other.post("/v1/tasks", json=body)  # another owner's key space
        assert theirs.status_code == 202 and theirs.json()["id"] != responses[0].json()["id"]
        wait_for_task(other, theirs.json()["id"])
    with _as(stack, key) as client:
        changed = client.post("/v1/tasks", json={**body, "input": "a different ticket"})
        assert changed.status_code == 409
        assert "already used for a different request" in changed.json()["detail"]
        wait_for_task(client, responses[0].json()["id"])
