"""With Redis unreachable the API still accepts: the task is persisted, routed by the rules
alone (health `unknown`), and left unpublished for the sweeper to send once Redis is back."""

import uuid

import httpx
import pytest

from genroute.contract import Scope
from genroute.db.tasks import get_task
from genroute.local.embedded import child_environment
from genroute.local.processes import ManagedProcess
from genroute.local.stack import free_port, issue_key, wait_for_api
from genroute.settings import Settings
from tests.helpers import ticket

pytestmark = pytest.mark.reliability


def test_submissions_are_kept_while_the_broker_is_down(
    settings: Settings, sessions, tmp_path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(settings.policy_file.read_text())
    dead = settings.model_copy(
        update={"broker_url": f"redis+socket://{tmp_path}/none.sock", "policy_file": policy}
    )
    port = free_port()
    api = ManagedProcess(
        "api-no-broker", ["api", "--port", str(port)], child_environment(dead), tmp_path
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_api(api, url, 120)
        key = issue_key(settings, "producer", (Scope.submit,))
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
        ready = httpx.get(f"{url}/readyz", timeout=30)
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["database"]["ok"]
        assert not checks["broker"]["ok"] and "Error" in checks["broker"]["error"]
        assert not checks["policy_files"]["ok"] and "policy.yaml" in checks["policy_files"]["error"]
    finally:
        api.stop()
    with sessions() as session:
        task = get_task(session, uuid.UUID(response.json()["id"]))
        assert task.status == "queued" and task.published_at is None
