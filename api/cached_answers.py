"""Looking a request up in the cache of accepted outputs at submit, for task types that opt
in: its key (policies/cache_keys.py) on the path it was routed to, and the live entry under
it, unless that entry came from a path the request's privacy tier does not admit. A request
that misses keeps its key, so its accepted output is kept under it."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from genroute.contract import PathName, RouteDecision, StoredAttachment, TaskRequest
from genroute.db.models import OutputCacheEntry
from genroute.db.output_cache import live_entry
from genroute.db.tasks import db_now
from genroute.policies import RoutingPolicy
from genroute.policies.cache_keys import cache_key


@dataclass(frozen=True)
class CacheLookup:
    key: str
    ttl_s: int
    hit: OutputCacheEntry | None

    def record(self) -> dict[str, object]:
        """What the task keeps of it (its `cache` column)."""
        return {"key": self.key, "ttl_s": self.ttl_s}


def look_up(
    session: Session,
    policy: RoutingPolicy,
    request: TaskRequest,
    stored: list[StoredAttachment],
    decision: RouteDecision,
    owner: str | None,
) -> CacheLookup | None:
    """The request's cache key and live entry; None where its task type does not cache."""
    task_type = policy.catalog.get(request.task_type)
    if task_type.cache is None:
        return None
    key = cache_key(
        request,
        stored,
        task_type.model_dump(mode="json"),
        policy.models.get(decision.path, ""),
        decision.policy_version,
        owner if task_type.cache.scope == "owner" else None,
    )
    entry = live_entry(session, key, db_now(session))
    if entry is not None and not request.privacy_tier.admits(policy.location(PathName(entry.path))):
        entry = None
    return CacheLookup(key, task_type.cache.ttl_s, entry)
