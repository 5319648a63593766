"""The API's background loops: retention runs only where it is set."""

from pathlib import Path
from types import SimpleNamespace

from genroute.api.app import _background_loops
from genroute.policies import load_catalog, load_policy
from genroute.runtime.retention import Pruner
from genroute.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _state() -> SimpleNamespace:
    """What the loops are built from; nothing is started or connected."""
    catalog = load_catalog(ROOT / "policies" / "task_types.yaml")
    policy = load_policy(ROOT / "policies" / "default.yaml", catalog)
    return SimpleNamespace(
        sessions=None, celery=None, redis=None, policy=policy, file_store=None,
        path_states=None, rate_limiter=None, auto_task_types=None, live_figures=None,
    )  # fmt: skip


def test_retention_runs_only_where_it_is_set() -> None:
    unset = _background_loops(_state(), Settings())
    assert not any(isinstance(loop, Pruner) for loop in unset)
    kept_a_week = _background_loops(_state(), Settings(retention_days=7))
    [pruner] = [loop for loop in kept_a_week if isinstance(loop, Pruner)]
    assert pruner._interval_s == Settings().retention_interval_s
