"""`/metrics` for Prometheus: the API's own counters plus gauges read from Redis at scrape
time (queue depth per queue, rollback state per path and task type). Not in the OpenAPI
document and not behind an API key, like `/healthz`: scrape it from inside the network."""

from collections.abc import Iterator

import redis
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from genroute.observability.metrics import ScrapeTimeGauges
from genroute.policies.rollback import PathState
from genroute.runtime.path_states import PathStateStore
from genroute.runtime.queueing import QUEUES, queue_depth

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def redis_gauges(client: redis.Redis, path_states: PathStateStore) -> ScrapeTimeGauges:
    def read() -> Iterator[tuple[str, str, list[str], list[tuple]]]:
        try:
            depths = [(queue, float(queue_depth(client, queue))) for queue in QUEUES]
            states = path_states.all()
        except redis.RedisError:
            return  # the scrape still answers with the process's own metrics
        yield "genroute_queue_depth", "Messages waiting per queue", ["queue"], depths
        samples = [
            (path, task_type, state.value, 1.0 if current.state is state else 0.0)
            for (path, task_type), current in states.items()
            for state in PathState
        ]
        yield (
            "genroute_path_state",
            "Rollback state per (path, task type): 1 for the current state",
            ["path", "task_type", "state"],
            samples,
        )

    return ScrapeTimeGauges(read)
