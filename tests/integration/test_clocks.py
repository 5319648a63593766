"""One clock per shared decision: path states' cooldowns are stored and compared in Redis'
time, never a host's, so processes whose clocks disagree agree on when a rollback ends (as
leases use PostgreSQL's clock and the rate limiter Redis'). This host's clock is moved a
century ahead; the store's decisions do not move."""

import time

import pytest
import redis

from genroute.policies.rollback import PathState, RollbackThresholds
from genroute.runtime.path_states import PathStateStore

pytestmark = pytest.mark.integration


def test_cooldowns_run_on_the_stores_clock(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PathStateStore(redis_client, RollbackThresholds(cooldown_s=60, probe_share=1.0))
    path, task_type = "diffusion", "clock_check"
    store.force(path, task_type, PathState.rolled_back)
    monkeypatch.setattr(time, "time", lambda: time.monotonic() + 3_000_000_000)
    assert store.cooling_down(path, task_type)
    admission = store.admit(path, task_type)
    assert not admission.admitted and admission.state is PathState.rolled_back
