"""The scorecard over HTTP: the same figures as `genroute scorecard`, scoped to the caller's
own tasks unless the key is admin."""

import threading
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from genroute.analysis.durations import parse_duration
from genroute.analysis.scorecard import build_scorecard, parse_by
from genroute.api.auth import Reader
from genroute.api.deps import PolicyDep, SessionsDep
from genroute.api.errors import ERROR_RESPONSES
from genroute.contract import DEFAULT_SCORECARD_BY, Purpose, Scorecard
from genroute.errors import Forbidden, Overloaded

router = APIRouter(prefix="/v1/scorecard", tags=["scorecard"], responses=ERROR_RESPONSES)
# One embedding run at a time per API process: each holds a model and a CPU for seconds.
_EMBEDDING = threading.Semaphore(1)


@router.get("")
async def scorecard(
    principal: Reader,
    sessions: SessionsDep,
    policy: PolicyDep,
    since: Annotated[
        str | None, Query(description="e.g. 30m, 24h, 7d; all history if absent")
    ] = None,
    by: Annotated[
        str, Query(description="comma-separated: path, task_type, policy_version, input_modality")
    ] = ",".join(DEFAULT_SCORECARD_BY),
    purpose: Purpose | None = None,
    diversity: Annotated[bool, Query(description="embed outputs for near duplicates")] = False,
) -> Scorecard:
    """Per (purpose, path, task type, policy version) group of finished requests: volume,
    acceptance, validation failures, fallbacks, timeouts, latency, queue wait, time to first
    output, tokens/s, cost per request and per accepted output, human feedback, and exact
    duplicate rates for task types that ask for diversity (near duplicates and similarity too
    with `diversity=true`, admin keys only: it embeds up to 300 outputs per group in this
    process, one such request at a time)."""
    groups = parse_by(by)
    window = parse_duration(since) if since is not None else None
    if diversity and not principal.is_admin:
        raise Forbidden(
            "diversity",
            "near-duplicate figures embed outputs inside the API process, so they need an "
            "admin key (or run `genroute scorecard` next to the database)",
        )
    if diversity and not _EMBEDDING.acquire(blocking=False):
        raise Overloaded("diversity", "diversity figures are already being computed; retry")

    def compute() -> Scorecard:
        scorer = None
        if diversity:
            from genroute.analysis.diversity import similarity_figures

            scorer = similarity_figures
        with sessions() as session:
            return build_scorecard(
                session,
                groups,
                window,
                purpose.value if purpose else None,
                principal.owner_filter(),
                policy.catalog.diversity_task_types(),
                scorer,
            )

    try:
        return await run_in_threadpool(compute)
    finally:
        if diversity:
            _EMBEDDING.release()
