"""The rollback controller end to end: the diffusion path's invalid outputs roll it back for a
task type, new requests go to the autoregressive path, probes go back after the cooldown, fail,
and roll it back again with a doubled cooldown; an operator restores it. Every transition is
an event row. Meanwhile every task ends accepted, through the fallback queue when diffusion
produced it. (tests/policy.yaml: window 4, min 4 samples, 50%, cooldown 3 s, all probes.)"""

import subprocess
import sys

import httpx
import pytest
import redis
from sqlalchemy import select

from genroute.contract import TaskView
from genroute.db.models import RollbackEvent
from genroute.local.embedded import child_environment
from genroute.policies.rollback import RollbackThresholds
from genroute.runtime.path_states import PathStateStore
from genroute.runtime.redis_keys import path_state_key
from genroute.settings import Settings
from tests.helpers import ticket, wait_for_task, wait_until

pytestmark = pytest.mark.integration

# Random diffusion text is never a classification label: every diffusion attempt is invalid,
# and the autoregressive fallback scores the labels, so it always answers with a valid one.
REQUEST = ticket(task_type="classification")
FINISHED: list[TaskView] = []


def _submit(client: httpx.Client) -> dict:
    accepted = client.post("/v1/tasks", json=REQUEST).json()
    FINISHED.append(wait_for_task(client, accepted["id"]))
    return accepted["route"]


def _assert_accepted_through_fallback(views: list[TaskView]) -> None:
    for view in views:
        outcomes = [(a.path, a.queue, a.outcome.value) for a in view.attempts]
        assert view.status.value == "succeeded", (view.error, outcomes)
        if view.route.path.value == "diffusion":
            assert outcomes == [
                ("diffusion", "diffusion", "invalid"),
                ("autoregressive", "fallback", "succeeded"),
            ]
        else:
            assert outcomes == [("autoregressive", "autoregressive", "succeeded")]
        assert view.output == view.attempts[-1].output_text


def _events(sessions) -> list[tuple[str, str, bool]]:
    with sessions() as session:
        rows = session.scalars(
            select(RollbackEvent)
            .where(RollbackEvent.path == "diffusion", RollbackEvent.task_type == "classification")
            .order_by(RollbackEvent.id)
        ).all()
    return [(row.from_state, row.to_state, row.manual) for row in rows]


def _wait_for_events(sessions, count: int, timeout_s: float = 120) -> None:
    wait_until(lambda: len(_events(sessions)) >= count, timeout_s, f"{count} rollback events")


def test_rollback_probe_rollback_again_and_restore(
    client: httpx.Client, sessions, redis_client: redis.Redis, settings: Settings
) -> None:
    redis_client.delete(path_state_key("diffusion", "classification"))
    with sessions.begin() as session:
        session.query(RollbackEvent).delete()

    FINISHED.clear()
    first = [client.post("/v1/tasks", json=REQUEST).json() for _ in range(4)]
    assert [a["route"]["path"] for a in first] == ["diffusion"] * 4
    # Submit the next one as soon as the rollback is recorded, not after the fourth task's
    # fallback finishes: on a loaded machine that can take longer than the 3 s cooldown.
    _wait_for_events(sessions, 1)
    assert _events(sessions) == [("active", "rolled_back", False)]
    rerouted = client.post("/v1/tasks", json=REQUEST).json()
    FINISHED.extend(wait_for_task(client, a["id"]) for a in [*first, rerouted])
    rerouted = rerouted["route"]
    assert (rerouted["path"], rerouted["health"]) == ("autoregressive", "rolled_back")
    assert "diffusion is rolled_back" in rerouted["reason"]

    store = PathStateStore(redis_client, RollbackThresholds())
    wait_until(lambda: not store.cooling_down("diffusion", "classification"), 30, "the cooldown")
    probes = [_submit(client) for _ in range(2)]
    assert [(p["path"], p["health"]) for p in probes] == [("diffusion", "probing")] * 2
    assert _events(sessions)[1:] == [
        ("rolled_back", "probing", False),
        ("probing", "rolled_back", False),
    ]
    with sessions() as session:
        last = session.scalars(select(RollbackEvent).order_by(RollbackEvent.id.desc())).first()
    assert last.cooldown_s == 6 and "cooldown doubled" in last.reason
    assert last.samples == 2 and last.failures == 2

    assert len(FINISHED) == 7
    _assert_accepted_through_fallback(FINISHED)

    env = child_environment(settings)
    shown = subprocess.run(
        [sys.executable, "-m", "genroute", "paths"], env=env, capture_output=True, text=True
    )
    assert "classification" in shown.stdout and "rolled_back" in shown.stdout
    restored = subprocess.run(
        [
            sys.executable,
            "-m",
            "genroute",
            "paths",
            "restore",
            "diffusion",
            "--task-type",
            "classification",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert restored.returncode == 0, restored.stderr
    assert _events(sessions)[-1] == ("rolled_back", "active", True)
    after = client.post("/v1/tasks", json=REQUEST).json()["route"]
    assert (after["path"], after["health"]) == ("diffusion", "active")
