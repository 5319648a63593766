"""Adaptive shares on a real stack (the API's share controller, PostgreSQL, Redis; no workers,
so submitted tasks stay queued): measured first attempts move a rule's share within its
bounds, each move is an event with its evidence, submissions split by it, a request whose
privacy tier forbids the other path never goes there, a rolled-back path gets no traffic and
loses share, and `genroute paths` and `genroute replay` show the shares."""

import itertools
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select

from genroute.db.models import Attempt, ShareEvent, Task
from genroute.db.session import make_engine, make_session_factory
from genroute.local.stack import Stack, running_stack
from genroute.policies.rollback import PathState, RollbackState
from genroute.runtime.queueing import redis_from_broker_url
from genroute.runtime.redis_keys import path_state_key
from genroute.settings import Settings
from tests.helpers import isolated_settings, run_genroute, ticket, wait_until

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
RULE = "bounded-batch-diffusion"
SHARE = "    share: {adaptive: true, min: 0.1, max: 0.9, min_outcomes: 10, max_step: 0.4}\n"


def _seed(session, path: str, accepted: int, refused: int, cost: float) -> None:
    """Hand-made first attempts at ticket_summary on `path`, finished just now."""
    now = datetime.now(UTC)
    for outcome in ["succeeded"] * accepted + ["invalid"] * refused:
        request = {"task_type": "ticket_summary", "input": "x", "privacy_tier": "external"}
        task = Task(
            id=uuid.uuid4(), task_type="ticket_summary", request=request,
            status="succeeded" if outcome == "succeeded" else "failed", route_path=path,
            route_rule=RULE, policy_version="v1", route_reason="seeded", max_output_tokens=64,
            queue=path, attempt_count=1, max_attempts=3, created_at=now,
        )  # fmt: skip
        session.add(task)
        session.flush()
        attempt = Attempt(
            task_id=task.id, attempt_no=1, path=path, queue=path, outcome=outcome, cost=cost,
            enqueued_at=now - timedelta(seconds=3), started_at=now - timedelta(seconds=2),
            finished_at=now,
        )  # fmt: skip
        session.add(attempt)


def _seed_one_sided(settings: Settings) -> None:
    """Diffusion accepts 40 of 40 at a quarter of the autoregressive cost, which accepts 20 of
    40: diffusion is clearly cheaper per accepted output."""
    engine = make_engine(settings.database_url)
    with make_session_factory(engine).begin() as session:
        _seed(session, "diffusion", 40, 0, 0.001)
        _seed(session, "autoregressive", 20, 20, 0.004)
    engine.dispose()


@pytest.fixture(scope="module")
def share_stack(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("share-stack")
    paths = yaml.safe_load((ROOT / "tests" / "paths.yaml").read_text())
    paths["paths"]["diffusion"]["data_location"] = "cluster"
    paths["paths"]["autoregressive"]["data_location"] = "external"
    (folder / "paths.yaml").write_text(yaml.safe_dump(paths))
    policy = (ROOT / "tests" / "policy.yaml").read_text()
    policy = policy.replace(f"  - name: {RULE}\n", f"  - name: {RULE}\n{SHARE}")
    (folder / "policy.yaml").write_text(policy)
    with isolated_settings(
        settings,
        redis_db=11,
        paths_file=folder / "paths.yaml",
        policy_file=folder / "policy.yaml",
        share_interval_s=0.5,
    ) as own:
        _seed_one_sided(own)
        with running_stack(own, [], folder / "logs") as stack:
            yield stack


def _events(settings: Settings) -> list[ShareEvent]:
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            query = select(ShareEvent).where(ShareEvent.task_type == "ticket_summary")
            return list(session.scalars(query.order_by(ShareEvent.id)))
    finally:
        engine.dispose()


def _paths_routed(api: httpx.Client, count: int, **fields) -> Counter:
    items = [ticket(**fields) for _ in range(count)]
    answer = api.post("/v1/tasks/batch", json={"items": items})
    assert answer.status_code == 200, answer.text
    return Counter(item["task"]["route"]["path"] for item in answer.json()["items"])


def test_evidence_moves_the_share_and_routing_follows(share_stack: Stack) -> None:
    own = share_stack.settings

    def at_max() -> list[ShareEvent]:
        events = _events(own)
        return events if events and events[-1].to_share == pytest.approx(0.9) else []

    events = wait_until(at_max, 30, "the share reaching its max")
    assert [(e.from_share, e.to_share) for e in events] == [(0.5, 0.9)]  # one step of 0.4
    evidence = events[0].evidence
    assert evidence["paths"]["diffusion"]["accepted"] == 40
    assert evidence["paths"]["autoregressive"]["outcomes"] == 40
    assert evidence["probability_better"] > 0.99 and "P(diffusion" in events[0].reason
    time.sleep(own.estimate_refresh_s + 0.5)  # past the API's figures' refresh

    with share_stack.http() as api:
        routed = _paths_routed(api, 200, privacy_tier="external")
        assert 160 <= routed["diffusion"] <= 197, routed  # 90% of 200, well within 4 sd
        assert routed["diffusion"] + routed["autoregressive"] == 200
        # A cluster-tier request may not reach the autoregressive path (its data goes out).
        assert _paths_routed(api, 40, privacy_tier="cluster") == Counter(diffusion=40)
        views = {(v["rule"], v["task_type"]): v for v in api.get("/v1/paths/shares").json()}
    view = views[(RULE, "ticket_summary")]
    assert (view["share"], view["min"], view["max"]) == (pytest.approx(0.9), 0.1, 0.9)
    assert views[(RULE, "batch_summary")]["reason"] == "no move yet: the starting share"

    shown = run_genroute(own, "paths")
    line = next(row for row in shown.splitlines() if RULE in row and "ticket_summary" in row)
    assert "diffusion 0.900 / autoregressive 0.100" in line and "P(diffusion" in line

    report = json.loads(run_genroute(own, "replay", "--policy", str(own.policy_file), "--json"))
    shares = {(s["rule"], s["task_type"]): s["share"] for s in report["adaptive_shares"]}
    assert shares[(RULE, "ticket_summary")] == pytest.approx(0.9)
    candidate = report["by_task_type"]["ticket_summary"]["candidate"]["paths"]
    assert 5 < candidate["diffusion"] / candidate["autoregressive"] < 30  # about 9 to 1


def test_a_rolled_back_path_gets_no_traffic_and_loses_share(share_stack: Stack) -> None:
    own = share_stack.settings
    client = redis_from_broker_url(own.broker_url)
    key = path_state_key("diffusion", "ticket_summary")
    now = float(client.time()[0])
    rolled_back = RollbackState(state=PathState.rolled_back, changed_at=now, cooldown_s=600)
    client.set(key, rolled_back.to_json())
    try:
        with share_stack.http() as api:
            assert _paths_routed(api, 60, privacy_tier="external") == Counter(autoregressive=60)

        def moved_off() -> list[ShareEvent]:
            events = [e for e in _events(own) if "diffusion is rolled_back" in e.reason]
            return events

        moved = wait_until(moved_off, 30, "the share moving off the rolled-back path")[0]
        assert moved.to_share < moved.from_share and moved.to_share >= 0.1
        assert moved.evidence["blocked"] == {"diffusion": "is rolled_back after a rollback"}
    finally:
        client.delete(key)
        client.close()


def test_two_api_processes_step_a_share_once_per_interval(
    settings: Settings, tmp_path: Path
) -> None:
    """Each API process runs the controller; the share must still move once per interval, not
    once per process (each step here moves it: the evidence is one-sided, the step small)."""
    interval_s = 1.0
    policy = (ROOT / "tests" / "policy.yaml").read_text()
    small_steps = SHARE.replace("max_step: 0.4", "max_step: 0.05")
    (tmp_path / "policy.yaml").write_text(
        policy.replace(f"  - name: {RULE}\n", f"  - name: {RULE}\n{small_steps}")
    )
    with isolated_settings(
        settings, redis_db=2, policy_file=tmp_path / "policy.yaml", share_interval_s=interval_s
    ) as own:
        _seed_one_sided(own)
        with (
            running_stack(own, [], tmp_path / "logs-a"),
            running_stack(own, [], tmp_path / "logs-b"),
        ):
            events = wait_until(lambda: len(_events(own)) >= 6 and _events(own), 60, "6 steps")
    moments = [event.created_at for event in events]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(moments)]
    assert min(gaps) >= 0.9 * interval_s, gaps
    assert [round(e.to_share - e.from_share, 3) for e in events] == [0.05] * len(events)
