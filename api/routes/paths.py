"""Path states: the rollback controller's state for every (path, task type), and where each
path's engine sends data."""

from fastapi import APIRouter

from genroute.api.auth import Reader
from genroute.api.deps import PathStatesDep, PolicyDep
from genroute.api.errors import ERROR_RESPONSES
from genroute.contract import PathStateView, Route
from genroute.policies.rollback import RollbackState

router = APIRouter(prefix="/v1/paths", tags=["paths"], responses=ERROR_RESPONSES)


@router.get("")
def path_states(_principal: Reader, policy: PolicyDep, store: PathStatesDep) -> list[PathStateView]:
    """Every (path, task type) pair; a pair with no outcomes yet is `active`."""
    known = store.all()
    views = []
    for path in Route:
        for task_type in sorted(policy.catalog.task_types):
            state = known.get((path.value, task_type), RollbackState())
            views.append(
                PathStateView(
                    path=path.value,
                    task_type=task_type,
                    state=state.state.value,
                    samples=len(state.outcomes),
                    failures=sum(1 for ok in state.outcomes if not ok),
                    cooldown_s=state.cooldown_s,
                    data_location=policy.location(path).value,
                )
            )
    return views
