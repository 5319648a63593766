"""Path health: the rollback controller's state for every (path, task type), and where each
path's engine sends data."""

from fastapi import APIRouter

from api.auth import Reader
from api.deps import HealthDep, PolicyDep
from api.errors import ERROR_RESPONSES
from genroute.api_models import PathHealthView
from genroute.contract import Path
from policies.rollback import PathHealth

router = APIRouter(prefix="/v1/paths", tags=["paths"], responses=ERROR_RESPONSES)


@router.get("")
def path_health(_principal: Reader, policy: PolicyDep, health: HealthDep) -> list[PathHealthView]:
    """Every (path, task type) pair; a pair with no outcomes yet is `active`."""
    known = health.all()
    views = []
    for path in Path:
        for task_type in sorted(policy.catalog.task_types):
            state = known.get((path.value, task_type), PathHealth())
            views.append(
                PathHealthView(
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
