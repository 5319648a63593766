"""Every (path, task type) pair's rollback state as operators read it (the API's `/v1/paths`
and the console's paths page): a pair with no outcomes yet is `active`."""

from genroute.contract import PathName, PathStateView
from genroute.policies.rollback import RollbackState
from genroute.policies.routing import RoutingPolicy
from genroute.runtime.path_states import PathStateStore


def path_state_views(policy: RoutingPolicy, store: PathStateStore) -> list[PathStateView]:
    known = store.all()
    views = []
    for path in PathName:
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
