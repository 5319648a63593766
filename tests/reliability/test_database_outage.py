"""PostgreSQL goes away while a worker is generating: the worker retries its writes, and once
the database is back the task ends with exactly one accepted output; a chat call waiting
meanwhile answers 408 naming its task and telling the SDK not to retry, so it makes no second
task. Runs on a PostgreSQL and a Redis database of its own, since it stops the database
server."""

import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from sqlalchemy import func, select

from genroute.db.migrate import upgrade
from genroute.db.models import Attempt, Task
from genroute.db.session import make_engine, make_session_factory
from genroute.local.stack import running_stack
from genroute.runtime.queueing import redis_from_broker_url, with_broker_database
from genroute.settings import Settings
from tests.helpers import running_attempt, ticket, wait_for_task, wait_until

pytestmark = pytest.mark.reliability

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
    import pgserver


def test_worker_rides_out_a_postgres_outage(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("outage")
    server = pgserver.get_server(folder / "pg", cleanup_mode="stop")
    try:
        url = server.get_uri()
        upgrade(url)
        broker = with_broker_database(settings.broker_url, 11)
        client = redis_from_broker_url(broker)
        client.flushdb()
        client.close()
        own = settings.model_copy(
            update={"database_url": url, "broker_url": broker, "db_retry_budget_s": 120}
        )
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        with (
            running_stack(own, ["autoregressive"], folder / "logs") as stack,
            stack.http() as http,
        ):
            # Ends by itself after ~130 tokens (see test_worker_killed): accepted when whole.
            body = ticket(task_type="reasoning_answer", max_output_tokens=256)
            task_id = uuid.UUID(http.post("/v1/tasks", json=body).json()["id"])
            running_attempt(sessions, task_id)
            waiting = ThreadPoolExecutor(1).submit(_chat_call, stack.api_url, stack.api_key)
            wait_until(lambda: _chat_tasks(sessions) == 1, 30, "the chat call's task")
            pgserver.pg_ctl(
                ["-w", "stop", "-m", "fast"], pgdata=server.pgdata, user=server.system_user
            )
            log = folder / "logs" / "worker-autoregressive.log"
            wait_until(  # the generation ends while the database is away
                lambda: "database unreachable while recording an attempt" in log.read_text(),
                120,
                "the worker retrying its record",
            )
            server.cleanup()
            server = pgserver.get_server(folder / "pg", cleanup_mode="stop")
            view = wait_for_task(http, str(task_id), timeout_s=180)
            assert view.status.value == "succeeded", view.error
            blipped = waiting.result(timeout=120)
            assert blipped.status_code == 408 and blipped.code == "task_unreadable", blipped
            assert blipped.response.headers["x-should-retry"] == "false"
            assert _chat_tasks(sessions) == 1  # the SDK's retries made no second task
        with sessions() as session:
            attempts = session.scalars(select(Attempt).where(Attempt.task_id == task_id)).all()
        accepted = [a for a in attempts if a.outcome == "succeeded"]
        assert len(accepted) == 1 and view.output == accepted[0].output_text
        assert all(a.outcome != "running" for a in attempts)
        engine.dispose()
    finally:
        server.cleanup()


def _chat_call(api_url: str, key: str) -> openai.APIStatusError:
    """A chat completion that waits (the only worker is busy), with the SDK's retries on."""
    with openai.OpenAI(base_url=f"{api_url}/v1", api_key=key, max_retries=2) as sdk:
        try:
            sdk.chat.completions.create(
                model="chat",
                messages=[{"role": "user", "content": "Hello?"}],
                extra_body={"genroute": {"wait_s": 90}},
                timeout=150,
            )
        except openai.APIStatusError as exc:
            return exc
    raise AssertionError("the call should not have succeeded while the database was away")


def _chat_tasks(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).where(Task.task_type == "chat")) or 0
