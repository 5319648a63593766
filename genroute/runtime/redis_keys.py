"""Every Redis key genroute writes (besides Celery's own), in one place."""

WORKER_READY_PREFIX = "genroute:worker:ready:"


def worker_ready_key(worker_name: str, pid: int) -> str:
    return f"{WORKER_READY_PREFIX}{worker_name}:{pid}"


PATH_STATE_PREFIX = "genroute:path_state:"


def path_state_key(path: str, task_type: str) -> str:
    return f"{PATH_STATE_PREFIX}{path}:{task_type}"


RATE_PREFIX = "genroute:rate:"


def rate_key(api_key_id: str) -> str:
    return f"{RATE_PREFIX}{api_key_id}"


# Held for one share-controller interval by the API process that takes that interval's step.
SHARE_ROUND_KEY = "genroute:share:round"

# Pub/sub: the id of every task that reached a terminal state, for waiting API requests.
FINISHED_CHANNEL = "genroute:finished"

OUTPUT_STREAM_PREFIX = "genroute:output:"


def output_stream_key(task_id: str) -> str:
    """A Redis stream of one task's output as its attempts make it (see output_streams)."""
    return f"{OUTPUT_STREAM_PREFIX}{task_id}"
