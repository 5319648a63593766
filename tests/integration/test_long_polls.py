"""Long polls hold no database connection: four times as many waiters as the API's pool
while submissions keep arriving, and no answer is a 5xx or slow (a backend waiting on its own
jobs must never take the API down for everyone). Past the per-process limit a wait answers
503 with Retry-After. A stack of its own with no worker, so its tasks stay queued."""

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from sqlalchemy import text

from genroute.db.session import make_engine
from genroute.local.stack import Stack, running_stack
from genroute.settings import Settings
from tests.helpers import isolated_settings, ticket, wait_until

pytestmark = pytest.mark.integration

POOL = {"db_pool_size": 2, "db_max_overflow": 1, "db_pool_timeout_s": 2.0}
CONNECTIONS = 3
WAITERS = 4 * CONNECTIONS
MAX_LONG_POLLS = WAITERS


@pytest.fixture(scope="module")
def lone_api(settings: Settings) -> Iterator[Stack]:
    with (
        isolated_settings(settings, redis_db=9, **POOL, max_long_polls=MAX_LONG_POLLS) as own,
        running_stack(own, [], own.data_dir / "long-poll-logs") as stack,
    ):
        yield stack


def _long_polls(stack: Stack) -> float:
    text = httpx.get(f"{stack.ops_url}/metrics", timeout=10).text
    match = re.search(r"^genroute_long_polls (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def _submit(stack: Stack) -> tuple[int, float]:
    started = time.monotonic()
    with stack.http(timeout_s=30) as http:
        status = http.post("/v1/tasks", json=ticket(task_type="classification")).status_code
    return status, time.monotonic() - started


def test_waiters_do_not_starve_submissions(lone_api: Stack) -> None:
    with lone_api.http() as http:
        ids = [http.post("/v1/tasks", json=ticket()).json()["id"] for _ in range(WAITERS)]

    def wait_on(task_id: str) -> int:
        with lone_api.http(timeout_s=60) as http:
            return http.get(f"/v1/tasks/{task_id}", params={"wait": 10}).status_code

    with ThreadPoolExecutor(WAITERS) as pool:
        waits = [pool.submit(wait_on, task_id) for task_id in ids]
        wait_until(lambda: _long_polls(lone_api) >= WAITERS, 30, f"{WAITERS} long polls")
        submissions = [_submit(lone_api) for _ in range(10)]
        assert _long_polls(lone_api) >= WAITERS, "the waiters ended before the submissions did"
        statuses = [w.result() for w in waits]
    assert [status for status, _ in submissions] == [202] * 10
    assert max(seconds for _, seconds in submissions) < 2.0, submissions
    assert statuses == [200] * WAITERS


def test_a_wait_past_the_limit_answers_503_with_retry_after(lone_api: Stack) -> None:
    with lone_api.http() as http:
        ids = [http.post("/v1/tasks", json=ticket()).json()["id"] for _ in range(WAITERS + 1)]

    def wait_on(task_id: str) -> httpx.Response:
        with lone_api.http(timeout_s=60) as http:
            return http.get(f"/v1/tasks/{task_id}", params={"wait": 6})

    with ThreadPoolExecutor(WAITERS) as pool:
        waits = [pool.submit(wait_on, task_id) for task_id in ids[:WAITERS]]
        wait_until(lambda: _long_polls(lone_api) >= WAITERS, 30, f"{WAITERS} long polls")
        refused = wait_on(ids[-1])
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["retry-after"]) >= 1
        assert "GENROUTE_MAX_LONG_POLLS" in refused.json()["detail"]
        assert [w.result().status_code for w in waits] == [200] * WAITERS
    # A plain read is never refused for want of a place.
    with lone_api.http() as http:
        assert http.get(f"/v1/tasks/{ids[-1]}").status_code == 200


@pytest.fixture(scope="module")
def tight_api(settings: Settings) -> Iterator[Stack]:
    """An API with room for two long polls and no worker: a chat call past the two waits."""
    with (
        isolated_settings(settings, redis_db=2, max_long_polls=2) as own,
        running_stack(own, [], own.data_dir / "tight-logs") as stack,
    ):
        yield stack


def _tasks_in(stack: Stack) -> int:
    engine = make_engine(stack.settings.database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM tasks")).scalar_one())
    finally:
        engine.dispose()


def test_overloaded_chat_calls_create_no_task_they_do_not_answer_for(tight_api: Stack) -> None:
    """16 concurrent SDK calls (its default retries on) against two long-poll places: a call
    refused for overload made no task, and a call that made one names it in its answer with
    `x-should-retry: false`, so no retry makes another. Tasks created == calls naming one."""
    before = _tasks_in(tight_api)
    sdk = openai.OpenAI(base_url=f"{tight_api.api_url}/v1", api_key=tight_api.api_key)

    def call(n: int) -> openai.APIStatusError:
        try:
            sdk.chat.completions.create(
                model="classification",
                messages=[{"role": "user", "content": f"Parcel {n} never arrived."}],
                extra_body={"genroute": {"wait_s": 2}},
            )
        except openai.APIStatusError as exc:
            return exc
        raise AssertionError("no worker runs: no call can succeed")

    with ThreadPoolExecutor(16) as pool:
        errors = list(pool.map(call, range(16)))
    named = {exc.body["task_id"] for exc in errors if exc.status_code == 408}
    refused = [exc for exc in errors if exc.status_code == 503]
    assert len(named) + len(refused) == 16, [(e.status_code, e.body) for e in errors]
    assert named, "no call got a place"
    assert all(
        e.response.headers["x-should-retry"] == "false" for e in errors if e.status_code == 408
    )
    assert all("retry-after" in e.response.headers for e in refused)
    assert _tasks_in(tight_api) - before == len(named)
    wait_until(lambda: _long_polls(tight_api) == 0, 10, "every place given back")


def _statuses(stack: Stack, after: int) -> list[str]:
    """The statuses of the tasks created after the first `after`, oldest first."""
    engine = make_engine(stack.settings.database_url, pool_size=1)
    query = text("SELECT status FROM tasks ORDER BY created_at, id OFFSET :after")
    try:
        with engine.connect() as connection:
            return list(connection.execute(query, {"after": after}).scalars())
    finally:
        engine.dispose()


def test_a_client_that_hangs_up_leaves_no_task_behind(tight_api: Stack) -> None:
    """The SDK times out (1 s) on a wait of 30 and retries twice, as it does by default: each
    attempt made a task, and each hung up on it. None is left queued to run for nobody, and
    every wait's place is given back at once."""
    before = _tasks_in(tight_api)
    sdk = openai.OpenAI(base_url=f"{tight_api.api_url}/v1", api_key=tight_api.api_key, timeout=1.0)
    with pytest.raises(openai.APITimeoutError):
        sdk.chat.completions.create(
            model="classification",
            messages=[{"role": "user", "content": "My parcel never arrived."}],
            extra_body={"genroute": {"wait_s": 30}},
        )
    wait_until(
        lambda: _statuses(tight_api, before) == ["cancelled"] * 3,
        10,
        "every abandoned task cancelled",
    )
    wait_until(lambda: _long_polls(tight_api) == 0, 10, "every place given back")


def test_a_reader_that_hangs_up_gives_its_place_back(lone_api: Stack) -> None:
    with lone_api.http() as http:
        task_id = http.post("/v1/tasks", json=ticket(task_type="classification")).json()["id"]
    with lone_api.http(timeout_s=1) as http, pytest.raises(httpx.ReadTimeout):
        http.get(f"/v1/tasks/{task_id}", params={"wait": 30})
    wait_until(lambda: _long_polls(lone_api) == 0, 5, "the place given back")
