"""With Redis unreachable the API still accepts: the task is persisted, routed by the rules
alone (path state `unknown`), and left unpublished for the sweeper to send once Redis is back.
On a database of its own: a sweeper on another broker must not see the session stack's tasks."""

import uuid

import httpx
import pytest

from genroute.contract import Scope
from genroute.db.session import make_engine, make_session_factory
from genroute.db.tasks import get_task
from genroute.local.embedded import child_environment
from genroute.local.processes import ManagedProcess
from genroute.local.stack import free_port, issue_key, wait_for_api
from genroute.settings import Settings
from tests.helpers import isolated_database, ticket

pytestmark = pytest.mark.reliability


def test_submissions_are_kept_while_the_broker_is_down(settings: Settings, tmp_path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(settings.policy_file.read_text())
    with isolated_database(
        settings, broker_url=f"redis+socket://{tmp_path}/none.sock", policy_file=policy
    ) as dead:
        _submit_without_a_broker(dead, policy, tmp_path)


def _submit_without_a_broker(dead: Settings, policy, tmp_path) -> None:
    port, ops_port = free_port(), free_port()
    args = ["api", "--port", str(port), "--ops-port", str(ops_port)]
    api = ManagedProcess("api-no-broker", args, child_environment(dead), tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_api(api, url, 120)
        key = issue_key(dead, "producer", (Scope.submit,))
        response = httpx.post(
            f"{url}/v1/tasks",
            json=ticket(),
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert response.status_code == 202, response.text
        route = response.json()["route"]
        assert (route["path"], route["health"]) == ("diffusion", "unknown")

        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200  # up, but not ready
        policy.write_text("version: [broken")
        ready = httpx.get(f"http://127.0.0.1:{ops_port}/readyz", timeout=30)
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["database"]["ok"]
        assert not checks["broker"]["ok"] and "Error" in checks["broker"]["error"]
        assert not checks["policy_files"]["ok"] and "policy.yaml" in checks["policy_files"]["error"]
    finally:
        api.stop()
    engine = make_engine(dead.database_url, pool_size=1)
    try:
        with make_session_factory(engine)() as session:
            task = get_task(session, uuid.UUID(response.json()["id"]))
            assert task.status == "queued" and task.published_at is None
    finally:
        engine.dispose()
