"""With Redis unreachable the API still accepts: the task is persisted, routed by the rules
alone (health `unknown`), and left unpublished for the sweeper to send once Redis is back."""

import uuid

import httpx
import pytest

from genroute.db.keys import Scope
from genroute.db.tasks import get_task
from genroute.embedded import child_environment
from genroute.processes import ManagedProcess
from genroute.settings import Settings
from genroute.stack import free_port, issue_key, wait_for_api
from tests.helpers import ticket

pytestmark = pytest.mark.reliability


def test_submissions_are_kept_while_the_broker_is_down(
    settings: Settings, sessions, tmp_path
) -> None:
    dead = settings.model_copy(update={"broker_url": f"redis+socket://{tmp_path}/none.sock"})
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
    finally:
        api.stop()
    with sessions() as session:
        task = get_task(session, uuid.UUID(response.json()["id"]))
        assert task.status == "queued" and task.published_at is None
